"""The workspace store: append-only record files, queried through DuckDB.

Why files and not one DuckDB database: DuckDB lets one process hold a database file for
writing, and a second process cannot even open it read-only meanwhile. The CLI runner,
the labeling app and a report must run at the same time, so every writer process appends
to its own segment files and readers query all segments through an in-memory DuckDB.

Layout (stable; auditors and other tools read it)::

    <workspace>/
      workspace.json                      layout version, creation time
      records/<kind>/<segment>.jsonl      a segment being written (one per writer process)
      records/<kind>/<segment>.parquet    a finished segment, compacted
      records/<kind>/<segment>.head       seq and hash of its last record (evals.store.manifest)
      manifest.jsonl                      chained open/seal/checkpoint entries (same)
      locks/<name>.lock                   advisory locks (review-queue claims, trial keys)
      cache/                              the model gateway's response cache; verified/
                                          stamps of Parquet segments (evals.store.record_sql)

Each line of a segment is an envelope ``{"seq", "ts", "prev", "hash", "body"}``. ``hash``
is sha256 over ``prev`` and the canonical JSON of seq, ts and body, so the records of a
segment form a chain: editing, reordering or deleting a record breaks it, and
`evals audit verify` names where. A writer that closes cleanly appends a seal
(``body`` null, ``seal`` = record count) and compacts the segment to Parquet, keeping the
envelope columns so the chain still verifies. Nothing is ever rewritten in place:
compaction writes a new file and removes the JSONL only after the Parquet is durable.

A kill -9 can leave a torn last line (no trailing newline); readers skip it with a
warning, and a new writer never appends to an old segment.
"""

from __future__ import annotations

import fcntl
import importlib
import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel

from evals.errors import StoreError
from evals.schema import utcnow
from evals.store import manifest
from evals.store.record_sql import MAX_LINE_BYTES
from evals.store.segment_read import (  # Envelope: re-exported for its readers
    GENESIS,
    Envelope,  # noqa: F401
    envelope_hash,
    read_segment,
)

if TYPE_CHECKING:
    from evals.store.backends.base import TrialKeyClaims

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1
OBJECT_POINTER = "object-store.json"
OBJECT_BACKEND = "evals.store.backends.object_workspace"
"""The module whose ``ObjectWorkspace`` opens ``s3://`` URLs: named, not imported, so
that boto3 and pyarrow's S3 load only for such workspaces and the subclass may import
this module without a cycle."""
"""In the local scratch folder of an object-store workspace: its URL
(evals.store.backends.object_workspace)."""


class LockBusy(StoreError):
    """A lock another process holds (Workspace.try_lock)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"lock {path} is held by another process")
        self.path = path


def new_segment_id() -> str:
    """Sortable, unique per writer: time, host, pid, random."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    host = socket.gethostname().replace("-", "")[:12] or "host"
    return f"{stamp}-{host}-{os.getpid()}-{secrets.token_hex(3)}"


class SegmentWriter:
    """Appends records of one kind to this process's own segment file."""

    def __init__(self, directory: Path, durable: bool = False) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.segment = new_segment_id()
        self.path = directory / f"{self.segment}.jsonl"
        self.durable = durable
        self.seq = 0
        self.prev = GENESIS
        self.closed = False
        self._lock = threading.Lock()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        # The head file and the manifest's `open` entry exist before any record does, so
        # a segment with records is always known to the manifest (evals.store.manifest).
        self._head_fd = manifest.open_head(self.path)
        self._root = directory.parent.parent
        manifest.record(self._root, {"op": "open", "segment": manifest.segment_name(self.path)})

    def append(self, body: Any) -> str:
        """Write one record; returns its chain hash. One write() per line, so a crash
        can tear at most the line being written."""
        return self.append_many([body])[0]

    def append_many(self, bodies: list[Any]) -> list[str]:
        """Write several records with one system call (and one fsync when durable)."""
        with self._lock:
            if self.closed:
                raise StoreError(f"segment {self.path} is closed")
            lines, hashes = [], []
            for body in bodies:
                lines.append(self._envelope(body, None))
                hashes.append(self.prev)
                if len(lines[-1]) > MAX_LINE_BYTES:  # written, but no view will read it
                    log.warning("%s:%d: record of %d bytes is over the views' read limit "
                                "(%d): they will leave it out", self.path, self.seq,
                                len(lines[-1]), MAX_LINE_BYTES)
            os.write(self._fd, b"".join(lines))
            manifest.write_head(self._head_fd, self.seq, self.prev)
            if self.durable:
                os.fsync(self._fd)
            return hashes

    def _envelope(self, body: Any, seal: int | None) -> bytes:
        if isinstance(body, BaseModel):
            body = body.model_dump(mode="json")
        self.seq += 1
        ts = utcnow().isoformat()
        digest = envelope_hash(self.prev, self.seq, ts, body)
        env: dict[str, Any] = {"seq": self.seq, "ts": ts, "prev": self.prev, "hash": digest}
        env["body"] = body
        if seal is not None:
            env["seal"] = seal
        self.prev = digest
        return orjson.dumps(env, option=orjson.OPT_SORT_KEYS) + b"\n"

    def close(self, compact: bool = True) -> Path:
        """Seal the segment and (by default) compact it to Parquet."""
        with self._lock:
            if self.closed:
                return self.path
            count = self.seq
            os.write(self._fd, self._envelope(None, count))
            os.fsync(self._fd)
            os.close(self._fd)
            manifest.write_head(self._head_fd, self.seq, self.prev)
            os.close(self._head_fd)
            self.closed = True
            entry = {"op": "seal", "segment": manifest.segment_name(self.path),
                     "seq": self.seq, "head": self.prev}
            manifest.record(self._root, entry)
        if compact:
            return compact_segment(self.path)
        return self.path


