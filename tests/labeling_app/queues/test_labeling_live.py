"""The live (incremental) queue state equals a full rebuild from the store.

Random operations by several writers (two workspaces on one folder: two segment
writers and two services, as two app processes would be; and a real second process),
on a clock that jumps forward past leases and now and then back; after each step the
long-lived service's state, next item, progress and held items are compared with
`compute_state` over a fresh read of the store. After every step the overlap rule is
checked too (no item past k submissions, nor past k submissions and live claims), also
under undo-heavy mixes of claim, skip, flag, undo, release, lease expiry and submit.
"""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evals.store.workspace import Workspace
from labeling_app.queues.models import QueueItem, ReviewQueue
from labeling_app.queues.records import RecordIndex
from labeling_app.queues.service import Decision, QueueError, QueueService, append_durable
from labeling_app.queues.state import QueueState, compute_state

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REVIEWERS = [f"r{i}" for i in range(7)]
"""Everyone who may act in these tests (the states are compared for each of them)."""


def synthetic_queue(ws: Workspace, seed: int, overlap: int, n_cases: int = 40) -> ReviewQueue:
    """A queue of agent answers (1-3 per case) and control items (about a third of the
    cases) over 4 questions, in a shuffled order."""
    rng = random.Random(seed)
    specs = []
    for c in range(n_cases):
        case, question = f"case-{c}", f"q{c % 4}"
        specs += [("assisted", case, question)] * rng.randint(1, 3)
        if rng.random() < 0.35:
            specs.append(("unassisted", case, question))
    rng.shuffle(specs)
    qid = f"live-{seed}-{overlap}"
    items = [
        QueueItem(item_id=f"{qid}-{i:04d}", position=i, arm=arm, case_id=case, question_id=q)  # type: ignore[arg-type]
        for i, (arm, case, q) in enumerate(specs)
    ]
    share = sum(it.arm == "unassisted" for it in items) / len(items)
    queue = ReviewQueue(
        queue_id=qid,
        name="live",
        created_by="lead",
        source="sample",
        overlap=overlap,
        control_share=share,
        lease_s=300,
        dataset="synthetic",
        items=items,
    )
    append_durable(ws, "queue", queue)
    return queue


def rebuilt(root: Path, q: ReviewQueue, now: datetime) -> QueueState:
    """The state from a fresh read of the store (what a new process would compute)."""
    index = RecordIndex(Workspace(root, create=False))
    qid = q.queue_id
    return compute_state(q, index.settings(qid), index.claims(qid), index.labels(qid), now)


def assert_same(svc: QueueService, ref: QueueState) -> None:
    """The service's live state at ref.now equals the reference state."""
    qid = ref.queue.queue_id
    got = svc.state(qid, ref.now)
    assert (got.closed, got.show_verdicts) == (ref.closed, ref.show_verdicts)
    assert [lb.id for lb in got.labels] == [lb.id for lb in ref.labels]
    assert got.retracted == ref.retracted
    assert got.seen == ref.seen
    for item_id, want in ref.items.items():
        have = got.items[item_id]
        assert (have.done, have.declined, have.claims) == (want.done, want.declined, want.claims)
    assert got.labels_needed() == ref.labels_needed()
    with svc.live(qid, ref.now) as live:
        for r in [*REVIEWERS, "newcomer"]:
            options = ref.available(r)
            assert live.picker.best(r) == (options[0] if options else None), r
            assert live.progress(r) == ref.progress(r), r
            assert live.current_claim(r) == ref.current_claim(r), r
            assert live.held_items(r) == ref.held_items(r), r
            assert live.last_label(r) == ref.last_label(r), r
        summary = live.summary()
    assert summary.needed == ref.labels_needed()
    assert summary.submitted == sum(len(s.done) for s in ref.items.values())
    assert summary.held == sum(len(s.claims) for s in ref.items.values())


