"""Whole reviews in the app under Streamlit's AppTest: a reviewer completes a whole
review, a control review shows no agent answer, the dashboard shows the numbers."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from evals.store.query import query
from evals.store.workspace import Workspace
from labeling_app.metrics.dashboard import counted_ids
from labeling_app.metrics.reviews import review_frames, summary_tables
from labeling_app.queues.service import QueueService
from labeling_app.review_testing import at, write_review_run
from labeling_app.review_testing import make_review_queue as make
from labeling_app.review_testing import work_review as work


@pytest.fixture(scope="module")
def review_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A review run of 3 reviews x 5 nodes (free mode), written once."""
    return write_review_run(tmp_path_factory.mktemp("rev"))


@pytest.fixture
def ws(review_run: tuple[Path, str], tmp_path: Path) -> Workspace:
    shutil.copytree(review_run[0], tmp_path / "ws")
    return Workspace(tmp_path / "ws")


APP = Path(__file__).resolve().parents[2] / "labeling_app" / "app.py"


def test_a_reviewer_completes_a_whole_review_in_the_app(
    ws: Workspace, review_run: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    q = make(ws, review_run[1], overlap=1)
    ws.close(compact=False)
    monkeypatch.setenv("EVALS_WORKSPACE", str(ws.root))
    monkeypatch.setenv("EVALS_ROSTER", str(APP.parent / "demo_roster.yaml"))
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.text_input(key="login_user").input("alice")
    app.text_input(key="login_password").input("alice-demo")
    app.button(key="FormSubmitter:login-Log in").click().run()
    app.switch_page("views/whole_review.py").run()
    assert [t.value for t in app.title] == ["Whole review"]
    svc = QueueService(Workspace(ws.root))
    assert svc.holding(q.queue_id, "alice") is None  # opening the page claims nothing
    app.button(key="wr_start").click().run()
    item = svc.holding(q.queue_id, "alice")
    assert item is not None and item.nodes is not None
    answers = []
    for i, node in enumerate(item.nodes):
        shown = "\n".join(c.value for c in app.code)
        trial_answer = query(ws, "SELECT final_answer FROM trials WHERE key = ?", [node.trial_key])
        assert trial_answer[0]["final_answer"] in shown  # the node's own agent answer
        if i == 0:  # helpful is required
            app.button(key="wr_submit").click().run()
            assert any("helpful" in e.value for e in app.error)
        app.button(key="wr_helpful_False" if i == 2 else "wr_helpful_True").click().run()
        app.button(key="wr_correct").click().run()
        comment = next(str(t.key) for t in app.text_area if str(t.key).startswith("wr_comment__"))
        app.text_area(key=comment).input(f"note {i}").run()
        app.button(key="wr_submit").click().run()
        assert not app.exception
        answers.append(f"note {i}")
    labels = svc.index.labels(q.queue_id)
    node_labels = {lb.item_id: lb for lb in labels if "/" in lb.item_id}
    assert sorted(node_labels) == sorted(f"{item.item_id}/{n.question_id}" for n in item.nodes)
    assert [node_labels[f"{item.item_id}/{n.question_id}"].comment for n in item.nodes] == answers
    assert [node_labels[f"{item.item_id}/{n.question_id}"].helpful for n in item.nodes] == [
        True, True, False, True, True
    ]  # fmt: skip
    review = [lb for lb in labels if lb.item_id == item.item_id]
    assert len(review) == 1 and review[0].helpful is False and review[0].active_seconds is not None
    events = svc.index.events(q.queue_id)
    mine = [e for e in events if e.item_id == item.item_id]
    assert [e.kind for e in mine][:2] == ["claim", "shown"] and mine[-1].kind == "submit"
    assert [e.data.get("node") for e in mine if e.kind == "shown"] == [
        n.question_id for n in item.nodes
    ]
    assert svc.holding(q.queue_id, "alice") is None
    assert app.button(key="wr_start")  # back to the start: the next review is not claimed


def test_the_dashboard_shows_per_review_and_per_node_numbers(
    ws: Workspace, review_run: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    q = make(ws, review_run[1], control_share=0.4, overlap=2)
    svc = QueueService(ws)
    t = 0.0
    speed = {("r1", "assisted"): 10.0, ("r1", "unassisted"): 25.0,
             ("r2", "assisted"): 14.0, ("r2", "unassisted"): 30.0}  # fmt: skip
    for who in ("r1", "r1", "r1", "r2", "r2", "r2"):  # the 3rd review of each is a control
        item = svc.claim_next(q.queue_id, who, now=at(t))
        assert item is not None
        secs = speed[(who, item.arm)]
        t = work(svc, q, item, who, t, [secs] * 5, [True, True, t > 0, True, True]) + 5
    reviews, nodes = review_frames({q.queue_id: q}, svc.index.labels(q.queue_id),
                                   svc.index.events(q.queue_id),
                                   counted=counted_ids(ws, [q.queue_id]))  # fmt: skip
    expected = summary_tables(reviews, nodes)
    ws.close(compact=False)
    monkeypatch.setenv("EVALS_WORKSPACE", str(ws.root))
    monkeypatch.setenv("EVALS_ROSTER", str(APP.parent / "demo_roster.yaml"))
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.text_input(key="login_user").input("lead")
    app.text_input(key="login_password").input("lead-demo")
    app.button(key="FormSubmitter:login-Log in").click().run()
    app.switch_page("views/dashboard.py").run()
    assert not app.exception
    assert "Whole reviews" in [s.value for s in app.subheader]
    shown = {m.label: m.value for m in app.metric}
    rate = expected["review_helpfulness"].iloc[0]["rate"]
    assert shown["Helpful reviews (every node helpful)"] == f"{100 * rate:.1f}%"
    reduction = expected["review_time"].iloc[0]["reduction"]
    assert not math.isnan(reduction)  # both arms were worked
    assert shown["Handling time per review: reduction"] == f"{100 * reduction:.1f}%"


def test_a_control_review_in_the_app_shows_no_agent_answer(
    ws: Workspace, review_run: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    q = make(ws, review_run[1], sample_size=1, control_share=0.5, overlap=1)
    svc = QueueService(ws)
    taken = svc.claim_next(q.queue_id, "bob", now=at(0))
    assert taken is not None and taken.arm == "assisted"  # bob holds the agent's version
    ws.close(compact=False)
    monkeypatch.setenv("EVALS_WORKSPACE", str(ws.root))
    monkeypatch.setenv("EVALS_ROSTER", str(APP.parent / "demo_roster.yaml"))
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.text_input(key="login_user").input("alice")
    app.text_input(key="login_password").input("alice-demo")
    app.button(key="FormSubmitter:login-Log in").click().run()
    app.switch_page("views/whole_review.py").run()
    app.button(key="wr_start").click().run()
    item = QueueService(Workspace(ws.root)).holding(q.queue_id, "alice")
    assert item is not None and item.arm == "unassisted" and item.nodes
    for i in range(len(item.nodes)):
        assert any("Control review" in x.value for x in app.info)
        assert not [m for m in app.markdown if "Agent's answer" in m.value]
        assert "wr_helpful_True" not in [b.key for b in app.button]
        answer = next(str(t.key) for t in app.text_area if str(t.key).startswith("wr_answer__"))
        if i == 0:
            app.button(key="wr_submit").click().run()  # an answer is required
            assert any("write your answer" in e.value for e in app.error)
        app.text_area(key=answer).input(f"my answer {i}").run()
        app.button(key="wr_submit").click().run()
        assert not app.exception
    index = QueueService(Workspace(ws.root)).index
    got = [lb for lb in index.labels(q.queue_id) if lb.reviewer == "alice"]
    nodes = sorted((lb for lb in got if "/" in lb.item_id), key=lambda lb: lb.submitted_at)
    assert [lb.corrected_answer for lb in nodes] == [f"my answer {i}" for i in range(5)]
    assert all(lb.arm == "unassisted" and lb.helpful is None for lb in nodes)
    (review,) = [lb for lb in got if lb.item_id == item.item_id]
    assert review.arm == "unassisted" and review.corrected_answer is not None
    assert review.corrected_answer.splitlines()[0] == f"{item.nodes[0].question_id}: my answer 0"


def test_a_lead_builds_a_whole_review_queue_on_the_queues_page(
    ws: Workspace, review_run: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from labeling_app.queues.records import RecordIndex

    ws.close(compact=False)
    monkeypatch.setenv("EVALS_WORKSPACE", str(ws.root))
    monkeypatch.setenv("EVALS_ROSTER", str(APP.parent / "demo_roster.yaml"))
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.text_input(key="login_user").input("lead")
    app.text_input(key="login_password").input("lead-demo")
    app.button(key="FormSubmitter:login-Log in").click().run()
    app.switch_page("views/queues.py").run()
    app.radio(key="cq_source").set_value("sample")
    app.multiselect(key="cq_runs").set_value([review_run[1]])
    app.checkbox(key="cq_reviews").check()
    app.number_input(key="cq_control").set_value(0.0)
    app.button(key="FormSubmitter:create_queue-Build queue").click().run()
    assert not app.exception
    assert any("3 reviews" in s.value for s in app.success), [s.value for s in app.success]
    [queue] = RecordIndex(Workspace(ws.root)).queues().values()
    assert len(queue.items) == 3 and all(it.nodes and len(it.nodes) == 5 for it in queue.items)
