"""The PostgreSQL tables of the review queues' live state, and a small connection pool.

PostgreSQL holds only what is live: the queues' slots (k per item: who holds or has
filled each, and the lease), each reviewer's effective decisions and the arms of the
cases they have been given, the last label per reviewer (for undo), the queue settings,
and drafts. Labels, claims, events and settings are still appended to the workspace's
records, which stay the audit trail: every table here can be rebuilt from them
(`labeling_app.queues.pg.rebuild`).

``rq_slots`` carries the overlap rule in its shape: an item has exactly k slot rows, a
claim takes one free row (``FOR UPDATE SKIP LOCKED``), so no item is ever held by more
than k reviewers; the index on (queue_id, claimed_by, item_key) answers "does this
reviewer already hold or fill a slot of this item" inside the same statement.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from labeling_app.queues.service import QueueError

SCHEMA = """
CREATE TABLE IF NOT EXISTS rq_queues (
    queue_id text PRIMARY KEY,
    overlap int NOT NULL,
    lease_s double precision NOT NULL,
    closed boolean NOT NULL DEFAULT false,
    show_verdicts boolean NOT NULL DEFAULT false,
    fingerprint text NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS rq_items (
    queue_id text NOT NULL,
    item_key text NOT NULL,
    position int NOT NULL,
    case_id text NOT NULL,
    arm text NOT NULL,
    PRIMARY KEY (queue_id, item_key)
);
CREATE TABLE IF NOT EXISTS rq_slots (
    queue_id text NOT NULL,
    item_key text NOT NULL,
    slot int NOT NULL,
    position int NOT NULL,
    case_id text NOT NULL,
    arm text NOT NULL,
    claimed_by text,
    claimed_at timestamptz,
    lease_until timestamptz,
    done_label text,
    PRIMARY KEY (queue_id, item_key, slot)
);
CREATE INDEX IF NOT EXISTS rq_slots_reviewer ON rq_slots (queue_id, claimed_by, item_key);
CREATE INDEX IF NOT EXISTS rq_slots_free ON rq_slots (queue_id, position, slot)
    WHERE done_label IS NULL;
CREATE TABLE IF NOT EXISTS rq_decisions (
    queue_id text NOT NULL,
    reviewer text NOT NULL,
    item_key text NOT NULL,
    action text NOT NULL,
    label jsonb NOT NULL,
    PRIMARY KEY (queue_id, reviewer, item_key)
);
CREATE TABLE IF NOT EXISTS rq_seen (
    queue_id text NOT NULL,
    reviewer text NOT NULL,
    case_id text NOT NULL,
    arm text NOT NULL,
    PRIMARY KEY (queue_id, reviewer, case_id, arm)
);
CREATE TABLE IF NOT EXISTS rq_last_label (
    queue_id text NOT NULL,
    reviewer text NOT NULL,
    label jsonb NOT NULL,
    PRIMARY KEY (queue_id, reviewer)
);
CREATE TABLE IF NOT EXISTS rq_drafts (
    workspace text NOT NULL,
    user_key text NOT NULL,
    item_id text NOT NULL,
    fields jsonb NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace, user_key, item_id)
);
CREATE TABLE IF NOT EXISTS rq_choices (
    workspace text NOT NULL,
    user_key text NOT NULL,
    queue_id text NOT NULL,
    PRIMARY KEY (workspace, user_key)
);
"""

LIVE_TABLES = ("rq_queues", "rq_items", "rq_slots", "rq_decisions", "rq_seen", "rq_last_label")
"""Tables rebuilt from the records (drafts are work in progress, not records)."""


class DatabaseUnavailable(QueueError):
    """The queue database cannot be reached (the message names host and port only)."""


class Database:
    """Connections to one PostgreSQL database (a pool shared by the process's threads)."""

    def __init__(self, url: str, size: int = 16) -> None:
        self.url = url
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._schema_ready = False
        self._guard = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A connection for one unit of work (returned to the pool after it)."""
        with self._slots:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                # Autocommit: every unit of work opens its own transaction block.
                try:
                    conn = psycopg.connect(self.url, connect_timeout=10, autocommit=True)
                except psycopg.OperationalError as exc:
                    where = self.url.rsplit("@", 1)[-1]  # never the password
                    first = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
                    raise DatabaseUnavailable(
                        f"the queue database {where} cannot be reached: {first}"
                    ) from None
            try:
                yield conn
            finally:
                if conn.closed or conn.broken:
                    conn.close()
                else:
                    self._idle.put(conn)

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A connection inside one transaction (committed when the block ends)."""
        self.ensure_schema()
        with self.connection() as conn, conn.transaction():
            yield conn

    def ensure_schema(self) -> None:
        """Create the tables once per process (idempotent; serialized across replicas)."""
        if self._schema_ready:
            return
        with self._guard:
            if self._schema_ready:
                return
            with self.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('evals-review-schema'))")
                conn.execute(SCHEMA)  # type: ignore[arg-type]  # constant DDL
            self._schema_ready = True

    def close(self) -> None:
        """Close the idle connections."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