_COMPACT_BATCH = 1000
"""Envelopes per Parquet row group when compacting. DuckDB's Parquet writer holds a row
group (its bodies, as read and as compressed) until it writes it, so this bounds the
memory of a compaction: 5,000 held about 30 MB more than 1,000 at 10,000 trials
(issue 18: peak RSS of `evals run` flat in the number of cases)."""
def compact_segment(path: Path) -> Path:
    """Write a JSONL segment's envelopes to Parquet (tmp + rename), then remove the JSONL.

    The envelopes are read and checked here as every reader does (read_segment) and
    written with their canonical bodies as JSON text, one flat row per line of a
    temporary file (evals.store.compact_rows: tab-separated; JSON for a tampered
    envelope), which DuckDB streams
    into Parquet row groups of _COMPACT_BATCH envelopes: memory does not grow with the
    segment. Why DuckDB and not pyarrow's Parquet writer: DuckDB is already loaded by
    every command that compacts, while importing pyarrow.parquet and writing one file
    cost about 100 MB of RSS at the end of `evals run` (issue 18). The Parquet columns
    are as before (seq, ts, prev, hash, body as text, seal), and for trials and verdicts
    their typed columns, derived from the body text by the views' own SQL
    (evals.store.typed_columns)."""
    import duckdb

    from evals.store.compact_rows import rows_sql, write_rows
    from evals.store.typed_columns import FACT_VIEWS, derive_sql, typed_version

    typed = typed_version(path.parent.name) if path.parent.name in FACT_VIEWS else None
    target = path.with_suffix(".parquet")
    tmp = path.with_suffix(".parquet.tmp")
    rows = path.with_suffix(".rows.tmp")
    try:
        tsv = True
        written = write_rows(path, rows, tsv)
        if written is None:
            tsv, written = False, write_rows(path, rows, False)
        assert written is not None  # JSON rows take any envelope
        intact, longest = written
        con = duckdb.connect(":memory:")
        try:
            con.execute("SET threads = 1")  # keeps the rows in file order, memory lean
            select = rows_sql(rows, tsv, longest)
            into = f"TO '{str(tmp).replace(chr(39), chr(39) * 2)}' " + (
                f"(FORMAT parquet, ROW_GROUP_SIZE {_COMPACT_BATCH})"
            )
            try:
                if typed is None:
                    raise duckdb.Error("not a typed kind")
                # Typed columns, derived from the bodies just verified.
                con.execute(f"COPY ({derive_sql(path.parent.name, f'({select})')}) {into}")
            except duckdb.Error:  # e.g. a value the views could not cast: bodies only
                typed = None
                con.execute(f"COPY ({select}) {into}")
        finally:
            con.close()
    finally:
        rows.unlink(missing_ok=True)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    if intact:
        from evals.store.record_sql import stamp_verified

        stamp_verified(target, typed)
    path.unlink()
    return target