def assert_overlap_holds(root: Path, q: ReviewQueue, now: datetime) -> None:
    """No item has more than k effective submissions, nor (at the moment of the last
    operation) more than k submissions and live claims together."""
    state = rebuilt(root, q, now)
    for st in state.items.values():
        assert len(st.done) <= q.overlap, (st.item.item_id, sorted(st.done))
        assert st.occupancy <= q.overlap, (st.item.item_id, sorted(st.done), sorted(st.claims))


STEP_WEIGHTS = (45, 35, 8, 5, 4, 3)
"""Weights of claim, decide, undo, release, renew and a lead's settings change."""


def random_step(
    svc: QueueService,
    q: ReviewQueue,
    rng: random.Random,
    now: datetime,
    team: int = 7,
    declines: int = 1,
    weights: tuple[int, ...] = STEP_WEIGHTS,
) -> None:
    """One random queue operation by a random reviewer of the first ``team``
    (``declines``: weight of skip and of flag, against 8 for submit)."""
    r = rng.choice(REVIEWERS[:team])
    qid = q.queue_id
    op = rng.choices(["claim", "decide", "undo", "release", "renew", "settings"], weights)[0]
    try:
        if op == "claim":
            svc.claim_next(qid, r, now=now)
        elif op == "decide":
            held = svc.holding(qid, r, now=now)
            item = held or rng.choice(q.items)
            action = rng.choices(["submit", "skip", "flag"], [8, declines, declines])[0]
            decision = Decision(
                action=action,  # type: ignore[arg-type]
                helpful=True,
                corrected_answer="mine",
                comment="why",
            )
            svc.decide(qid, item.item_id, r, decision, now=now)
        elif op == "undo":
            svc.undo_last(qid, r, now=now)
        elif op == "release":
            held = svc.holding(qid, r, now=now)
            if held is not None:
                svc.release(qid, held.item_id, r, "test", now=now)
        elif op == "renew":
            held = svc.holding(qid, r, now=now)
            if held is not None:
                svc.renew(qid, held.item_id, r, now=now)
        else:
            svc.change_settings(qid, "lead", closed=rng.random() < 0.3, show_verdicts=True)
    except QueueError:
        pass  # refused by the rules (nothing to undo, claim ran out): nothing written


@pytest.mark.parametrize(
    ("seed", "overlap", "team", "n_cases"),
    # Small teams and queues too: cases at risk (few reviewers left for a control or
    # for the agent answers) and reviewers left with only cases they have seen.
    [(1, 1, 7, 40), (2, 2, 7, 40), (3, 3, 7, 40), (4, 2, 3, 12), (5, 2, 4, 10), (6, 3, 6, 8)],
)
def test_live_state_equals_rebuild_after_random_operations(
    tmp_path: Path, seed: int, overlap: int, team: int, n_cases: int
) -> None:
    root = tmp_path / "ws"
    ws_a, ws_b = Workspace(root), Workspace(root)
    q = synthetic_queue(ws_a, seed, overlap, n_cases)
    svc_a, svc_b = QueueService(ws_a), QueueService(ws_b)
    rng = random.Random(seed)
    t = 0.0
    for step in range(160):
        # Mostly forward, sometimes far (leases run out), the other writer a bit behind.
        t += rng.choice([1, 5, 30, 200, 400])
        svc = rng.choice([svc_a, svc_b])
        moment = T0 + timedelta(seconds=t - (rng.uniform(0, 50) if svc is svc_b else 0))
        random_step(svc, q, rng, moment, team)
        assert_overlap_holds(root, q, moment)
        if step % 8 == 0:
            check_at = T0 + timedelta(seconds=t + rng.choice([-500, -100, 0, 150, 350]))
            assert_same(svc_a, rebuilt(root, q, check_at))
        if step == 100:  # one writer ends: its segments are sealed and compacted to Parquet
            ws_b.close(compact=True)
    end = T0 + timedelta(seconds=t)
    assert_same(svc_a, rebuilt(root, q, end))
    assert_same(svc_b, rebuilt(root, q, end))
    assert_same(QueueService(Workspace(root, create=False)), rebuilt(root, q, end))
    ws_a.close(compact=False)


