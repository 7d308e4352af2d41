"""The live state of one review queue, kept up to date incrementally (one per process).

`labeling_app.queues.state.compute_state` derives a queue's state from all of its records; doing
that on every claim costs time in proportion to the queue (about a second per claim at
100,000 items). A `LiveQueue` holds the same state and keeps it current instead:

* **records** are applied as they arrive: `RecordIndex.since` hands over only what was
  appended since the last read, from every writer's segments (other processes
  included). Arrival order does not matter: each item's state is recomputed from that
  item's own records, kept sorted in the order `compute_state` reads them (time, then
  segment, then place in the segment), so the result is the same whatever the order;
* **time**: leases are kept in a heap (the run-out ones in a sorted list), so moving to
  a later, or earlier, moment recomputes just the items whose leases end in between;
* **the next item** is chosen by `labeling_app.queues.picking.Picker` from ordered buckets
  instead of sorting every candidate.

The store stays the source of truth: the queue service syncs a LiveQueue from the store
under the queue's lock before every decision, and `snapshot()` equals `compute_state`
over the same records at the same moment (tested after random operations of several
writers). Not thread-safe by itself: the service holds one lock per queue around it.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from bisect import bisect, insort
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from evals.schema import Label, ReviewEvent, utcnow
from labeling_app.queues.models import Claim, QueueItem, QueueSetting, ReviewQueue
from labeling_app.queues.picking import CountIndex, Picker
from labeling_app.queues.records import RecordIndex
from labeling_app.queues.state import CLOSING_ACTIONS, ItemState, QueueState

Key = tuple[datetime, str, int]
"""Where a record sorts: its time, then its segment, then its place in the segment
(the order `RecordIndex` lists records in, stably sorted by time)."""

LIVE_KINDS = ("queue_setting", "claim", "label", "event")
"""Record kinds a LiveQueue follows."""


@dataclass
class ReviewerTally:
    """What the pick order needs to know about one reviewer."""

    done: int = 0
    """Effective decisions (submissions, skips, flags not undone)."""
    control: int = 0
    """Of which on control items."""
    per_question: Counter[str] = field(default_factory=Counter)
    """Effective decisions per question."""
    held: set[str] = field(default_factory=set)
    """Items the reviewer holds a live claim on."""
    last: tuple[datetime, Key, Label] | None = None
    """Their most recent label of any action (undo included)."""


@dataclass
class QueueSummary:
    """A queue's counts and settings at one moment (cheap: kept up to date)."""

    items: int
    submitted: int
    """Effective submissions."""
    needed: int
    """Submissions still missing for every item to have k of them."""
    held: int
    """Live claims."""
    closed: bool
    show_verdicts: bool
    holding: dict[str, int]
    """Reviewer -> items they hold now."""


