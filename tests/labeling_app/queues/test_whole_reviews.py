"""Whole reviews: a review queue built from a review run (edd_template on edd_demo, no
model), control reviews, node decisions, handling time per node and per review, and
helpfulness per node and per review against hand-computed values."""

from __future__ import annotations

import math
import shutil
import statistics
from pathlib import Path

import pytest

from evals.stats import geometric_mean_ratio
from evals.store.query import query
from evals.store.workspace import Workspace
from labeling_app.metrics.dashboard import counted_ids
from labeling_app.metrics.reviews import review_frames, summary_tables
from labeling_app.metrics.timing import active_seconds
from labeling_app.queues.review_work import current_node, decide_node
from labeling_app.queues.service import Decision, QueueError
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


def test_a_review_queue_groups_a_review_runs_trials_in_dag_order(
    ws: Workspace, review_run: tuple[Path, str]
) -> None:
    q = make(ws, review_run[1], control_share=0.25, overlap=2)
    dag = ["q_registration", "q_ubo", "q_screening", "q_jurisdiction_risk", "q_transparency"]
    assisted = [it for it in q.items if it.arm == "assisted"]
    control = [it for it in q.items if it.arm == "unassisted"]
    assert len(assisted) == 3 and len(control) == 1  # round(3 * .25 / .75): one review
    rows = query(ws, "SELECT key, case_id, question_id FROM trials")
    by_case = {r["case_id"]: r for r in rows}
    for it in assisted:
        assert [n.question_id for n in it.nodes or []] == dag
        assert it.case_id == f"review:{it.review_id}" and it.trial_key is None
        for n in it.nodes or []:
            assert by_case[n.case_id]["key"] == n.trial_key
            assert n.case_id.startswith(str(it.review_id))
    assert all(n.trial_key is None for n in control[0].nodes or [])
    assert control[0].review_id in {it.review_id for it in assisted}
    assert q.item(f"{assisted[0].item_id}/q_ubo").trial_key == assisted[0].nodes[1].trial_key  # type: ignore[index]
    assert len(q.cases) == 15 and list(q.questions) == dag