class Workspace:
    """A folder holding every record of a team's evaluations.

    ``Workspace("s3://bucket/prefix")`` opens one on an object store instead
    (evals.store.backends.object_workspace: same interface, records as objects)."""

    remote = False
    """Whether the records are on an object store (ObjectWorkspace)."""

    def __new__(cls, root: str | Path = "", create: bool = True) -> Workspace:
        # `root` has a default so that copy and pickle (which call __new__ bare) work.
        # An object-store URL, or the local scratch folder of one (OBJECT_POINTER in it:
        # code that hands `ws.root` to another process on this machine still opens it).
        if cls is Workspace and root and (str(root).startswith("s3:/")
                                          or (Path(root) / OBJECT_POINTER).exists()):
            backend = importlib.import_module(OBJECT_BACKEND)
            return super().__new__(backend.ObjectWorkspace)
        return super().__new__(cls)

    def __init__(self, root: str | Path, create: bool = True) -> None:
        self.root = Path(root)
        self.url = str(self.root)
        """Where the workspace is, for another process or machine to open it."""
        meta = self.root / "workspace.json"
        if not meta.exists():
            if not create:
                raise StoreError(f"{self.root}: not a workspace (no workspace.json)")
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = meta.with_suffix(".tmp")
            tmp.write_bytes(
                orjson.dumps({"layout": LAYOUT_VERSION, "created_at": utcnow().isoformat()})
            )
            os.replace(tmp, meta)
        self._writers: dict[str, SegmentWriter] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- writing

    def records_dir(self, kind: str) -> Path:
        """Folder of a record kind's segments."""
        return self.root / "records" / kind

    def writer(self, kind: str, durable: bool = False) -> SegmentWriter:
        """This process's segment writer for a kind (created on first use)."""
        with self._lock:
            w = self._writers.get(kind)
            if w is None or w.closed:
                w = SegmentWriter(self.records_dir(kind), durable=durable)
                self._writers[kind] = w
            return w

    def append(self, kind: str, record: Any, durable: bool = False) -> None:
        """Append one record (a pydantic model or JSON-able dict)."""
        self.writer(kind, durable).append(record)

    def close(self, compact: bool = True) -> list[Path]:
        """Seal and compact this process's segments (at the end of a run); returns them
        (each one's Parquet when compacted)."""
        with self._lock:
            writers, self._writers = list(self._writers.values()), {}
        return [w.close(compact=compact) for w in writers]

    def key_claims(self, run_id: str, journal_at: int = 0) -> TrialKeyClaims:
        """This run's trial-key claims (evals.store.key_claims)."""
        from evals.store.key_claims import KeyClaims

        return KeyClaims(self.root, run_id, journal_at)

    @contextmanager
    def lock(self, name: str, mode: int = fcntl.LOCK_EX) -> Iterator[None]:
        """An advisory lock shared by threads and processes on this machine (exclusive
        by default; `fcntl.LOCK_SH` for shared). The kernel releases it on kill -9."""
        fd = self._lock_fd(name)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextmanager
    def try_lock(self, name: str) -> Iterator[None]:
        """The exclusive lock `name`, or LockBusy at once when another process holds it."""
        fd = self._lock_fd(name)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockBusy(self.root / "locks" / f"{name}.lock") from None
            yield
        finally:
            os.close(fd)

    def _lock_fd(self, name: str) -> int:
        path = self.root / "locks" / f"{name}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    # ---------------------------------------------------------------- reading

    def kinds(self) -> list[str]:
        """Record kinds present."""
        base = self.root / "records"
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.exists() else []

    def segments(self, kind: str | None = None) -> list[Path]:
        """Segment files, preferring the Parquet of a segment being compacted."""
        kinds = [kind] if kind else self.kinds()
        found: dict[Path, Path] = {}
        for k in kinds:
            d = self.records_dir(k)
            if not d.exists():
                continue
            for p in sorted(d.iterdir()):
                if p.suffix in (".jsonl", ".parquet"):
                    stem = p.with_suffix("")
                    if p.suffix == ".parquet" or stem not in found:
                        found[stem] = p
        return sorted(found.values())

    def iter_bodies(self, kind: str) -> Iterator[Any]:
        """Every record body of a kind, in file order (torn lines skipped with a warning)."""
        for seg in self.segments(kind):
            try:
                items = list(read_segment(seg))
            except FileNotFoundError:  # compacted meanwhile: read the Parquet
                items = list(read_segment(seg.with_suffix(".parquet")))
            for env in items:
                if isinstance(env, str):
                    log.warning("%s; left out", env)
                    continue
                if env.body is None:
                    continue
                if not env.verifies():  # as the views do (evals.store.record_sql)
                    log.warning("%s:%d: unreadable or tampered record left out "
                                "(run `evals audit verify`)", env.file, env.line)
                    continue
                yield env.body
