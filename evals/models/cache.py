"""The gateway's response cache: one SQLite file (WAL) shared by every process.

Keyed by a sha256 of the whole request (see `request_key`); values are the Completion's
JSON. SQLite in WAL mode lets many processes read while one writes, with a busy timeout
for writers, so concurrent runs on one workspace are safe. Writes are buffered and
committed in batches (at least once a second, at 256 entries, on `flush()`/`close()`
and at interpreter exit): one transaction per batch instead of per call keeps the CPU
per call low at hundreds of calls per second. A kill -9 loses at most the last second
of entries, which only means those calls are made again.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

_log = logging.getLogger(__name__)
_FLUSH_EVERY_S = 1.0
_FLUSH_AT = 256
_open_caches: weakref.WeakSet[ResponseCache] = weakref.WeakSet()


def request_key(spec_hash: str, request: dict[str, Any]) -> str:
    """sha256 of the model's identity and everything in the request that shapes the answer."""
    payload = orjson.dumps([spec_hash, request], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()


def _with_retries(step: Callable[[], object], attempts: int = 20) -> None:
    """Run one SQLite statement, retrying while another connection holds the lock."""
    for attempt in range(attempts):
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


class ResponseCache:
    """A process-safe persistent map from request keys to completion JSON."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "responses.sqlite"
        db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None, check_same_thread=False)
        # Two gateways opening one workspace's cache at the same moment (two runs at once)
        # race for the lock that switching to WAL needs, and SQLite answers that without
        # waiting on the busy timeout: retry the set-up a few times.
        _with_retries(lambda: db.execute("PRAGMA journal_mode=WAL"))
        _with_retries(lambda: db.execute("PRAGMA synchronous=NORMAL"))
        _with_retries(
            lambda: db.execute(
                "CREATE TABLE IF NOT EXISTS responses "
                "(key TEXT PRIMARY KEY, value BLOB NOT NULL, created REAL NOT NULL)"
            )
        )
        self._db: sqlite3.Connection | None = db
        self._pending: dict[str, bytes] = {}
        self._last_flush = time.monotonic()
        self._lock = threading.Lock()
        _open_caches.add(self)

    def get(self, key: str) -> bytes | None:
        """The stored value, or None."""
        pending = self._pending.get(key)
        if pending is not None:
            return pending
        with self._lock:
            if self._db is None:
                return None
            try:
                row = self._db.execute(
                    "SELECT value FROM responses WHERE key = ?", (key,)
                ).fetchone()
            except sqlite3.OperationalError as exc:  # a cache miss, not a failed call
                _log.warning("response cache %s not read (%s): calling the model", self.path, exc)
                return None
        return None if row is None else bytes(row[0])

    def put(self, key: str, value: bytes) -> None:
        """Store a value (committed with the next batch)."""
        self._pending[key] = value
        due = time.monotonic() - self._last_flush >= _FLUSH_EVERY_S
        if due or len(self._pending) >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Commit the buffered entries in one transaction."""
        with self._lock:
            self._last_flush = time.monotonic()
            if not self._pending or self._db is None:
                return
            rows = [(k, v, time.time()) for k, v in self._pending.items()]
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:  # kept pending: the next flush retries
                _log.warning("response cache %s busy (%s): writing later", self.path, exc)
                return
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO responses (key, value, created) VALUES (?, ?, ?)", rows
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._pending.clear()

    def __len__(self) -> int:
        self.flush()
        with self._lock:
            if self._db is None:
                return 0
            return int(self._db.execute("SELECT count(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        """Flush and close the file."""
        if self._db is None:
            return
        self.flush()
        with self._lock:
            if self._db is not None:
                self._db.close()
            self._db = None


@atexit.register
def _flush_all() -> None:
    for cache in list(_open_caches):
        with contextlib.suppress(sqlite3.Error):
            cache.close()