def test_node_and_review_handling_time_and_helpfulness_by_hand(
    make_service, ws: Workspace, review_run: tuple[Path, str]
) -> None:
    q = make(ws, review_run[1], shuffle=False)
    svc = make_service(ws)
    item = svc.claim_next(q.queue_id, "alice", now=at(0))
    assert item is not None and item.nodes is not None and item.arm == "assisted"
    qs = [n.question_id for n in item.nodes]

    def ev(kind: str, t: float, **data: object) -> None:
        svc.record_event(q.queue_id, item.item_id, "alice", kind, at=at(t), data=data)  # type: ignore[arg-type]

    def decide(i: int, t: float, helpful: bool) -> None:
        decide_node(svc, q.queue_id, item, qs[i], "alice",
                    Decision(helpful=helpful, correctness="correct"), now=at(t))  # fmt: skip

    ev("shown", 0, node=qs[0])
    ev("heartbeat", 10, idle_s=1.0)
    decide(0, 25, True)  # node 1: 25 s
    decide(0, 26, False)  # a double click: the first decision stands, nothing written
    ev("heartbeat", 35, idle_s=1.0)
    decide(1, 45, True)  # node 2: 20 s
    ev("heartbeat", 55, idle_s=1.0)
    ev("heartbeat", 175, idle_s=1.0)  # a 120 s gap: over the 60 s threshold, idle
    with pytest.raises(QueueError, match="current node is"):
        decide(3, 180, True)
    decide(2, 185, False)  # node 3: 10 + 10 s, rated not helpful
    ev("hidden", 190)
    ev("visible", 230)  # hidden 40 s: not active
    decide(3, 240, True)  # node 4: 5 + 10 s
    ev("heartbeat", 250, idle_s=100.0)  # visible but untouched: no activity
    assert current_node(svc, q.queue_id, item, "alice") == qs[4]
    _, review_label = decide_node(
        svc, q.queue_id, item, qs[4], "alice", Decision(helpful=True, correctness="partly"),
        now=at(270),
    )  # node 5: 30 s  # fmt: skip
    assert review_label is not None and review_label.item_id == item.item_id
    assert review_label.active_seconds == 110.0  # 25 + 20 + 20 + 15 + 30
    assert review_label.helpful is False and review_label.correctness == "partly"
    labels = [lb for lb in svc.index.labels(q.queue_id)]
    nodes = {lb.item_id.rsplit("/", 1)[1]: lb for lb in labels if "/" in lb.item_id}
    assert len([lb for lb in labels if "/" in lb.item_id]) == 5  # the double click: none
    assert [nodes[x].active_seconds for x in qs] == [25.0, 20.0, 20.0, 15.0, 30.0]
    assert nodes[qs[1]].trial_key == item.nodes[1].trial_key
    events = svc.index.events(q.queue_id)
    assert active_seconds([e for e in events if e.item_id == item.item_id]) == 110.0
    assert {e.item_id for e in events if e.kind == "submit"} == {
        *(f"{item.item_id}/{x}" for x in qs),
        item.item_id,
    }
    # The review is closed for alice: her progress counts one review, not six labels.
    assert svc.progress(q.queue_id, "alice")[0] == 1
    assert svc.holding(q.queue_id, "alice") is None
    # Bob: another review, every node helpful.
    other = svc.claim_next(q.queue_id, "bob", now=at(300))
    assert other is not None and other.item_id != item.item_id
    work(svc, q, other, "bob", 300, [10, 10, 10, 10, 10])
    reviews, node_rows = review_frames(
        {q.queue_id: q}, svc.index.labels(q.queue_id), svc.index.events(q.queue_id),
        counted=counted_ids(ws, [q.queue_id]),
    )  # fmt: skip
    assert sorted(reviews["active_s"]) == [50.0, 110.0]
    assert list(node_rows[node_rows["reviewer"] == "alice"]["active_s"]) == [25, 20, 20, 15, 30]
    tables = summary_tables(reviews, node_rows)
    rh = tables["review_helpfulness"].iloc[0]
    # One of two reviews helpful; Wilson 95% for 1/2 is 0.0945 - 0.9055.
    assert (rh["n"], rh["helpful"]) == (2, 1)
    assert math.isclose(rh["low"], 0.094531, abs_tol=1e-5)
    assert math.isclose(rh["high"], 0.905469, abs_tol=1e-5)
    nh = tables["node_helpfulness"].set_index("question_id")
    assert nh.loc[qs[2], "helpful"] == 1 and nh.loc[qs[2], "n"] == 2
    assert nh.loc[qs[0], "helpful"] == 2 and nh.loc[qs[0], "rate"] == 1.0


def test_control_reviews_are_worked_whole_and_reduce_time_per_review(
    make_service, ws: Workspace, review_run: tuple[Path, str]
) -> None:
    q = make(ws, review_run[1], control_share=0.4, overlap=3)
    assert sum(it.arm == "unassisted" for it in q.items) == 2
    svc = make_service(ws)
    per_node = {"assisted": {"r1": 8.0, "r2": 12.0, "r3": 10.0, "r4": 14.0},
                "unassisted": {"r1": 20.0, "r2": 30.0, "r3": 25.0, "r4": 40.0}}  # fmt: skip
    spent: dict[str, list[tuple[str, float]]] = {"assisted": [], "unassisted": []}
    t = 0.0
    for _ in range(3):
        for who in ("r1", "r2", "r3", "r4"):
            item = svc.claim_next(q.queue_id, who, now=at(t))
            if item is None:
                continue
            secs = per_node[item.arm][who]
            t = work(svc, q, item, who, t, [secs] * 5) + 5
            spent[item.arm].append((who, 5 * secs))
    assert spent["assisted"] and spent["unassisted"]
    labels = svc.index.labels(q.queue_id)
    control_nodes = [lb for lb in labels if "/" in lb.item_id and lb.arm == "unassisted"]
    assert control_nodes and all(lb.helpful is None and lb.trial_key is None
                                 and lb.corrected_answer for lb in control_nodes)  # fmt: skip
    reviews, nodes = review_frames({q.queue_id: q}, labels, svc.index.events(q.queue_id),
                                   counted=counted_ids(ws, [q.queue_id]))  # fmt: skip
    row = summary_tables(reviews, nodes)["review_time"].iloc[0]
    ta = [s for _, s in spent["assisted"]]
    tu = [s for _, s in spent["unassisted"]]
    expected = statistics.geometric_mean(ta) / statistics.geometric_mean(tu)
    assert math.isclose(row["ratio"], expected, rel_tol=1e-9)
    assert math.isclose(row["reduction"], 1 - expected, rel_tol=1e-9)
    ref = geometric_mean_ratio(
        sorted(ta), [w for w, _ in sorted(spent["assisted"])],
        sorted(tu), [w for w, _ in sorted(spent["unassisted"])], seed=0,
    )  # fmt: skip
    assert row["reduction_low"] <= 1 - expected <= row["reduction_high"]
    assert math.isclose(row["reduction_low"], 1 - ref.high, rel_tol=1e-6) or math.isnan(ref.high)
    node_time = summary_tables(reviews, nodes)["node_time"]
    assert set(node_time["question_id"]) == {n.question_id for n in q.items[0].nodes or []}
    assert all(math.isclose(r, expected) for r in node_time["ratio"])  # same share per node


