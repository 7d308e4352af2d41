"""Review-queue rules: overlap, leases, fairness, determinism, undo, building."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest

from evals.store.workspace import Workspace
from labeling_app.queues.build import QueueBuildError, create_queue
from labeling_app.queues.service import Decision, QueueError, QueueService
from labeling_app.testing import write_trials

YES = Decision(helpful=True, correctness="correct")


def decide_for(item_arm: str) -> Decision:
    return YES if item_arm == "assisted" else Decision(corrected_answer="my own answer")


def work_until_empty(
    svc: QueueService, queue_id: str, reviewers: list[str], clock, start: float = 0.0
) -> dict[str, list[str]]:
    """Round-robin: each reviewer claims and submits one item per round until nobody
    gets anything. Returns reviewer -> item ids in order."""
    done: dict[str, list[str]] = defaultdict(list)
    t = start
    active = list(reviewers)
    while active:
        for r in list(active):
            t += 1
            item = svc.claim_next(queue_id, r, now=clock(t))
            if item is None:
                active.remove(r)
                continue
            svc.decide(queue_id, item.item_id, r, decide_for(item.arm), now=clock(t + 0.5))
            done[r].append(item.item_id)
    return done


def test_overlap_k_reviewers_per_item_and_never_twice(
    make_service, trial_ws: Workspace, queue_factory, clock
) -> None:
    q = queue_factory(overlap=2)
    svc = make_service(trial_ws)
    done = work_until_empty(svc, q.queue_id, ["ann", "ben", "cat"], clock)
    per_item = Counter(i for items in done.values() for i in items)
    assert set(per_item) == {it.item_id for it in q.items}
    assert set(per_item.values()) == {2}
    for items in done.values():
        assert len(items) == len(set(items))
    st = svc.state(q.queue_id, clock(10_000))
    assert st.labels_needed() == 0
    assert all(len(s.done) == 2 for s in st.items.values())


def test_claims_hold_slots_and_lease_expires_back_to_pool(
    make_service, trial_ws: Workspace, queue_factory, clock
) -> None:
    q = queue_factory(overlap=1, lease_s=600)
    svc = make_service(trial_ws)
    first = svc.claim_next(q.queue_id, "ann", now=clock(0))
    assert first is not None
    # While ann's lease runs, nobody else gets her item, and she keeps getting it back.
    others = {svc.claim_next(q.queue_id, f"r{i}", now=clock(10 + i)).item_id for i in range(5)}
    assert first.item_id not in others
    assert svc.claim_next(q.queue_id, "ann", now=clock(100)).item_id == first.item_id
    # ann abandons it: after the lease, it returns to the pool and goes to someone else.
    late = svc.claim_next(q.queue_id, "zed", now=clock(100 + 601))
    assert late is not None and late.item_id == first.item_id
    with pytest.raises(QueueError, match="ran out"):
        svc.decide(q.queue_id, first.item_id, "ann", YES, now=clock(800))
    nxt = svc.claim_next(q.queue_id, "ann", now=clock(801))
    assert nxt is not None and nxt.item_id != first.item_id


def test_activity_renews_the_lease(
    make_service, trial_ws: Workspace, queue_factory, clock
) -> None:
    q = queue_factory(overlap=1, lease_s=600)
    svc = make_service(trial_ws)
    item = svc.claim_next(q.queue_id, "ann", now=clock(0))
    assert svc.renew(q.queue_id, item.item_id, "ann", now=clock(400)) is True
    assert svc.claim_next(q.queue_id, "ben", now=clock(900)).item_id != item.item_id
    label = svc.decide(q.queue_id, item.item_id, "ann", YES, now=clock(950))
    assert label.reviewer == "ann" and label.helpful is True


def test_expired_claim_submits_when_the_slot_is_still_free(
    make_service, trial_ws: Workspace, queue_factory, clock
) -> None:
    q = queue_factory(overlap=1, lease_s=60)
    svc = make_service(trial_ws)
    item = svc.claim_next(q.queue_id, "ann", now=clock(0))
    label = svc.decide(q.queue_id, item.item_id, "ann", YES, now=clock(500))
    assert label.action == "submit"


def test_assignment_is_fair(make_service, trial_ws: Workspace, queue_factory, clock) -> None:
    q = queue_factory(overlap=2)
    svc = make_service(trial_ws)
    reviewers = ["ann", "ben", "cat", "dan", "eve"]
    done = work_until_empty(svc, q.queue_id, reviewers, clock)
    counts = [len(done[r]) for r in reviewers]
    assert sum(counts) == 2 * len(q.items)
    assert max(counts) - min(counts) <= 1


def test_assignment_balances_control_items_and_never_mixes_arms_of_a_case(
    make_service, trial_ws: Workspace, dataset: Path, clock
) -> None:
    write_trials(trial_ws, dataset, run_id="run-2", models=("model-c", "model-d"))
    q = create_queue(
        trial_ws,
        source="sample",
        run_ids=["run-1", "run-2"],
        name="fair",
        created_by="lead",
        overlap=1,
        control_share=0.2,
        seed=7,
        now=clock(0),
    )
    n_control = sum(it.arm == "unassisted" for it in q.items)
    assert n_control == round(24 * 0.2 / 0.8)
    svc = make_service(trial_ws)
    reviewers = ["ann", "ben", "cat", "dan"]
    done = work_until_empty(svc, q.queue_id, reviewers, clock)
    # Control items are kept for reviewers who have not seen their case: all get done.
    assert sum(len(v) for v in done.values()) == len(q.items)
    arm = {it.item_id: it for it in q.items}
    for r in reviewers:
        controls = sum(arm[i].arm == "unassisted" for i in done[r])
        assert abs(controls - 0.2 * len(done[r])) <= 1.5, (r, controls, len(done[r]))
        arms_per_case: dict[str, set[str]] = defaultdict(set)
        for i in done[r]:
            arms_per_case[arm[i].case_id].add(arm[i].arm)
        assert all(len(a) == 1 for a in arms_per_case.values()), "both arms of one case"


def test_assignment_is_deterministic(make_service, tmp_path: Path, dataset: Path, clock) -> None:
    runs = []
    for name in ("one", "two"):
        ws = Workspace(tmp_path / name)
        write_trials(ws, dataset)
        q = create_queue(
            ws,
            source="sample",
            run_ids=["run-1"],
            name="d",
            created_by="lead",
            overlap=2,
            control_share=0.2,
            seed=11,
            now=clock(0),
        )
        runs.append(
            (
                q.queue_id,
                work_until_empty(make_service(ws), q.queue_id, ["ann", "ben", "cat"], clock),
            )
        )
        ws.close(compact=False)
    assert runs[0] == runs[1]


def test_skip_and_flag_free_the_item_for_others_only(
    make_service, trial_ws: Workspace, queue_factory, clock
) -> None:
    q = queue_factory(overlap=1)
    svc = make_service(trial_ws)
    item = svc.claim_next(q.queue_id, "ann", now=clock(0))
    svc.decide(q.queue_id, item.item_id, "ann", Decision(action="skip"), now=clock(1))
    mine = svc.claim_next(q.queue_id, "ann", now=clock(2))
    assert mine.item_id != item.item_id
    assert svc.claim_next(q.queue_id, "ben", now=clock(3)).item_id == item.item_id
    with pytest.raises(QueueError, match="reason"):
        svc.decide(q.queue_id, mine.item_id, "ann", Decision(action="flag"), now=clock(4))
    flag = svc.decide(
        q.queue_id,
        mine.item_id,
        "ann",
        Decision(action="flag", comment="trace is empty"),
        now=clock(5),
    )
    assert flag.action == "flag" and flag.comment == "trace is empty"


def test_submit_needs_helpful_and_double_submit_is_idempotent(
    make_service, trial_ws: Workspace, queue_factory, clock
) -> None:
    q = queue_factory()
    svc = make_service(trial_ws)
    item = svc.claim_next(q.queue_id, "ann", now=clock(0))
    with pytest.raises(QueueError, match="helpful"):
        svc.decide(q.queue_id, item.item_id, "ann", Decision(), now=clock(1))
    first = svc.decide(q.queue_id, item.item_id, "ann", YES, now=clock(2))
    again = svc.decide(q.queue_id, item.item_id, "ann", Decision(helpful=False), now=clock(3))
    assert again.id == first.id
    labels = [lb for lb in svc.index.labels(q.queue_id) if lb.item_id == item.item_id]
    assert len(labels) == 1


def test_undo_retracts_and_reopens_the_item(
    make_service, trial_ws: Workspace, queue_factory, clock
) -> None:
    q = queue_factory(overlap=1)
    svc = make_service(trial_ws)
    item = svc.claim_next(q.queue_id, "ann", now=clock(0))
    label = svc.decide(q.queue_id, item.item_id, "ann", YES, now=clock(30))
    nxt = svc.claim_next(q.queue_id, "ann", now=clock(31))
    undo, reopened = svc.undo_last(q.queue_id, "ann", now=clock(40))
    assert undo.action == "undo" and undo.retracts == label.id
    assert reopened is not None and reopened.item_id == item.item_id
    st = svc.state(q.queue_id, clock(41))
    assert st.current_claim("ann").item_id == item.item_id
    assert "ann" not in st.items[nxt.item_id].claims  # the next item went back
    assert label.id in st.retracted and st.effective_labels("ann") == []
    with pytest.raises(QueueError, match="nothing to undo"):
        svc.undo_last(q.queue_id, "ann", now=clock(42))
    again = svc.decide(q.queue_id, item.item_id, "ann", Decision(helpful=False), now=clock(60))
    assert again.helpful is False
    assert [lb.id for lb in svc.state(q.queue_id, clock(61)).effective_labels()] == [again.id]
    # The active time counts both attempts but not the time spent on the next item.
    assert again.active_seconds == pytest.approx(30 + 20)


def test_closed_queue_hands_out_nothing_new(
    make_service, trial_ws: Workspace, queue_factory, clock
) -> None:
    q = queue_factory()
    svc = make_service(trial_ws)
    held = svc.claim_next(q.queue_id, "ann", now=clock(0))
    svc.change_settings(q.queue_id, "lead", closed=True, show_verdicts=True)
    st = svc.state(q.queue_id, clock(1))
    assert st.closed and st.show_verdicts
    assert svc.claim_next(q.queue_id, "ann", now=clock(1)).item_id == held.item_id
    assert svc.claim_next(q.queue_id, "ben", now=clock(2)) is None


def test_survivors_exclude_cascade_failures(trial_ws: Workspace, clock) -> None:
    q = create_queue(
        trial_ws,
        source="survivors",
        run_ids=["run-1"],
        name="s",
        created_by="lead",
        control_share=0.25,
        now=clock(0),
    )
    assisted = [it for it in q.items if it.arm == "assisted"]
    assert len(assisted) == 6 and {it.model_alias for it in assisted} == {"model-a"}
    assert sum(it.arm == "unassisted" for it in q.items) == 2
    assert {it.trial_key for it in q.items if it.arm == "unassisted"} == {None}
    assert set(q.cases) == {it.case_id for it in q.items}
    with pytest.raises(QueueBuildError, match="no judge-cascade verdicts"):
        create_queue(
            trial_ws,
            source="survivors",
            run_ids=["nope"],
            name="x",
            created_by="lead",
            dataset=q.dataset_path,
        )


def test_sample_size_and_dataset_needed(trial_ws: Workspace, dataset: Path, clock) -> None:
    with pytest.raises(QueueBuildError, match="--dataset"):
        create_queue(
            trial_ws, source="sample", run_ids=[], sample_size=5, name="s", created_by="lead"
        )
    small = create_queue(
        trial_ws,
        source="sample",
        run_ids=[],
        dataset=dataset,
        sample_size=5,
        name="s",
        created_by="lead",
        now=clock(0),
    )
    assert len(small.items) == 5
    assert len({it.trial_key for it in small.items}) == 5


@pytest.mark.parametrize(("overlap", "n_reviewers"), [(2, 4), (3, 5)])
def test_controls_get_fresh_reviewers_when_there_are_enough(
    make_service, trial_ws: Workspace, dataset: Path, clock, overlap: int, n_reviewers: int
) -> None:
    write_trials(trial_ws, dataset, run_id="run-2", models=("model-c", "model-d"))
    q = create_queue(
        trial_ws,
        source="sample",
        run_ids=["run-1", "run-2"],
        name="c",
        created_by="lead",
        overlap=overlap,
        control_share=0.2,
        seed=1,
        now=clock(0),
    )
    svc = make_service(trial_ws)
    work_until_empty(svc, q.queue_id, [f"r{i}" for i in range(n_reviewers)], clock)
    st = svc.state(q.queue_id, clock(100_000))
    assisted = [s for s in st.items.values() if s.item.arm == "assisted"]
    controls = [s for s in st.items.values() if s.item.arm == "unassisted"]
    # Agent answers always get their k reviews ...
    assert all(len(s.done) == overlap for s in assisted)
    # ... and with at least 2k reviewers the control items get theirs too; with fewer,
    # a case's control and its answers cannot both have k different reviewers.
    if n_reviewers >= 2 * overlap:
        assert all(len(s.done) == overlap for s in controls)
    else:
        assert sum(len(s.done) for s in controls) < overlap * len(controls)


def test_runs_include_trials_they_reused(trial_ws: Workspace) -> None:
    from evals.store.query import query
    from labeling_app.queues.build import sample_trials, survivor_trials

    # A later run that found every trial already recorded links them (run_link records).
    for row in query(trial_ws, "SELECT key FROM trials"):
        trial_ws.append(
            "run_link", {"run_id": "run-9", "trial_key": row["key"], "source_run_id": "run-1"}
        )
    trial_ws.close(compact=False)
    assert len(sample_trials(trial_ws, ["run-9"], None, 0)) == 12
    assert len(survivor_trials(trial_ws, ["run-9"])) == 6
