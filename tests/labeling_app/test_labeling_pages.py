"""The new pages under Streamlit's AppTest: drafts across sessions, lead tools, the
trace timeline (unknown step kinds, folding), nothing claimed by visiting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from evals.store.workspace import Workspace
from labeling_app.queues.build import create_queue
from labeling_app.queues.drafts import load_draft
from labeling_app.queues.records import RecordIndex
from labeling_app.queues.service import Decision, QueueService
from labeling_app.testing import write_trials

APP = Path(__file__).resolve().parents[2] / "labeling_app" / "app.py"
ROSTER = APP.parent / "demo_roster.yaml"


@pytest.fixture
def app_ws(tmp_path: Path, dataset: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "app-ws"
    ws = Workspace(root)
    write_trials(ws, dataset)
    write_trials(ws, dataset, run_id="run-2", models=("model-c",))
    ws.close(compact=False)
    monkeypatch.setenv("EVALS_WORKSPACE", str(root))
    monkeypatch.setenv("EVALS_ROSTER", str(ROSTER))
    yield root


def make_queue(root: Path, overlap: int = 1) -> str:
    ws = Workspace(root)
    q = create_queue(
        ws, source="sample", run_ids=["run-1"], name="pages", created_by="lead", overlap=overlap
    )
    ws.close(compact=False)
    return q.queue_id


def logged_in(user: str, password: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.text_input(key="login_user").input(user)
    at.text_input(key="login_password").input(password)
    at.button(key="FormSubmitter:login-Log in").click().run()
    return at


def item_of(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Item ")).split()[1]


def test_visiting_claims_nothing_and_the_draft_survives_a_new_session(app_ws: Path) -> None:
    qid = make_queue(app_ws)
    lead = logged_in("lead", "lead-demo")  # a lead looking at the Review page
    assert not lead.exception and lead.button(key="btn_start")
    assert RecordIndex(Workspace(app_ws)).claims(qid) == []
    at = logged_in("alice", "alice-demo")
    at.button(key="btn_start").click().run()
    item = item_of(at)
    at.button(key="btn_no").click().run()
    at.text_area(key=f"comment__{item}").input("half-way through").run()
    assert load_draft(app_ws, "alice", item) == {"helpful": False, "comment": "half-way through"}
    again = logged_in("alice", "alice-demo")  # a reload: a new session, same person
    assert item_of(again) == item
    assert again.text_area(key=f"comment__{item}").value == "half-way through"
    assert again.session_state[f"helpful__{item}"] is False
    again.button(key="btn_submit").click().run()
    assert load_draft(app_ws, "alice", item) == {}  # discarded on submit
    [label] = RecordIndex(Workspace(app_ws)).labels(qid)
    assert (label.helpful, label.comment) == (False, "half-way through")


def test_login_page_throttles_across_sessions_alike_for_unknown_users(
    app_ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import labeling_app.auth.throttle as throttle

    monkeypatch.setattr(throttle, "REFUSAL_S", 0.01)  # the same floor for all, just shorter
    seen: dict[str, list[str]] = {}
    for user in ("alice", "zed-not-on-the-roster"):
        seen[user] = []
        for _ in range(throttle.USER_LIMIT):  # each guess from a new browser session
            at = logged_in(user, "guess")
            seen[user] += [e.value for e in at.error]
    assert seen["alice"] == seen["zed-not-on-the-roster"]
    assert seen["alice"][0] == throttle.FAILED and "try again" in seen["alice"][-1]
    at = logged_in("alice", "alice-demo")  # the right password, while locked
    assert "identity" not in at.session_state
    assert any("try again" in e.value for e in at.error)
    assert "identity" in logged_in("bob", "bob-demo").session_state  # others can log in


def test_lead_adjudicates_a_disagreement_on_the_page(app_ws: Path) -> None:
    qid = make_queue(app_ws, overlap=2)
    svc = QueueService(Workspace(app_ws))
    item = svc.claim_next(qid, "alice")
    assert item is not None and svc.claim_next(qid, "bob") == item
    svc.decide(qid, item.item_id, "alice", Decision(helpful=True, correctness="correct"))
    svc.decide(qid, item.item_id, "bob", Decision(helpful=False, correctness="wrong"))
    svc.ws.close(compact=False)
    at = logged_in("lead", "lead-demo")
    at.switch_page("views/adjudicate.py").run()
    assert not at.exception and [t.value for t in at.title] == ["Disagreements"]
    form = f"adj_{qid}_{item.item_id}"
    at.radio(key=f"{form}_h").set_value("not helpful")
    at.radio(key=f"{form}_c").set_value("wrong")
    at.text_input(key=f"{form}_r").input("the owner is missing")
    at.button(key=f"FormSubmitter:{form}-Adjudicate").click().run()
    assert not at.exception
    [adj] = RecordIndex(Workspace(app_ws)).records("adjudication")
    assert (adj.by, adj.helpful, adj.correctness, adj.reason) == (
        "lead",
        False,
        "wrong",
        "the owner is missing",
    )
    assert any("No open disagreement" in i.value for i in at.info)


def test_reviewer_edits_a_past_label_on_the_history_page(app_ws: Path) -> None:
    qid = make_queue(app_ws)
    svc = QueueService(Workspace(app_ws))
    item = svc.claim_next(qid, "alice")
    assert item is not None
    old = svc.decide(qid, item.item_id, "alice", Decision(helpful=True, correctness="correct"))
    svc.ws.close(compact=False)
    at = logged_in("alice", "alice-demo")
    at.switch_page("views/history.py").run()
    assert not at.exception and [t.value for t in at.title] == ["My labels"]
    form = f"edit_{old.id}"
    at.radio(key=f"{form}_h").set_value("not helpful")
    at.button(key=f"FormSubmitter:{form}-Save edit").click().run()
    assert any("reason" in e.value for e in at.error)  # no reason: refused
    at.radio(key=f"{form}_h").set_value("not helpful")
    at.text_input(key=f"{form}_r").input("misclicked")
    at.button(key=f"FormSubmitter:{form}-Save edit").click().run()
    assert not at.exception
    [edit] = RecordIndex(Workspace(app_ws)).records("label_edit")
    assert (edit.by, edit.old_label, edit.changes["helpful"]) == ("alice", old.id, [True, False])


def test_trials_page_filters_and_compares(app_ws: Path) -> None:
    at = logged_in("lead", "lead-demo")
    at.switch_page("views/trials.py").run()
    assert not at.exception and [t.value for t in at.title] == ["Trials"]
    assert len(at.dataframe[0].value) == 18
    at.multiselect(key="flt_run_id").set_value(["run-2"]).run()
    assert len(at.dataframe[0].value) == 6
    at.multiselect(key="flt_cascade_verdict").set_value(["fail"]).run()
    assert len(at.dataframe[0].value) == 0  # run-2's only model gives the good answers
    at.multiselect(key="flt_cascade_verdict").set_value([]).run()
    at.selectbox(key="trials_open").select_index(0).run()  # open one trial
    assert not at.exception
    assert any(s.value == "Trial" for s in at.subheader)
    assert any(c.value.startswith("run-2 · ") for c in at.caption)
    at.selectbox(key="cmp_run_a").set_value("run-1")
    at.selectbox(key="cmp_run_b").set_value("run-2").run()
    at.selectbox(key="cmp_case").set_value("ubo-1").run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "run-1 · ubo-1" in captions and "run-2 · ubo-1" in captions


def _trace_page() -> None:
    from labeling_app.components.trace_view import render_trace

    long_obs = {"rows": [{"n": i, "text": "x" * 40} for i in range(200)]}
    render_trace(
        {
            "steps": [
                {
                    "kind": "model_call",
                    "model": "m",
                    "latency_s": 1.25,
                    "output": "plan",
                    "usage": {"input_tokens": 100, "output_tokens": 20, "cost_usd": 0.002},
                },
                {
                    "kind": "blueprint_node",
                    "node": "registry_lookup",
                    "latency_s": 0.5,
                    "inputs": {"name": "Acme"},
                    "output": "<b>not html</b>",
                },
                {
                    "kind": "tool_call",
                    "tool": "get_ownership",
                    "arguments": {"name": "Acme"},
                    "observation": long_obs,
                    "latency_s": 0.1,
                },
            ],
            "final_answer": "done",
            "usage": {"input_tokens": 100, "output_tokens": 20, "cost_usd": 0.002},
            "latency_s": 2.0,
        },
        blind=False,
    )


def test_trace_timeline_shows_unknown_kinds_numbers_and_folds() -> None:
    at = AppTest.from_function(_trace_page, default_timeout=30).run()
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert labels[0] == "1. model call: m · 1.25 s · 120 tok · $0.0020"
    assert labels[1] == "2. blueprint node: registry_lookup · 0.50 s"
    assert labels[2].startswith("3. tool call: get_ownership")
    table = at.dataframe[0].value
    assert list(table["step"]) == ["model call", "blueprint node", "tool call"]
    codes = [c.value for c in at.code]
    assert "<b>not html</b>" in codes  # a node's fields, as text
    folded = [c for c in codes if '"rows"' in c]
    assert folded and folded[0].endswith("…") and len(folded[0]) < 2000
    at.toggle(key="trace_s3_obs").set_value(True).run()
    assert any(c.value.count('"n"') == 200 for c in at.code)  # "show all"


def _long_trace_page() -> None:
    from labeling_app.components.trace_view import render_trace

    steps = [{"kind": "thought", "text": f"thought {i}"} for i in range(60)]
    render_trace({"steps": steps, "final_answer": "x"}, blind=False, scope="long")


def test_a_long_trace_is_paged() -> None:
    at = AppTest.from_function(_long_trace_page, default_timeout=30).run()
    steps = [e.label for e in at.expander if not e.label.startswith("conversation")]
    assert steps[0] == "1. thought" and len(steps) == 25
    assert len(at.dataframe[0].value) == 60  # the overview lists every step
    at.selectbox(key="long_page").set_value((50, 60)).run()
    steps = [e.label for e in at.expander if not e.label.startswith("conversation")]
    assert steps[0] == "51. thought" and len(steps) == 10
