"""Review-queue operations: claim, renew, submit, skip, flag, undo, settings.

Every operation that can take or free a slot runs under ``Workspace.lock("queue-<id>")``
(an fcntl lock: exclusive across threads and processes), re-reads the queue's claims and
labels, decides from `labeling_app.state`, and appends its records with fsync before
the lock is released. So when ``submit`` returns, the label is on disk; and two
reviewers (threads of one app, or the app and `evals label simulate`) can never both
take the last slot of an item.

``now`` is a parameter everywhere so tests and simulated reviewers can drive the clock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from evals.schema import Label, ReviewEvent, utcnow
from evals.store import Workspace
from labeling_app.models import Claim, QueueItem, QueueSetting, ReviewQueue
from labeling_app.records import RecordIndex
from labeling_app.state import QueueState, compute_state
from labeling_app.timing import active_seconds

EventKind = Literal[
    "claim", "shown", "heartbeat", "hidden", "visible", "submit", "skip", "flag", "undo", "release"
]


class QueueError(Exception):
    """An operation the queue's rules refuse; the message is shown to the user."""


def new_id(prefix: str) -> str:
    """A unique record id."""
    return f"{prefix}-{utcnow().strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(5)}"


def append_durable(ws: Workspace, kind: str, record: Any) -> None:
    """Append with fsync: the record is on disk when this returns.

    (The writer of a kind is shared by the process; it is switched to durable here in
    case another caller created it without fsync.)"""
    writer = ws.writer(kind, durable=True)
    writer.durable = True
    writer.append(record)


@dataclass
class Decision:
    """What a reviewer decided on an item (the form's content)."""

    action: Literal["submit", "skip", "flag"] = "submit"
    helpful: bool | None = None
    correctness: Literal["correct", "partly", "wrong"] | None = None
    corrected_answer: str | None = None
    comment: str | None = None


