"""Review-queue operations: claim, renew, submit, skip, flag, undo, settings.

Every operation that can take or free a slot runs under ``Workspace.lock("queue-<id>")``
(an fcntl lock: exclusive across threads and processes), brings the queue's state up to
date with every record appended to the store since it last looked (its own and other
processes'), decides by the rules of `labeling_app.queues.state`, and appends its records with
fsync before the lock is released. So when ``submit`` returns, the label is on disk; and
two reviewers (threads of one app, or the app and `evals label simulate`) can never both
take the last slot of an item.

The state is a `LiveQueue` per queue, kept in this process and updated incrementally
(reading only new records), so a claim costs milliseconds at 100,000 items; it always
equals `compute_state` over the store's records (the store stays the source of truth).

``now`` is a parameter everywhere so tests and simulated reviewers can drive the clock.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Literal

from evals.schema import Label, ReviewEvent, utcnow
from evals.store.workspace import Workspace
from labeling_app.metrics.timing import active_seconds
from labeling_app.queues.decisions import (
    Decision,
    QueueError,
    label_of,
    new_id,
    undo_label,
    validate,
)
from labeling_app.queues.live import LiveQueue, LiveQueues, QueueSummary
from labeling_app.queues.models import Claim, QueueItem, QueueSetting, ReviewQueue
from labeling_app.queues.records import RecordIndex
from labeling_app.queues.state import QueueState

__all__ = [  # besides its own: the decision helpers, defined in labeling_app.queues.decisions
    "Decision",
    "EventKind",
    "QueueError",
    "QueueService",
    "append_durable",
    "new_id",
    "undo_label",
]

EventKind = Literal[
    "claim", "shown", "heartbeat", "hidden", "visible", "submit", "skip", "flag", "undo", "release"
]


def append_durable(ws: Workspace, kind: str, record: Any) -> None:
    """Append with fsync: the record is on disk when this returns.

    (The writer of a kind is shared by the process; it is switched to durable here in
    case another caller created it without fsync.)"""
    writer = ws.writer(kind, durable=True)
    writer.durable = True
    writer.append(record)


class QueueService:
    """Operations on the queues of one workspace (thread-safe; share one per process)."""

    def __init__(self, ws: Workspace, index: RecordIndex | None = None) -> None:
        self.ws = ws
        self.index = index or RecordIndex(ws)
        self._live = LiveQueues(self.index)

    # ------------------------------------------------------------ reading

    def queues(self) -> dict[str, ReviewQueue]:
        """Every queue, by id."""
        return self.index.queues()

    def queue(self, queue_id: str) -> ReviewQueue:
        """One queue."""
        try:
            return self.index.queues()[queue_id]
        except KeyError:
            raise QueueError(f"no queue {queue_id!r} in {self.ws.root}") from None

    def live(self, queue_id: str, now: datetime | None = None) -> AbstractContextManager[LiveQueue]:
        """The queue's live state, synced with the store at ``now`` (default: the time
        when this thread gets it); this thread has it to itself meanwhile. Without the
        queue's lock, what it says is for display only."""
        return self._live.open(self.queue(queue_id), now)

    def state(self, queue_id: str, now: datetime | None = None) -> QueueState:
        """A copy of the queue's whole state now (read without the lock: for display
        and tests; it costs time in proportion to the queue, unlike the calls below)."""
        with self.live(queue_id, now) as live:
            return live.snapshot()

    def summary(self, queue_id: str, now: datetime | None = None) -> QueueSummary:
        """The queue's counts and settings now."""
        with self.live(queue_id, now) as live:
            return live.summary()

    def holding(
        self, queue_id: str, reviewer: str, now: datetime | None = None
    ) -> QueueItem | None:
        """The item the reviewer holds now, if any (display only: claims nothing)."""
        with self.live(queue_id, now) as live:
            return live.current_claim(reviewer)

    def progress(
        self, queue_id: str, reviewer: str, now: datetime | None = None
    ) -> tuple[int, int]:
        """(items the reviewer has finished, items they could still take or hold)."""
        with self.live(queue_id, now) as live:
            return live.progress(reviewer)

    def _lock(self, queue_id: str) -> Any:
        return self.ws.lock(f"queue-{queue_id}")

    # ------------------------------------------------------------ claims

    def claim_next(
        self, queue_id: str, reviewer: str, now: datetime | None = None
    ) -> QueueItem | None:
        """The item the reviewer holds, or a new one claimed for them (None: nothing
        left for this reviewer, or the queue is closed)."""
        with self._lock(queue_id):
            now = now or utcnow()  # read under the lock: records stay in time order
            with self.live(queue_id, now) as live:
                held = live.current_claim(reviewer)
                if held is not None:
                    self._renew_locked(live, held, reviewer, now)
                    return held
                if live.flags()[0]:
                    return None
                item = live.picker.best(reviewer)
                if item is None:
                    return None
                self._write_claim(live.queue, item, reviewer, now, "claim")
            self.record_event(queue_id, item.item_id, reviewer, "claim", at=now)
            return item

    def renew(
        self, queue_id: str, item_id: str, reviewer: str, now: datetime | None = None
    ) -> bool:
        """Keep the reviewer's claim alive (called on activity). False: no live claim."""
        q = self.queue(queue_id)
        early = now or utcnow()
        with self.live(queue_id, early) as live:
            claim = live.latest_claim(item_id, reviewer)
        if (
            claim
            and claim.lease_until
            and claim.lease_until - early > timedelta(seconds=q.lease_s / 2)
        ):
            return True  # plenty of lease left: no write, no lock
        with self._lock(queue_id), self.live(queue_id, now) as live:
            item_state = live.items.get(item_id)
            if item_state is None or reviewer not in item_state.claims:
                return False
            self._renew_locked(live, item_state.item, reviewer, live.now)
            return True

    def _renew_locked(self, live: LiveQueue, item: QueueItem, reviewer: str, now: datetime) -> None:
        claim = live.items[item.item_id].claims.get(reviewer)
        if (
            claim
            and claim.lease_until
            and claim.lease_until - now > timedelta(seconds=live.queue.lease_s / 2)
        ):
            return
        self._write_claim(live.queue, item, reviewer, now, "renew")

    def _write_claim(
        self,
        q: ReviewQueue,
        item: QueueItem,
        reviewer: str,
        now: datetime,
        action: Literal["claim", "renew", "release"],
        reason: str | None = None,
    ) -> None:
        lease = None if action == "release" else now + timedelta(seconds=q.lease_s)
        append_durable(
            self.ws,
            "claim",
            Claim(
                id=new_id("claim"),
                queue_id=q.queue_id,
                item_id=item.item_id,
                reviewer=reviewer,
                action=action,
                at=now,
                lease_until=lease,
                reason=reason,
            ),
        )

    # ------------------------------------------------------------ events

    def record_event(
        self,
        queue_id: str,
        item_id: str,
        reviewer: str,
        kind: EventKind,
        at: datetime | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Append one raw timing event (fsync'd)."""
        append_durable(
            self.ws,
            "event",
            ReviewEvent(
                id=new_id("ev"),
                queue_id=queue_id,
                item_id=item_id,
                reviewer=reviewer,
                kind=kind,
                at=at or utcnow(),
                data=data or {},
            ),
        )

    def active_seconds(
        self,
        queue_id: str,
        item_id: str,
        reviewer: str,
        until: datetime | None = None,
        threshold_s: float | None = None,
    ) -> float:
        """Active handling time so far (or up to ``until``) from the raw events."""
        with self.live(queue_id) as live:
            events = live.events(item_id, reviewer)
            threshold = threshold_s or live.queue.idle_threshold_s
        return active_seconds(events, threshold, until)

    # ------------------------------------------------------------ decisions

    def decide(
        self,
        queue_id: str,
        item_id: str,
        reviewer: str,
        decision: Decision,
        now: datetime | None = None,
    ) -> Label:
        """Record a submission, skip or flag; returns the label (already on disk)."""
        with self.live(queue_id, now) as live:
            validate(live.items[item_id].item, decision)
        with self._lock(queue_id):
            now = now or utcnow()
            with self.live(queue_id, now) as live:
                item_state = live.items[item_id]
                previous = item_state.done.get(reviewer) or item_state.declined.get(reviewer)
                if previous is not None:
                    return previous  # a double click: the first decision stands
                holds = reviewer in item_state.claims
                if (
                    decision.action == "submit"
                    and not holds
                    and (
                        item_state.occupancy >= live.queue.overlap
                        or not live.may_take(reviewer, item_state)
                    )
                ):
                    raise QueueError(
                        "your claim on this item ran out and it went to another reviewer; "
                        "nothing was recorded (copy your notes before moving on)"
                    )
                label = self._label(live, item_state.item, reviewer, decision, now)
            append_durable(self.ws, "label", label)
            self.record_event(
                queue_id, item_id, reviewer, decision.action, at=now, data={"label_id": label.id}
            )
            return label

    def _label(
        self, live: LiveQueue, item: QueueItem, reviewer: str, decision: Decision, now: datetime
    ) -> Label:
        return label_of(live.queue, item, reviewer, decision, now,
                        live.events(item.item_id, reviewer))  # fmt: skip

    def undo_last(
        self, queue_id: str, reviewer: str, now: datetime | None = None
    ) -> tuple[Label, QueueItem | None]:
        """Retract the reviewer's last decision with an 'undo' label and re-open its item
        for them. Returns the undo label and the re-opened item (None when a skipped
        item's slot has meanwhile gone to someone else)."""
        with self._lock(queue_id):
            now = now or utcnow()
            with self.live(queue_id, now) as live:
                last = live.last_label(reviewer)
                if last is None or last.action == "undo" or last.id in live.retracted:
                    raise QueueError("nothing to undo: your last decision is already undone")
                held_items = live.held_items(reviewer)
                item_state = live.items[last.item_id]
                others = item_state.occupancy - (1 if reviewer in item_state.done else 0)
                q = live.queue
            undo = undo_label(last, now)
            append_durable(self.ws, "label", undo)
            for held in held_items:
                self._write_claim(q, held, reviewer, now, "release", "undo")
                self.record_event(
                    queue_id, held.item_id, reviewer, "release", at=now, data={"reason": "undo"}
                )
            self.record_event(
                queue_id, last.item_id, reviewer, "undo", at=now, data={"label_id": last.id}
            )
            if others >= q.overlap:
                # The decision ended the reviewer's claim on the item; with it retracted,
                # that old claim (its lease perhaps still running) would hold a slot
                # again, over the overlap, and be handed back by the next claim_next.
                self._write_claim(q, item_state.item, reviewer, now, "release", "undo")
                return undo, None
            self._write_claim(q, item_state.item, reviewer, now, "claim", "undo")
            return undo, item_state.item

    def release(
        self, queue_id: str, item_id: str, reviewer: str, reason: str, now: datetime | None = None
    ) -> None:
        """Give a claimed item back to the pool without deciding."""
        with self._lock(queue_id):
            now = now or utcnow()
            with self.live(queue_id, now) as live:
                q, item = live.queue, live.items[item_id].item
            self._write_claim(q, item, reviewer, now, "release", reason)
            self.record_event(
                queue_id, item_id, reviewer, "release", at=now, data={"reason": reason}
            )

    def label_edited(self, old: Label, replacement: Label) -> None:
        """A past submission was replaced (`labeling_app.queues.lead.edit_label`). Nothing to do
        here: this backend's state is derived from the records (PostgreSQL's is not)."""

    # ------------------------------------------------------------ settings

    def change_settings(
        self,
        queue_id: str,
        by: str,
        *,
        show_verdicts: bool | None = None,
        closed: bool | None = None,
    ) -> QueueSetting:
        """Record a lead's change to a queue."""
        self.queue(queue_id)
        setting = QueueSetting(
            id=new_id("qs"), queue_id=queue_id, by=by, show_verdicts=show_verdicts, closed=closed
        )
        append_durable(self.ws, "queue_setting", setting)
        return setting