@pytest.mark.parametrize(("seed", "overlap"), [(24, 1), (30, 1), (37, 2), (26, 3)])
def test_overlap_holds_under_undo_heavy_random_operations(
    tmp_path: Path, seed: int, overlap: int
) -> None:
    """Claim, skip, flag, undo, release, lease expiry and submit by a small team, in any
    order: no item ever gets more than k submissions, nor k submissions and claims."""
    root = tmp_path / "ws"
    ws = Workspace(root)
    q = synthetic_queue(ws, seed, overlap, n_cases=6)
    svcs = [QueueService(ws), QueueService(Workspace(root))]
    rng = random.Random(seed)
    t = 0.0
    for _ in range(250):
        t += rng.choice([1, 5, 30, 400])
        moment = T0 + timedelta(seconds=t)
        random_step(rng.choice(svcs), q, rng, moment, team=4, declines=6,
                    weights=(40, 30, 25, 3, 2, 0))  # fmt: skip
        assert_overlap_holds(root, q, moment)
    assert_same(svcs[0], rebuilt(root, q, T0 + timedelta(seconds=t)))


@pytest.mark.parametrize("action", ["skip", "flag"])
def test_undo_after_the_item_went_to_another_never_gives_it_back(
    tmp_path: Path, action: str
) -> None:
    """Alice decides, Bob takes the item's slot, Alice undoes and is told the item is
    with others: her old claim must not come back to life, nor may a later claim."""
    root = tmp_path / "ws"
    ws = Workspace(root)
    q = synthetic_queue(ws, 11, overlap=1, n_cases=3)
    svc, qid = QueueService(ws), q.queue_id
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    item = svc.claim_next(qid, "alice", now=at(0))
    assert item is not None
    decision = Decision(action=action, comment="why")  # type: ignore[arg-type]
    svc.decide(qid, item.item_id, "alice", decision, now=at(1))  # her lease still runs
    bob = None
    while bob != item:  # Bob takes items until he gets Alice's
        bob = svc.claim_next(qid, "bob", now=at(10))
        assert bob is not None
        if bob != item:
            svc.decide(qid, bob.item_id, "bob", Decision(action="skip"), now=at(10))
    _, reopened = svc.undo_last(qid, "alice", now=at(20))
    assert reopened is None  # "now with others"
    for t in (21, 22):
        got = svc.claim_next(qid, "alice", now=at(t))
        assert got != item
        if got is not None:
            svc.release(qid, got.item_id, "alice", "test", now=at(t))
    svc.decide(qid, item.item_id, "bob", Decision(helpful=True), now=at(30))
    with pytest.raises(QueueError):
        svc.decide(qid, item.item_id, "alice", Decision(helpful=True), now=at(31))
    assert_overlap_holds(root, q, at(31))
    assert_same(svc, rebuilt(root, q, at(31)))


def test_live_state_follows_records_written_in_any_order(tmp_path: Path) -> None:
    """Records of other writers may arrive later than newer ones were applied (a
    virtual clock, a slow writer): the state is the same as if read in time order."""
    root = tmp_path / "ws"
    ws = Workspace(root)
    q = synthetic_queue(ws, 9, overlap=2)
    watcher = QueueService(ws)
    late = QueueService(Workspace(root))
    first = watcher.claim_next(q.queue_id, "r0", now=T0 + timedelta(seconds=100))
    assert first is not None
    assert_same(watcher, rebuilt(root, q, T0 + timedelta(seconds=100)))
    # Another writer records earlier moments after the watcher has seen later ones.
    for n, r in enumerate(["r1", "r2", "r0"]):
        item = late.claim_next(q.queue_id, r, now=T0 + timedelta(seconds=10 + n))
        assert item is not None
        late.decide(q.queue_id, item.item_id, r, Decision(helpful=True, corrected_answer="x"),
                    now=T0 + timedelta(seconds=20 + n))  # fmt: skip
    for s in (5, 50, 100, 500):
        assert_same(watcher, rebuilt(root, q, T0 + timedelta(seconds=s)))