def test_simulated_reviewers_work_whole_reviews_like_people(
    make_service, ws: Workspace, review_run: tuple[Path, str]
) -> None:
    from labeling_app.queues.review_simulate import simulate_reviews

    q = make(ws, review_run[1], control_share=0.4, overlap=2)
    svc = make_service(ws)
    summary = simulate_reviews(svc, q.queue_id, reviewers=4, seed=2, end=at(10_000))
    assert summary.submitted == len(q.items) * 2 and summary.control == 4
    labels = svc.index.labels(q.queue_id)
    assert all(lb.reviewer.startswith("sim:") for lb in labels)
    reviews, nodes = review_frames({q.queue_id: q}, labels, svc.index.events(q.queue_id),
                                   counted=counted_ids(ws, [q.queue_id]))  # fmt: skip
    assert len(reviews) == summary.submitted and len(nodes) == 5 * summary.submitted
    assert int(reviews["helpful"].fillna(False).sum()) == summary.helpful
    per_review = nodes.groupby(["item_id", "reviewer"])["active_s"].sum()
    for r in reviews.to_dict("records"):
        assert math.isclose(per_review[(r["item_id"], r["reviewer"])], r["active_s"])
    by_id = {lb.id: lb for lb in labels}
    for r in reviews.to_dict("records"):  # the stored time is the recomputed one
        assert math.isclose(by_id[r["label_id"]].active_seconds or 0, r["active_s"], abs_tol=0.01)
    assert bool(reviews["simulated"].all())


def test_undo_reopens_the_review_and_its_nodes_start_over(
    make_service, ws: Workspace, review_run: tuple[Path, str]
) -> None:
    q = make(ws, review_run[1], shuffle=False)
    svc = make_service(ws)
    item = svc.claim_next(q.queue_id, "alice", now=at(0))
    assert item is not None and item.nodes
    end = work(svc, q, item, "alice", 0, [10] * 5, [True] * 5)
    assert svc.holding(q.queue_id, "alice") is None
    _, reopened = svc.undo_last(q.queue_id, "alice", now=at(end + 5))
    assert reopened == item and svc.holding(q.queue_id, "alice", now=at(end + 6)) == item
    assert current_node(svc, q.queue_id, item, "alice") == item.nodes[0].question_id
    work(svc, q, item, "alice", end + 10, [20] * 5, [True, False, True, True, True])
    reviews, nodes = review_frames({q.queue_id: q}, svc.index.labels(q.queue_id),
                                   svc.index.events(q.queue_id),
                                   counted=counted_ids(ws, [q.queue_id]))  # fmt: skip
    assert len(reviews) == 1 and reviews.iloc[0]["helpful"] == False  # noqa: E712 (the redo)
    assert list(nodes["helpful"]) == [True, False, True, True, True]
    # Time spent before the undo still belongs to the review (as for single items), and
    # so do the 5 s from the undo to the page showing the review again (node 1's).
    assert reviews.iloc[0]["active_s"] == 50 + 5 + 100
    assert list(nodes["active_s"]) == [10 + 20 + 5, 10 + 20, 10 + 20, 10 + 20, 10 + 20]


