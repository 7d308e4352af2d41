"""PostgreSQL's live queue state from the workspace's records, and back for comparison.

The records (queue, settings, claims, labels) are the source of truth; PostgreSQL holds
the state `labeling_app.queues.state.compute_state` derives from them at one moment. `load_queue`
writes that state into empty tables (a queue's first use by a replica), `rebuild` drops
and reloads it (after losing the database, or to check it), and `live_state` /
`records_state` put both sides in one comparable form.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import psycopg

from evals.schema import utcnow
from evals.store.workspace import Workspace
from labeling_app.queues.models import ReviewQueue
from labeling_app.queues.pg import sql
from labeling_app.queues.pg.db import LIVE_TABLES, Database
from labeling_app.queues.records import RecordIndex
from labeling_app.queues.state import QueueState, compute_state

Snapshot = dict[str, dict[str, list[str]]]
"""Item id -> {"done": reviewers, "claims": live holders, "declined": reviewers}."""


def fingerprint(q: ReviewQueue) -> str:
    """What tells this queue from another workspace's queue of the same id."""
    return hashlib.sha256(q.model_dump_json().encode()).hexdigest()[:24]


def state_from_records(index: RecordIndex, queue_id: str, now: datetime) -> QueueState:
    """The queue's state at ``now`` from its records."""
    q = index.queues()[queue_id]
    return compute_state(
        q, index.settings(queue_id), index.claims(queue_id), index.labels(queue_id), now
    )


def load_queue(conn: psycopg.Connection, state: QueueState) -> None:
    """Write a queue's state into the (empty for this queue) live tables."""
    q = state.queue
    qid = q.queue_id
    conn.execute(
        "INSERT INTO rq_queues (queue_id, overlap, lease_s, closed, show_verdicts, fingerprint)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (qid, q.overlap, q.lease_s, state.closed, state.show_verdicts, fingerprint(q)),
    )
    with conn.cursor() as cur:
        items = "COPY rq_items (queue_id, item_key, position, case_id, arm) FROM STDIN"
        with cur.copy(items) as cp:
            for it in q.items:
                cp.write_row((qid, it.item_id, it.position, it.case_id, it.arm))
        with cur.copy(
            "COPY rq_slots (queue_id, item_key, slot, position, case_id, arm, claimed_by,"
            " claimed_at, lease_until, done_label) FROM STDIN"
        ) as cp:
            for row in _slot_rows(state):
                cp.write_row(row)
        with cur.copy(
            "COPY rq_decisions (queue_id, reviewer, item_key, action, label) FROM STDIN"
        ) as cp:
            for st in state.items.values():
                for r, lb in [*st.done.items(), *st.declined.items()]:
                    cp.write_row((qid, r, st.item.item_id, lb.action, lb.model_dump_json()))
        with cur.copy("COPY rq_seen (queue_id, reviewer, case_id, arm) FROM STDIN") as cp:
            for r, cases in state.seen.items():
                for case, arms in cases.items():
                    for arm in sorted(arms):
                        cp.write_row((qid, r, case, arm))
        with cur.copy("COPY rq_last_label (queue_id, reviewer, label) FROM STDIN") as cp:
            for r in state.seen:
                last = state.last_label(r)
                if last is not None:
                    cp.write_row((qid, r, last.model_dump_json()))


def _slot_rows(state: QueueState) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    qid, k = state.queue.queue_id, state.queue.overlap
    for st in state.items.values():
        it = st.item
        taken: list[tuple[str, datetime | None, datetime | None, str | None]] = [
            (r, lb.submitted_at, None, lb.id) for r, lb in sorted(st.done.items())
        ]
        taken += [(r, c.at, c.lease_until, None) for r, c in sorted(st.claims.items())]
        # (More than k taken only if the records say so; kept, never cut, so the
        # rebuilt state equals the records'.)
        taken += [("", None, None, None)] * max(0, k - len(taken))
        for n, (r, at, lease, label) in enumerate(taken):
            rows.append(
                (qid, it.item_id, n, it.position, it.case_id, it.arm, r or None, at, lease, label)
            )
    return rows


def drop_queue(conn: psycopg.Connection, queue_id: str) -> None:
    """Delete a queue's live state (drafts are kept)."""
    for table in LIVE_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE queue_id = %s", (queue_id,))  # type: ignore[arg-type]  # our constant names


def rebuild(
    ws: Workspace, db: Database, queue_ids: list[str] | None = None, now: datetime | None = None
) -> list[str]:
    """Replace the live state of the given queues (default: every queue of the workspace)
    with the state their records give at ``now``; returns the queue ids rebuilt."""
    index = RecordIndex(ws)
    ids = queue_ids if queue_ids is not None else sorted(index.queues())
    now = now or utcnow()
    for qid in ids:
        state = state_from_records(index, qid, now)
        with db.transaction() as conn:
            conn.execute(sql.LOCK_QUEUE_LOAD, {"q": qid})
            drop_queue(conn, qid)
            load_queue(conn, state)
    return ids


def live_state(db: Database, queue_id: str, now: datetime) -> Snapshot:
    """The queue's state in PostgreSQL at ``now``, in comparable form."""
    out: Snapshot = {}
    with db.transaction() as conn:
        for item, in conn.execute(
            "SELECT item_key FROM rq_items WHERE queue_id = %s", (queue_id,)
        ).fetchall():
            out[item] = {"done": [], "claims": [], "declined": []}
        for item, r, lease, label in conn.execute(
            "SELECT item_key, claimed_by, lease_until, done_label FROM rq_slots"
            " WHERE queue_id = %s AND claimed_by IS NOT NULL",
            (queue_id,),
        ).fetchall():
            if label is not None:
                out[item]["done"].append(r)
            elif lease is not None and lease > now:
                out[item]["claims"].append(r)
        for item, r in conn.execute(
            "SELECT item_key, reviewer FROM rq_decisions WHERE queue_id = %s"
            " AND action <> 'submit'",
            (queue_id,),
        ).fetchall():
            out[item]["declined"].append(r)
    return {i: {k: sorted(v) for k, v in d.items()} for i, d in out.items()}


def records_state(ws: Workspace, queue_id: str, now: datetime) -> Snapshot:
    """The queue's state from its records at ``now``, in the same form."""
    state = state_from_records(RecordIndex(ws), queue_id, now)
    return {
        i: {
            "done": sorted(st.done),
            "claims": sorted(st.claims),
            "declined": sorted(st.declined),
        }
        for i, st in state.items.items()
    }
