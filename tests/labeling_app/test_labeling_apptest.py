"""The app's page logic under Streamlit's AppTest: login, review, roles, text-only rendering."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from evals.store.workspace import Workspace
from labeling_app.queues.build import create_queue
from labeling_app.queues.models import ReviewQueue
from labeling_app.queues.records import RecordIndex
from labeling_app.testing import XSS_IMG, XSS_LINK, XSS_SCRIPT, write_trials

APP = Path(__file__).resolve().parents[2] / "labeling_app" / "app.py"
ROSTER = APP.parent / "demo_roster.yaml"


@pytest.fixture
def app_ws(tmp_path: Path, dataset: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "app-ws"
    ws = Workspace(root)
    write_trials(ws, dataset)
    ws.close(compact=False)
    monkeypatch.setenv("EVALS_WORKSPACE", str(root))
    monkeypatch.setenv("EVALS_ROSTER", str(ROSTER))
    yield root


def queue_in(root: Path, **options: object) -> ReviewQueue:
    ws = Workspace(root)
    q = create_queue(
        ws, source="sample", run_ids=["run-1"], name="apptest", created_by="lead", **options
    )  # type: ignore[arg-type]
    ws.close(compact=False)
    return q


def logged_in(user: str, password: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.text_input(key="login_user").input(user)
    at.text_input(key="login_password").input(password)
    at.button(key="FormSubmitter:login-Log in").click().run()
    return at


def reviewing(user: str, password: str) -> AppTest:
    """Logged in, and "Start reviewing" pressed (opening the page claims nothing)."""
    at = logged_in(user, password)
    at.button(key="btn_start").click().run()
    return at


def texts(at: AppTest) -> str:
    """Everything shown as text (code blocks, text, JSON)."""
    parts = [c.value for c in at.code] + [t.value for t in at.text]
    parts += [str(j.proto.body) for j in at.json]
    return "\n".join(parts)


def test_login_rejects_wrong_password_and_admits_the_roster(app_ws: Path) -> None:
    at = logged_in("alice", "not-her-password")
    assert "Unknown user or wrong password." in [e.value for e in at.error]
    assert "identity" not in at.session_state
    at = logged_in("alice", "alice-demo")
    assert not at.exception
    assert [t.value for t in at.title] == ["Review"]


def test_review_submit_writes_a_label_with_timing(app_ws: Path) -> None:
    q = queue_in(app_ws, overlap=1)
    at = reviewing("alice", "alice-demo")
    shown = next(c.value for c in at.caption if c.value.startswith("Item "))
    item_id = shown.split()[1]
    at.button(key="btn_submit").click().run()  # helpful not chosen yet: refused
    assert any("helpful" in e.value for e in at.error)
    at.button(key="btn_no").click().run()
    at.button(key="btn_partly").click().run()
    comment_key = next(t.key for t in at.text_area if t.key.startswith("comment__"))
    at.text_area(key=comment_key).input("missing the share").run()
    at.button(key="btn_submit").click().run()
    assert not at.exception
    labels = RecordIndex(Workspace(app_ws)).labels(q.queue_id)
    assert len(labels) == 1
    lb = labels[0]
    assert (lb.item_id, lb.reviewer, lb.helpful, lb.correctness, lb.comment) == (
        item_id,
        "alice",
        False,
        "partly",
        "missing the share",
    )
    assert lb.active_seconds is not None and lb.shown_at is not None
    events = RecordIndex(Workspace(app_ws)).events(q.queue_id, item_id, "alice")
    assert [e.kind for e in events][:2] == ["claim", "shown"] and events[-1].kind == "submit"
    # The page moved on to another item.
    nxt = next(c.value for c in at.caption if c.value.startswith("Item "))
    assert nxt.split()[1] != item_id


def test_reload_resumes_the_claimed_item_and_undo_reopens(app_ws: Path) -> None:
    queue_in(app_ws, overlap=1)
    at = logged_in("bob", "bob-demo")
    assert not [c for c in at.caption if c.value.startswith("Item ")]  # nothing claimed yet
    at.button(key="btn_start").click().run()
    first = next(c.value for c in at.caption if c.value.startswith("Item "))
    again = logged_in("bob", "bob-demo")  # a new session: as after a reload or restart
    assert next(c.value for c in again.caption if c.value.startswith("Item ")) == first
    again.button(key="btn_yes").click().run()
    again.button(key="btn_submit").click().run()
    assert next(c.value for c in again.caption if c.value.startswith("Item ")) != first
    again.button(key="btn_undo").click().run()
    assert next(c.value for c in again.caption if c.value.startswith("Item ")) == first


def test_reviewers_get_no_lead_pages(app_ws: Path) -> None:
    queue_in(app_ws)
    at = logged_in("alice", "alice-demo")
    for page in ("queues", "dashboard", "audit"):
        # Not in a reviewer's navigation at all ...
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"views/{page}.py")
        # ... and the page itself refuses a reviewer who reaches it anyway.
        direct = AppTest.from_file(str(APP.parent / "views" / f"{page}.py"), default_timeout=60)
        direct.session_state["identity"] = at.session_state["identity"]
        direct.run()
        assert [e.value for e in direct.error] == ["This page is for leads and admins."]
        assert not direct.dataframe and not direct.title


def test_lead_pages_render_and_a_lead_builds_a_queue(app_ws: Path) -> None:
    at = logged_in("lead", "lead-demo")
    at.switch_page("views/queues.py").run()
    assert [t.value for t in at.title] == ["Queues"]
    at.radio(key="cq_source").set_value("sample")
    at.number_input(key="cq_control").set_value(0.25)
    at.button(key="FormSubmitter:create_queue-Build queue").click().run()
    assert not at.exception
    assert any("Built queue" in s.value for s in at.success)
    queues = RecordIndex(Workspace(app_ws)).queues()
    assert len(queues) == 1
    q = next(iter(queues.values()))
    assert q.created_by == "lead" and q.overlap == 2
    assert sum(it.arm == "unassisted" for it in q.items) == 4
    for page, title in (("views/dashboard.py", "Dashboard"), ("views/audit.py", "Audit")):
        at.switch_page(page).run()
        assert not at.exception
        assert [t.value for t in at.title] == [title]


def test_untrusted_text_is_rendered_as_text(
    tmp_path: Path, dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "hostile"
    ws = Workspace(root)
    write_trials(ws, dataset, hostile=True)
    ws.close(compact=False)
    monkeypatch.setenv("EVALS_WORKSPACE", str(root))
    monkeypatch.setenv("EVALS_ROSTER", str(ROSTER))
    queue_in(root, overlap=1, shuffle=False, show_verdicts=True, blind=False)
    at = reviewing("alice", "alice-demo")
    shown = texts(at)
    for payload in (XSS_SCRIPT, XSS_IMG, XSS_LINK):
        assert payload in shown
    markdown = "\n".join(m.value for m in at.markdown)
    for fragment in ("<script", "<img", "javascript:"):
        assert fragment not in markdown
    for element in at.main:  # nothing was allowed to render HTML
        assert not getattr(element.proto, "allow_html", False)


def test_oidc_user_gets_the_role_the_roster_gives(
    app_ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labeling_app.auth.roster import add_user

    roster = tmp_path / "sso-roster.yaml"
    add_user(roster, "sso@example.com", "lead", None, name="Sam")
    monkeypatch.setenv("EVALS_ROSTER", str(roster))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "id",
        "client_secret": "secret",
        "server_metadata_url": "https://idp.example.com/.well-known",
    }
    at.user = {"is_logged_in": True, "email": "sso@example.com", "name": "Sam"}
    at.run()
    assert not at.exception
    ident = at.session_state["identity"]
    assert (ident.id, ident.role, ident.method) == ("sso@example.com", "lead", "oidc")
    at.switch_page("views/queues.py").run()
    assert [t.value for t in at.title] == ["Queues"]
    stranger = AppTest.from_file(str(APP), default_timeout=60)
    stranger.secrets["auth"] = at.secrets["auth"]
    stranger.user = {"is_logged_in": True, "email": "who@example.com"}
    stranger.run()
    assert "identity" not in stranger.session_state
    assert any("not on this app's roster" in e.value for e in stranger.error)


@pytest.mark.parametrize("blind", [True, False])
def test_blinding_hides_model_and_prompt(app_ws: Path, blind: bool) -> None:
    queue_in(app_ws, overlap=1, blind=blind)
    at = reviewing("alice", "alice-demo")
    labels = " ".join(e.label for e in at.expander) + " ".join(m.value for m in at.markdown)
    shown = texts(at)
    revealing = (
        "demo-model" in labels,
        "model-a" in labels or "model-b" in labels,
        "research assistant (v1)" in shown,
    )
    assert revealing == ((False, False, False) if blind else (True, True, True))


def test_audit_shows_trace_verdicts_and_labels(app_ws: Path) -> None:
    q = queue_in(app_ws, overlap=1)
    reviewer = reviewing("alice", "alice-demo")
    reviewer.button(key="btn_yes").click().run()
    reviewer.button(key="btn_submit").click().run()
    label = RecordIndex(Workspace(app_ws)).labels(q.queue_id)[0]
    at = logged_in("lead", "lead-demo")
    at.switch_page("views/audit.py").run()
    at.selectbox(key="audit_pick").set_value(label.trial_key).run()
    assert not at.exception
    verdict_labels = [e.label for e in at.expander if e.label.startswith("cascade")]
    assert len(verdict_labels) == 1
    table = at.dataframe[0].value
    assert list(table["reviewer"]) == ["alice"] and list(table["helpful"]) == [True]
    assert any(e.label.startswith("raw timing events") for e in at.expander)
    assert any("tool call" in e.label for e in at.expander)


def test_skip_and_flag_from_the_page(app_ws: Path) -> None:
    q = queue_in(app_ws, overlap=1)
    at = reviewing("alice", "alice-demo")
    at.button(key="btn_flag").click().run()
    assert any("needs a reason" in e.value for e in at.error)
    reason_key = next(t.key for t in at.text_input if t.key.startswith("reason__"))
    at.text_input(key=reason_key).input("the trace is cut off").run()
    at.button(key="btn_flag").click().run()
    at.button(key="btn_skip").click().run()
    labels = RecordIndex(Workspace(app_ws)).labels(q.queue_id)
    assert [(lb.action, lb.comment) for lb in labels] == [
        ("flag", "the trace is cut off"),
        ("skip", None),
    ]
