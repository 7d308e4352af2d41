"""The review queues with their live state in PostgreSQL (several app replicas, one queue).

`PgQueueService` is a `QueueService` whose decisions are taken in PostgreSQL instead of
under the workspace's file lock: a claim is one ``UPDATE ... FROM (SELECT ... FOR UPDATE
SKIP LOCKED)`` that applies the overlap and reviewer rules in the same statement
(`labeling_app.queues.pg.sql`), so any number of processes on any number of
machines can hand out items of one queue with no item held by more than k reviewers.

What does not change: every claim, label, event and setting is still appended to the
workspace's records (labels with fsync, before the transaction that records the decision
commits, so a label the reviewer was told was saved is on disk), and the records stay
the audit trail that PostgreSQL's state is rebuilt from (`labeling_app.queues.pg.rebuild`).
Reading methods (state, summary, progress, the pages' views) still come from the records.

The pick order: the replica's records-derived pick (`labeling_app.queues.picking`, all eight
rules) is the preferred item; when another replica took it meanwhile, the statement
falls back to cases the reviewer has not seen, then the queue's order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from evals.schema import Label, utcnow
from evals.store.workspace import Workspace
from labeling_app.queues import drafts
from labeling_app.queues.decisions import Decision, QueueError, new_id, undo_label, validate
from labeling_app.queues.models import QueueItem, QueueSetting, ReviewQueue
from labeling_app.queues.pg import sql
from labeling_app.queues.pg.db import Database
from labeling_app.queues.pg.drafts import PgDrafts
from labeling_app.queues.pg.rebuild import fingerprint, load_queue, state_from_records
from labeling_app.queues.records import RecordIndex
from labeling_app.queues.service import QueueService, append_durable


class PgQueueService(QueueService):
    """Queue operations with live state in PostgreSQL (thread-safe; one per process)."""

    def __init__(self, ws: Workspace, db: Database, index: RecordIndex | None = None) -> None:
        super().__init__(ws, index)
        self.db = db
        self._loaded: set[str] = set()
        drafts.use_backend(ws.root, PgDrafts(db, str(ws.root)))

    # ------------------------------------------------------------ helpers

    def _ensure(self, queue_id: str, now: datetime | None = None) -> ReviewQueue:
        """The queue, its live state loaded into PostgreSQL from the records on first use
        (as they stand at ``now``: the caller's clock)."""
        q = self.queue(queue_id)
        if queue_id in self._loaded:
            return q
        with self.db.transaction() as conn:
            conn.execute(sql.LOCK_QUEUE_LOAD, {"q": queue_id})
            row = conn.execute(sql.QUEUE, {"q": queue_id}).fetchone()
            if row is None:
                load_queue(conn, state_from_records(self.index, queue_id, now or utcnow()))
            elif row[2] != fingerprint(q):
                raise QueueError(
                    f"queue {queue_id}: the queue database holds another workspace's queue of"
                    " that id (use one database per workspace)"
                )
        self._loaded.add(queue_id)
        return q

    @staticmethod
    def _begin(
        conn: psycopg.Connection, queue_id: str, reviewer: str, now: datetime | None
    ) -> datetime:
        """Serialize this reviewer's decisions; the moment (read after waiting for them,
        so one reviewer's records stay in time order)."""
        conn.execute(sql.LOCK_REVIEWER, {"q": queue_id, "r": reviewer})
        return now or utcnow()

    def _claim_record(
        self, q: ReviewQueue, item_id: str, reviewer: str, now: datetime, action: Any,
        reason: str | None = None,
    ) -> None:  # fmt: skip
        self._write_claim(q, q.item(item_id), reviewer, now, action, reason)

    def _take(
        self, conn: psycopg.Connection, q: ReviewQueue, reviewer: str, now: datetime,
        pref: str | None = None, only: str | None = None,
    ) -> str | None:  # fmt: skip
        """Take a free slot (of ``only``; else of ``pref``, else of the first case the
        reviewer has not seen, else of any item they may have); returns the item id."""
        args = {"q": q.queue_id, "r": reviewer, "now": now,
                "lease": now + timedelta(seconds=q.lease_s)}  # fmt: skip
        tries: list[tuple[str, str | None]]
        if only is not None:
            tries = [(sql.CLAIM_ITEM, only)]
        else:
            tries = [(sql.CLAIM_ITEM, pref)] if pref else []
            tries += [(sql.CLAIM_FRESH, None), (sql.CLAIM_ANY, None)]
        for statement, item in tries:
            row = conn.execute(statement, {**args, "only": item}).fetchone()
            if row is not None:
                return str(row[0])
        return None

    # ------------------------------------------------------------ claims

    def holding(
        self, queue_id: str, reviewer: str, now: datetime | None = None
    ) -> QueueItem | None:
        """The item the reviewer holds now, if any (from PostgreSQL)."""
        q = self._ensure(queue_id, now)
        with self.db.transaction() as conn:
            row = conn.execute(
                sql.HELD, {"q": queue_id, "r": reviewer, "now": now or utcnow()}
            ).fetchone()
        return q.item(row[0]) if row else None

    def claim_next(
        self, queue_id: str, reviewer: str, now: datetime | None = None
    ) -> QueueItem | None:
        """The item the reviewer holds, or a new one claimed for them (None: nothing
        left for this reviewer, or the queue is closed)."""
        q = self._ensure(queue_id, now)
        with self.live(queue_id, now) as live:
            best = live.picker.best(reviewer)
        pref = best.item_id if best else None
        renewed = taken = None
        with self.db.transaction() as conn:
            at = self._begin(conn, queue_id, reviewer, now)
            closed, *held = conn.execute(
                sql.HELD_OR_CLOSED, {"q": queue_id, "r": reviewer, "now": at}
            ).fetchone() or (True, None, None, None)
            if held[0] is not None:
                if held[2] - at <= timedelta(seconds=q.lease_s / 2):
                    conn.execute(sql.SET_LEASE, {"q": queue_id, "item": held[0], "slot": held[1],
                                                 "lease": at + timedelta(seconds=q.lease_s),
                                                 "at": None})  # fmt: skip
                    renewed = held[0]
                item_id: str | None = held[0]
            else:
                item_id = None if closed else self._take(conn, q, reviewer, at, pref)
                taken = item_id
                if taken and now is None:
                    # Timestamp the claim after taking the slot: whoever freed it
                    # (release, skip, lapse) committed, and read its clock, before, so the
                    # records' times agree with the order PostgreSQL decided in.
                    at = utcnow()
                    lease = at + timedelta(seconds=q.lease_s)
                    conn.execute(sql.RETIME, {"q": queue_id, "r": reviewer, "item": taken,
                                              "at": at, "lease": lease})  # fmt: skip
        if renewed:
            self._claim_record(q, renewed, reviewer, at, "renew")
        if taken:
            self._claim_record(q, taken, reviewer, at, "claim")
            self.record_event(queue_id, taken, reviewer, "claim", at=at)
        return q.item(item_id) if item_id else None

    def renew(
        self, queue_id: str, item_id: str, reviewer: str, now: datetime | None = None
    ) -> bool:
        """Keep the reviewer's claim alive (called on activity). False: no live claim."""
        q = self._ensure(queue_id, now)
        with self.db.transaction() as conn:
            at = now or utcnow()
            row = conn.execute(
                sql.HELD_ITEM, {"q": queue_id, "r": reviewer, "item": item_id, "now": at}
            ).fetchone()
            if row is None:
                return False
            if row[1] - at > timedelta(seconds=q.lease_s / 2):
                return True  # plenty of lease left: no write
            conn.execute(sql.SET_LEASE, {"q": queue_id, "item": item_id, "slot": row[0],
                                         "lease": at + timedelta(seconds=q.lease_s),
                                         "at": None})  # fmt: skip
        self._claim_record(q, item_id, reviewer, at, "renew")
        return True

    def release(
        self, queue_id: str, item_id: str, reviewer: str, reason: str, now: datetime | None = None
    ) -> None:
        """Give a claimed item back to the pool without deciding."""
        q = self._ensure(queue_id, now)
        with self.db.transaction() as conn:
            at = self._begin(conn, queue_id, reviewer, now)
            conn.execute(sql.FREE, {"q": queue_id, "r": reviewer, "item": item_id})
        self._claim_record(q, item_id, reviewer, at, "release", reason)
        self.record_event(queue_id, item_id, reviewer, "release", at=at, data={"reason": reason})

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
        q = self._ensure(queue_id, now)
        item = q.item(item_id)
        validate(item, decision)
        with self.db.transaction() as conn:
            at = self._begin(conn, queue_id, reviewer, now)
            args = {"q": queue_id, "r": reviewer, "item": item_id, "now": at}
            previous, slot = conn.execute(sql.DECIDED_OR_HELD, args).fetchone() or (None, None)
            if previous is not None:
                return Label.model_validate(previous)  # a double click: the first stands
            if slot is None and decision.action == "submit":
                if self._take(conn, q, reviewer, at, only=item_id) is None:
                    raise QueueError(
                        "your claim on this item ran out and it went to another reviewer; "
                        "nothing was recorded (copy your notes before moving on)"
                    )
                slot = conn.execute(sql.HELD_ITEM, args).fetchone()[0]  # type: ignore[index]
            with self.live(queue_id, at) as live:
                label = self._label(live, item, reviewer, decision, at)
            conn.execute(sql.DECIDE, {
                **args, "slot": slot, "submit": decision.action == "submit",
                "label_id": label.id, "action": label.action,
                "label": Jsonb(label.model_dump(mode="json")),
                "case": item.case_id, "arm": item.arm,
            })  # fmt: skip
            append_durable(self.ws, "label", label)  # on disk before the commit
        self.record_event(
            queue_id, item_id, reviewer, decision.action, at=at, data={"label_id": label.id}
        )
        return label

    def undo_last(
        self, queue_id: str, reviewer: str, now: datetime | None = None
    ) -> tuple[Label, QueueItem | None]:
        """Retract the reviewer's last decision with an 'undo' label and re-open its item
        for them (None when a skipped item's slot has meanwhile gone to someone else)."""
        q = self._ensure(queue_id, now)
        with self.db.transaction() as conn:
            at = self._begin(conn, queue_id, reviewer, now)
            args: dict[str, Any] = {"q": queue_id, "r": reviewer, "now": at}
            row = conn.execute(sql.LAST, args).fetchone()
            last = Label.model_validate(row[0]) if row else None
            args.update(item=last.item_id if last else "", label_id=last.id if last else "")
            dropped = None if last is None else conn.execute(sql.DROP_DECISION, args).fetchone()
            if last is None or last.action == "undo" or dropped is None:
                raise QueueError("nothing to undo: your last decision is already undone")
            held = [r[0] for r in conn.execute(sql.HELD, args).fetchall()]
            for item_id in held:
                conn.execute(sql.FREE, {**args, "item": item_id})
            undo = undo_label(last, at)
            conn.execute(sql.SET_LAST, {**args, "label": Jsonb(undo.model_dump(mode="json"))})
            lease = at + timedelta(seconds=q.lease_s)
            reopened = conn.execute(sql.REOPEN, {**args, "lease": lease}).fetchone() is not None
            if not reopened:  # a skip or flag: its slot went back to the pool
                reopened = self._take(conn, q, reviewer, at, only=last.item_id) is not None
            append_durable(self.ws, "label", undo)
        for item_id in sorted(held, key=lambda i: q.item(i).position):
            self._claim_record(q, item_id, reviewer, at, "release", "undo")
            self.record_event(queue_id, item_id, reviewer, "release", at=at,
                              data={"reason": "undo"})  # fmt: skip
        self.record_event(
            queue_id, last.item_id, reviewer, "undo", at=at, data={"label_id": last.id}
        )
        self._claim_record(q, last.item_id, reviewer, at, "claim" if reopened else "release",
                           "undo")  # fmt: skip
        return undo, q.item(last.item_id) if reopened else None

    def label_edited(self, old: Label, replacement: Label) -> None:
        """A past submission was replaced by an edit: the replacement stands in its place
        (the reviewer's decision on the item, and their last label for undo)."""
        if old.item_id not in {it.item_id for it in self._ensure(old.queue_id).items}:
            return  # a whole review's node label: the review item's label counts
        body = Jsonb(replacement.model_dump(mode="json"))
        args = {"q": old.queue_id, "r": old.reviewer, "item": old.item_id, "label": body,
                "old": old.id, "new": replacement.id}  # fmt: skip
        with self.db.transaction() as conn:
            conn.execute(sql.LOCK_REVIEWER, args)
            conn.execute(sql.EDITED, args)
            conn.execute(sql.SET_LAST, args)

    # ------------------------------------------------------------ settings

    def change_settings(
        self,
        queue_id: str,
        by: str,
        *,
        show_verdicts: bool | None = None,
        closed: bool | None = None,
    ) -> QueueSetting:
        """Record a lead's change to a queue (in the records and in PostgreSQL)."""
        self._ensure(queue_id)
        setting = QueueSetting(
            id=new_id("qs"), queue_id=queue_id, by=by, show_verdicts=show_verdicts, closed=closed
        )
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE rq_queues SET closed = COALESCE(%(c)s, closed),"
                " show_verdicts = COALESCE(%(s)s, show_verdicts) WHERE queue_id = %(q)s",
                {"c": closed, "s": show_verdicts, "q": queue_id},
            )
            append_durable(self.ws, "queue_setting", setting)
        return setting