def test_live_queue_state_equals_a_rebuild_with_node_labels(
    make_service, ws: Workspace, review_run: tuple[Path, str]
) -> None:
    from labeling_app.queues.records import RecordIndex
    from labeling_app.queues.review_simulate import simulate_reviews
    from labeling_app.queues.state import compute_state

    q = make(ws, review_run[1], control_share=0.4, overlap=2)
    svc = make_service(ws)
    simulate_reviews(svc, q.queue_id, reviewers=4, seed=5, max_items=6, end=at(5_000))
    now = at(5_000)
    index = RecordIndex(Workspace(ws.root, create=False))
    qid = q.queue_id
    ref = compute_state(q, index.settings(qid), index.claims(qid), index.labels(qid), now)
    with svc.live(qid, now) as live:
        for r in [f"sim:reviewer-{i}" for i in range(1, 5)] + ["newcomer"]:
            options = ref.available(r)
            assert live.picker.best(r) == (options[0] if options else None), r
            assert live.progress(r) == ref.progress(r), r
            assert live.last_label(r) == ref.last_label(r), r
            last = ref.last_label(r)
            assert last is None or "/" not in last.item_id  # undo works on reviews
    assert sum(ref.progress(f"sim:reviewer-{i}")[0] for i in range(1, 5)) == 6  # reviews


def test_one_review_item_per_subject_and_prompt_and_controls_per_subject(
    make_service, tmp_path: Path,
) -> None:
    root, run_id = write_review_run(tmp_path, limit=2, prompts=2)
    ws = Workspace(root)
    q = make(ws, run_id, control_share=0.5, overlap=1)
    assisted = [it for it in q.items if it.arm == "assisted"]
    cells = sorted((str(it.review_id), str(it.prompt)) for it in assisted)
    assert cells == [(r, p) for r in sorted({c[0] for c in cells}) for p in ("v1", "v2")]
    keys = [n.trial_key for it in assisted for n in it.nodes or []]
    assert len(keys) == len(set(keys)) == 4 * 5  # each node trial in exactly one item
    control = [it for it in q.items if it.arm == "unassisted"]
    # round(4 * .5 / .5) = 4 wanted, but at most one control per subject: 2.
    assert sorted(str(it.review_id) for it in control) == sorted({c[0] for c in cells})
    assert all(it.prompt is None and it.model_alias is None for it in control)
    # Per prompt: v1's reviews take 10 s a node, v2's 14 s, the controls 20 s.
    svc = make_service(ws)
    t = 0.0
    for who in ("r1", "r2", "r3", "r4", "r1", "r2", "r3", "r4"):
        item = svc.claim_next(q.queue_id, who, now=at(t))
        if item is None:
            continue
        secs = {"v1": 10.0, "v2": 14.0, None: 20.0}[item.prompt]
        t = work(svc, q, item, who, t, [secs] * 5, [item.prompt == "v1"] * 5) + 5
    reviews, nodes = review_frames({q.queue_id: q}, svc.index.labels(q.queue_id),
                                   svc.index.events(q.queue_id),
                                   counted=counted_ids(ws, [q.queue_id]))  # fmt: skip
    assert set(reviews["arm"]) == {"assisted", "unassisted"}
    tables = summary_tables(reviews, nodes)
    helpful = tables["review_helpfulness"].set_index("scope")
    assert list(helpful.index) == ["all reviews", "none / v1", "none / v2"]
    assert helpful.loc["none / v1", "rate"] == 1.0 and helpful.loc["none / v2", "rate"] == 0.0
    ratio = dict(zip(tables["review_time"]["scope"], tables["review_time"]["ratio"], strict=True))
    assert math.isclose(ratio["none / v1"], 10 / 20)
    assert math.isclose(ratio["none / v2"], 14 / 20)