OTHER_PROCESS = """
import random, sys
from datetime import timedelta
from pathlib import Path
from evals.store.workspace import Workspace
from labeling_app.queues.service import Decision, QueueService
from datetime import UTC, datetime
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
svc = QueueService(Workspace(Path(sys.argv[1])))
rng = random.Random(int(sys.argv[2]))
qid = next(iter(svc.queues()))
for n in range(30):
    r = rng.choice(["r1", "r4", "r6", "p1"])
    now = T0 + timedelta(seconds=int(sys.argv[2]) + n * 7)
    item = svc.claim_next(qid, r, now=now)
    if item is not None and rng.random() < 0.7:
        svc.decide(qid, item.item_id, r, Decision(helpful=False, corrected_answer="y"), now=now)
svc.ws.close(compact=rng.random() < 0.5)
"""


@pytest.mark.slow
def test_live_state_follows_another_process(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    ws = Workspace(root)
    q = synthetic_queue(ws, 5, overlap=2)
    svc = QueueService(ws)
    rng = random.Random(5)
    t = 0.0
    for round_ in range(3):
        for _ in range(20):
            t += rng.choice([2, 20, 350])
            random_step(svc, q, rng, T0 + timedelta(seconds=t))
        other = subprocess.run(
            [sys.executable, "-c", OTHER_PROCESS, str(root), str(int(t) + round_)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert other.returncode == 0, other.stderr
        for dt in (0, 200, 400):
            assert_same(svc, rebuilt(root, q, T0 + timedelta(seconds=t + dt)))
    ws.close(compact=False)


def test_record_index_since_reads_only_new_records_across_compaction(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    writer = Workspace(root)
    q = synthetic_queue(writer, 3, overlap=1, n_cases=5)
    svc = QueueService(writer)
    index = RecordIndex(Workspace(root, create=False))
    cursor: dict[str, int] = {}
    for n in range(3):
        svc.claim_next(q.queue_id, f"r{n}", now=T0 + timedelta(seconds=n))
    first = index.since("claim", cursor)
    assert first is not None and [i for _, i, _ in first] == [0, 1, 2]
    assert index.since("claim", cursor) == []
    svc.claim_next(q.queue_id, "r3", now=T0 + timedelta(seconds=3))
    writer.close(compact=True)  # the JSONL segment becomes Parquet, same stem and order
    assert not list(writer.records_dir("claim").glob("*.jsonl"))
    later = index.since("claim", cursor)
    assert later is not None and [(i, c.reviewer) for _, i, c in later] == [(3, "r3")]
    # A segment holding fewer records than were consumed: the caller must rebuild.
    stem = next(iter(cursor))
    assert index.since("claim", {stem: cursor[stem] + 1}) is None


def test_a_forged_label_is_not_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A label line rewritten with a duplicate key in front (what DuckDB would read) is
    skipped by the queue's reader with file:line, as the SQL views skip it."""
    root = tmp_path / "ws"
    ws = Workspace(root)
    q = synthetic_queue(ws, 12, overlap=1, n_cases=3)
    svc, qid = QueueService(ws), q.queue_id
    item = svc.claim_next(qid, "alice", now=T0)
    assert item is not None
    svc.decide(qid, item.item_id, "alice", Decision(helpful=True), now=T0)
    (seg,) = ws.segments("label")
    line = seg.read_bytes()
    seg.write_bytes(b'{"body":{"reviewer":"mallory"},' + line[1:])
    fresh = QueueService(Workspace(root, create=False))
    with caplog.at_level("WARNING"):
        state = fresh.state(qid, T0)
    assert not state.items[item.item_id].done
    assert f"{seg}:1: edited or forged record skipped" in caplog.text
    ws.close(compact=False)