class LiveQueue:
    """One queue's state, exact and incrementally maintained."""

    def __init__(self, queue: ReviewQueue, now: datetime) -> None:
        self.queue = queue
        self.k = queue.overlap
        self.now = now
        self.items = {it.item_id: ItemState(it) for it in queue.items}
        self.by_order = list(self.items.values())
        self.order = {item_id: i for i, item_id in enumerate(self.items)}
        self.case_items: dict[str, list[ItemState]] = defaultdict(list)
        for st in self.by_order:
            self.case_items[st.item.case_id].append(st)
        self.cursors: dict[str, dict[str, int]] = {kind: {} for kind in LIVE_KINDS}
        self.labels: list[Label] = []
        self._label_keys: list[Key] = []
        self._labels_by_id: dict[str, list[Label]] = defaultdict(list)
        self._item_labels: dict[str, list[tuple[Key, Label]]] = defaultdict(list)
        self.retracted: set[str] = set()
        self._latest: dict[tuple[str, str], tuple[Key, Claim]] = {}
        self._claimers: dict[str, set[str]] = defaultdict(set)
        self._settings: list[tuple[Key, QueueSetting]] = []
        self._events: dict[tuple[str, str], list[tuple[Key, ReviewEvent]]] = defaultdict(list)
        self.seen: dict[str, dict[str, set[str]]] = {}
        self.case_seen = CountIndex()
        """Case -> reviewers who have been given any item of it."""
        self.control_seen = CountIndex()
        """Case -> reviewers who have been given its control item."""
        self.tally: dict[str, ReviewerTally] = defaultdict(ReviewerTally)
        self._leases: list[tuple[datetime, int, str]] = []  # heap: leases ending after now
        self._lapsed: list[tuple[datetime, int, str]] = []  # sorted: leases ended by now
        self._counter = itertools.count()
        self.submitted = 0
        self.needed = self.k * len(self.items)
        self.held = 0
        self.picker = Picker(self)

    # ------------------------------------------------------------ syncing

    def sync(self, index: RecordIndex, now: datetime) -> bool:
        """Apply every record appended since the last sync and move to ``now``.
        False when the store no longer matches what was read (rebuild instead)."""
        self.now = now
        for kind in LIVE_KINDS:
            found = index.since(kind, self.cursors[kind])
            if found is None:
                return False
            apply = getattr(self, f"_apply_{kind}")
            qid = self.queue.queue_id
            for stem, i, rec in found:
                if rec.queue_id == qid:
                    apply(_key(rec, stem, i), rec)
        while self._leases and self._leases[0][0] <= now:
            entry = heapq.heappop(self._leases)
            insort(self._lapsed, entry)
            self._settle(entry[2])
        while self._lapsed and self._lapsed[-1][0] > now:
            entry = self._lapsed.pop()
            heapq.heappush(self._leases, entry)
            self._settle(entry[2])
        return True

    def _apply_queue_setting(self, key: Key, s: QueueSetting) -> None:
        insort(self._settings, (key, s), key=lambda t: t[0])

    def _apply_event(self, key: Key, e: ReviewEvent) -> None:
        insort(self._events[(e.item_id, e.reviewer)], (key, e), key=lambda t: t[0])

    def _apply_claim(self, key: Key, c: Claim) -> None:
        st = self.items.get(c.item_id)
        if st is None:
            return
        self._see(c.reviewer, st.item)
        pair = (c.item_id, c.reviewer)
        current = self._latest.get(pair)
        if current is None or key > current[0]:
            self._latest[pair] = (key, c)
            self._claimers[c.item_id].add(c.reviewer)
        if c.action != "release" and c.lease_until is not None:
            entry = (c.lease_until, next(self._counter), c.item_id)
            if c.lease_until > self.now:
                heapq.heappush(self._leases, entry)
            else:
                insort(self._lapsed, entry)
        self._settle(c.item_id)

    def _apply_label(self, key: Key, lb: Label) -> None:
        at = bisect(self._label_keys, key)
        self._label_keys.insert(at, key)
        self.labels.insert(at, lb)
        self._labels_by_id[lb.id].append(lb)
        tally = self.tally[lb.reviewer]
        if lb.item_id not in self.items:
            pass  # a whole review's node label: undo works on the review item's label
        elif tally.last is None or (lb.submitted_at, tally.last[1]) > (tally.last[0], key):
            tally.last = (lb.submitted_at, key, lb)
        if lb.action == "undo" and lb.retracts and lb.retracts not in self.retracted:
            self.retracted.add(lb.retracts)
            for target in self._labels_by_id.get(lb.retracts, []):
                self._count(target, -1)
                if target.item_id in self.items:
                    self._settle(target.item_id)
        if lb.id not in self.retracted:  # (one arriving after its undo never counts)
            self._count(lb, +1)
        st = self.items.get(lb.item_id)
        if st is not None:
            insort(self._item_labels[lb.item_id], (key, lb), key=lambda t: t[0])
            self._see(lb.reviewer, st.item)
            self._settle(lb.item_id)

    def _count(self, lb: Label, sign: int) -> None:
        """Add (or take back) an effective decision to its reviewer's tally."""
        if lb.action not in CLOSING_ACTIONS or lb.item_id not in self.items:
            return  # (a whole review's node label: its review item's label counts)
        tally = self.tally[lb.reviewer]
        tally.done += sign
        tally.control += sign if lb.arm == "unassisted" else 0
        st = self.items.get(lb.item_id)
        if st is not None:
            tally.per_question[st.item.question_id] += sign

    def _see(self, reviewer: str, item: QueueItem) -> None:
        arms = self.seen.setdefault(reviewer, {}).setdefault(item.case_id, set())
        self.case_seen.add(item.case_id, reviewer)
        if item.arm not in arms:
            arms.add(item.arm)
            if item.arm == "unassisted":
                self.control_seen.add(item.case_id, reviewer)

    def _settle(self, item_id: str) -> None:
        """Recompute one item's state from its own records (as compute_state does)."""
        st = self.items[item_id]
        done: dict[str, Label] = {}
        declined: dict[str, Label] = {}
        for _, lb in self._item_labels.get(item_id, ()):
            if lb.id in self.retracted or lb.action not in CLOSING_ACTIONS:
                continue
            (done if lb.action == "submit" else declined)[lb.reviewer] = lb
        claims: dict[str, Claim] = {}
        for reviewer in self._claimers.get(item_id, ()):
            c = self._latest[(item_id, reviewer)][1]
            if c.action == "release" or reviewer in done or reviewer in declined:
                continue
            if c.lease_until is not None and c.lease_until > self.now:
                claims[reviewer] = c
        before = set(st.claims)
        self.submitted += len(done) - len(st.done)
        self.needed += max(0, self.k - len(done)) - max(0, self.k - len(st.done))
        self.held += len(claims) - len(st.claims)
        st.done, st.declined, st.claims = done, declined, claims
        for r in before - claims.keys():
            self.tally[r].held.discard(item_id)
        for r in claims.keys() - before:
            self.tally[r].held.add(item_id)
        self.picker.update(st)

    # ------------------------------------------------------------ reading

    def flags(self) -> tuple[bool, bool]:
        """(closed, show_verdicts): the latest setting of each wins."""
        closed, show = False, self.queue.show_verdicts
        for _, s in self._settings:
            closed = s.closed if s.closed is not None else closed
            show = s.show_verdicts if s.show_verdicts is not None else show
        return closed, show

    def may_take(self, reviewer: str, st: ItemState) -> bool:
        """As `QueueState.may_take`."""
        if reviewer in st.done or reviewer in st.declined or reviewer in st.claims:
            return False
        if st.occupancy >= self.k:
            return False
        arms = self.seen.get(reviewer, {}).get(st.item.case_id, set())
        return not (arms - {st.item.arm})

    def held_items(self, reviewer: str) -> list[QueueItem]:
        """Items the reviewer holds a live claim on, in queue order."""
        tally = self.tally.get(reviewer)
        held = sorted(tally.held, key=self.order.__getitem__) if tally else []
        return [self.items[i].item for i in held]

    def current_claim(self, reviewer: str) -> QueueItem | None:
        """As `QueueState.current_claim` (latest claim; the first in queue order on ties)."""
        held = self.held_items(reviewer)
        if not held:
            return None
        return max(held, key=lambda it: (self.items[it.item_id].claims[reviewer].at, it.position))

    def last_label(self, reviewer: str) -> Label | None:
        """As `QueueState.last_label`."""
        tally = self.tally.get(reviewer)
        return tally.last[2] if tally and tally.last else None

    def latest_claim(self, item_id: str, reviewer: str) -> Claim | None:
        """The reviewer's latest claim record on the item, unless it was a release."""
        found = self._latest.get((item_id, reviewer))
        return None if found is None or found[1].action == "release" else found[1]

    def events(self, item_id: str, reviewer: str) -> list[ReviewEvent]:
        """A reviewer's timing events on an item, oldest first."""
        return [e for _, e in self._events.get((item_id, reviewer), ())]

    def progress(self, reviewer: str) -> tuple[int, int]:
        """As `QueueState.progress`: (finished, could still take or hold)."""
        tally = self.tally.get(reviewer)
        done = tally.done if tally else 0
        held = len(tally.held) if tally else 0
        return done, held + self.picker.count(reviewer)

    def summary(self) -> QueueSummary:
        """Counts and settings now."""
        closed, show = self.flags()
        holding = {r: len(t.held) for r, t in self.tally.items() if t.held}
        return QueueSummary(
            len(self.items), self.submitted, self.needed, self.held, closed, show, holding
        )

    def snapshot(self) -> QueueState:
        """A copy of the state as a `QueueState` (what `compute_state` gives)."""
        items = {
            i: ItemState(st.item, dict(st.done), dict(st.declined), dict(st.claims))
            for i, st in self.items.items()
        }
        closed, show = self.flags()
        seen = {r: {c: set(a) for c, a in cases.items()} for r, cases in self.seen.items()}
        return QueueState(
            self.queue, self.now, items, list(self.labels), set(self.retracted), closed, show, seen
        )


class LiveQueues:
    """The live queues of one process (one per queue, each with its own lock)."""

    def __init__(self, index: RecordIndex) -> None:
        self.index = index
        self._queues: dict[str, LiveQueue] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def open(self, queue: ReviewQueue, now: datetime | None = None) -> Iterator[LiveQueue]:
        """The queue's LiveQueue synced at ``now``, held by this thread meanwhile."""
        qid = queue.queue_id
        with self._guard:
            lock = self._locks.setdefault(qid, threading.Lock())
        with lock:
            now = now or utcnow()
            live = self._queues.pop(qid, None)  # back only once synced without error
            if live is None or not live.sync(self.index, now):
                live = LiveQueue(queue, now)  # first use, or a segment shrank: rebuild
                if not live.sync(self.index, now):
                    raise RuntimeError(f"queue {qid}: records changed while being read")
            self._queues[qid] = live
            yield live


def _key(rec: Any, stem: str, i: int) -> Key:
    at = rec.submitted_at if isinstance(rec, Label) else rec.at
    return (at, stem, i)