class QueueService:
    """Operations on the queues of one workspace (thread-safe; share one per process)."""

    def __init__(self, ws: Workspace, index: RecordIndex | None = None) -> None:
        self.ws = ws
        self.index = index or RecordIndex(ws)

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

    def state(self, queue_id: str, now: datetime | None = None) -> QueueState:
        """The queue's state now (read without the lock: for display only)."""
        q = self.queue(queue_id)
        return compute_state(
            q,
            self.index.settings(queue_id),
            self.index.claims(queue_id),
            self.index.labels(queue_id),
            now or utcnow(),
        )

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
            st = self.state(queue_id, now)
            held = st.current_claim(reviewer)
            if held is not None:
                self._renew_locked(st, held, reviewer, now)
                return held
            if st.closed:
                return None
            options = st.available(reviewer)
            if not options:
                return None
            item = options[0]
            self._write_claim(st.queue, item, reviewer, now, "claim")
            self.record_event(queue_id, item.item_id, reviewer, "claim", at=now)
            return item

    def renew(
        self, queue_id: str, item_id: str, reviewer: str, now: datetime | None = None
    ) -> bool:
        """Keep the reviewer's claim alive (called on activity). False: no live claim."""
        q = self.queue(queue_id)
        claim = self._latest_claim(queue_id, item_id, reviewer)
        early = now or utcnow()
        if (
            claim
            and claim.lease_until
            and claim.lease_until - early > timedelta(seconds=q.lease_s / 2)
        ):
            return True  # plenty of lease left: no write, no lock
        with self._lock(queue_id):
            now = now or utcnow()
            st = self.state(queue_id, now)
            item_state = st.items.get(item_id)
            if item_state is None or reviewer not in item_state.claims:
                return False
            self._renew_locked(st, item_state.item, reviewer, now)
            return True

    def _latest_claim(self, queue_id: str, item_id: str, reviewer: str) -> Claim | None:
        found = None
        for c in self.index.claims(queue_id):
            if c.item_id == item_id and c.reviewer == reviewer:
                found = None if c.action == "release" else c
        return found

    def _renew_locked(self, st: QueueState, item: QueueItem, reviewer: str, now: datetime) -> None:
        claim = st.items[item.item_id].claims.get(reviewer)
        if (
            claim
            and claim.lease_until
            and claim.lease_until - now > timedelta(seconds=st.queue.lease_s / 2)
        ):
            return
        self._write_claim(st.queue, item, reviewer, now, "renew")

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
        q = self.queue(queue_id)
        events = self.index.events(queue_id, item_id, reviewer)
        return active_seconds(events, threshold_s or q.idle_threshold_s, until)

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
        _validate(self.queue(queue_id), item_id, decision)
        with self._lock(queue_id):
            now = now or utcnow()
            st = self.state(queue_id, now)
            item_state = st.items[item_id]
            previous = item_state.done.get(reviewer) or item_state.declined.get(reviewer)
            if previous is not None:
                return previous  # a double click: the first decision stands
            holds = reviewer in item_state.claims
            if (
                decision.action == "submit"
                and not holds
                and (
                    item_state.occupancy >= st.queue.overlap
                    or not st.may_take(reviewer, item_state)
                )
            ):
                raise QueueError(
                    "your claim on this item ran out and it went to another reviewer; "
                    "nothing was recorded (copy your notes before moving on)"
                )
            label = self._label(st, item_state.item, reviewer, decision, now)
            append_durable(self.ws, "label", label)
            self.record_event(
                queue_id, item_id, reviewer, decision.action, at=now, data={"label_id": label.id}
            )
            return label

    def _label(
        self, st: QueueState, item: QueueItem, reviewer: str, decision: Decision, now: datetime
    ) -> Label:
        q = st.queue
        events = self.index.events(q.queue_id, item.item_id, reviewer)
        shown = [e.at for e in events if e.kind in ("shown", "claim")]
        final = ReviewEvent(
            id="pending",
            queue_id=q.queue_id,
            item_id=item.item_id,
            reviewer=reviewer,
            kind=decision.action,
            at=now,
        )
        return Label(
            id=new_id("label"),
            queue_id=q.queue_id,
            item_id=item.item_id,
            trial_key=item.trial_key,
            case_id=item.case_id,
            reviewer=reviewer,
            arm=item.arm,
            action=decision.action,
            helpful=decision.helpful if item.arm == "assisted" else None,
            correctness=decision.correctness if item.arm == "assisted" else None,
            corrected_answer=_clean(decision.corrected_answer),
            comment=_clean(decision.comment),
            shown_at=min(shown) if shown else None,
            submitted_at=now,
            active_seconds=round(active_seconds([*events, final], q.idle_threshold_s), 3),
            idle_threshold_s=q.idle_threshold_s,
        )

    def undo_last(
        self, queue_id: str, reviewer: str, now: datetime | None = None
    ) -> tuple[Label, QueueItem | None]:
        """Retract the reviewer's last decision with an 'undo' label and re-open its item
        for them. Returns the undo label and the re-opened item (None when a skipped
        item's slot has meanwhile gone to someone else)."""
        with self._lock(queue_id):
            now = now or utcnow()
            st = self.state(queue_id, now)
            last = st.last_label(reviewer)
            if last is None or last.action == "undo" or last.id in st.retracted:
                raise QueueError("nothing to undo: your last decision is already undone")
            undo = last.model_copy(
                update={
                    "id": new_id("label"),
                    "action": "undo",
                    "retracts": last.id,
                    "helpful": None,
                    "correctness": None,
                    "corrected_answer": None,
                    "comment": None,
                    "submitted_at": now,
                    "active_seconds": None,
                }
            )
            append_durable(self.ws, "label", undo)
            for held in st.held_items(reviewer):
                self._write_claim(st.queue, held, reviewer, now, "release", "undo")
                self.record_event(
                    queue_id, held.item_id, reviewer, "release", at=now, data={"reason": "undo"}
                )
            item_state = st.items[last.item_id]
            others = item_state.occupancy - (1 if reviewer in item_state.done else 0)
            self.record_event(
                queue_id, last.item_id, reviewer, "undo", at=now, data={"label_id": last.id}
            )
            if others >= st.queue.overlap:
                return undo, None
            self._write_claim(st.queue, item_state.item, reviewer, now, "claim", "undo")
            return undo, item_state.item

    def release(
        self, queue_id: str, item_id: str, reviewer: str, reason: str, now: datetime | None = None
    ) -> None:
        """Give a claimed item back to the pool without deciding."""
        with self._lock(queue_id):
            now = now or utcnow()
            q = self.queue(queue_id)
            self._write_claim(q, q.item(item_id), reviewer, now, "release", reason)
            self.record_event(
                queue_id, item_id, reviewer, "release", at=now, data={"reason": reason}
            )

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


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def _validate(q: ReviewQueue, item_id: str, d: Decision) -> None:
    item = q.item(item_id)
    if d.action == "flag" and not _clean(d.comment):
        raise QueueError("a flag needs a reason")
    if d.action != "submit":
        return
    if item.arm == "assisted" and d.helpful is None:
        raise QueueError("say whether the answer was helpful (yes or no) before submitting")
    if item.arm == "unassisted" and not _clean(d.corrected_answer):
        raise QueueError("write your answer before submitting (this is a control item)")
