"""The SQL that reads segment files for the views: strict, and never fails on one record.

Why not DuckDB's ``read_json`` over JSONL: one line bigger than its maximum object size
(16 MB) failed every query of the workspace, and its JSON parser keeps the *first* of two
duplicate keys while orjson (the verifier) keeps the *last*, so a line rewritten as
``{"body": FORGED, ...original...}`` verified and showed FORGED in every view.

So the views read only bytes whose chain hash verifies: a JSONL line is read as text,
its envelope fields are taken from its canonical tail (``,"hash":…,"prev":…,["seal":…,]
"seq":…,"ts":…}`` — the writer sorts keys, so ``body`` comes first), and the body text
between is hashed exactly as the writer hashed it (evals.store.workspace.envelope_hash). A Parquet
body string is hashed the same way, unless the file is the one whose records verified
when it was written (a stamp of its sha256: parquet_source_sql). A record whose hash
does not match (edited, forged with a duplicate key, torn, not JSON) is left out of
every view with a warning naming file and line (``quarantine``); the verifier
(evals.store.audit) names it too. Lines longer than MAX_LINE_BYTES are skipped by the scan
itself (DuckDB gives no line number for them): the writer warns when it writes one, and
`evals audit verify` names them. See docs/audit.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:  # DuckDB is imported by what queries: not by every segment writer
    import duckdb

log = logging.getLogger("evals.store")

MAX_LINE_BYTES = 4 * 1024 * 1024
"""Longest JSONL line the views read (a trial's envelope; typical ones are 1-50 kB).
DuckDB's CSV scan holds buffers proportional to this, so it is not set higher."""

_ENV_SHAPE = (
    '{"hash": "VARCHAR", "prev": "VARCHAR", "seal": "BIGINT", "seq": "BIGINT", "ts": "VARCHAR"}'
)

_CANONICAL_TAIL = (
    "hash || '\",\"prev\":\"' || prev || '\",' || coalesce('\"seal\":' || seal || ',', '') "
    "|| '\"seq\":' || seq || ',\"ts\":\"' || ts || '\"}'"
)
"""The envelope after ``,"hash":"`` exactly as the writer writes it (orjson, sorted keys):
comparing with it rejects duplicate or extra envelope keys."""

_ACCEPT = (
    "sha256(prev || chr(10) || '{{\"body\":' || {text} || ',\"seq\":' || seq || "
    "',\"ts\":\"' || ts || '\"}}') = hash AND json_valid({text})"
)
"""The chain hash recomputed over the very bytes the views parse (see the docstring),
and valid JSON: bytes that hash right are the writer's unless someone recomputed the
hash over garbage, which must not fail every query (it costs ~5% of a JSONL scan)."""


_QUARANTINE = "quarantine(filename, seq, 'unreadable or tampered record')"
"""A rejected record's body: NULL (so every view, which reads only non-null bodies, leaves
it out, as it leaves out seals), with a warning. In the body expression rather than a
WHERE, so that a view's own `body IS NOT NULL` cannot drop the row before it warns."""


def jsonl_source_sql(files: list[str]) -> str:
    """SELECT seq, ts, prev, hash, body, seal, filename of the verified JSONL lines."""
    lines = (
        f"read_csv({files!r}, columns={{'line': 'VARCHAR'}}, delim='\\x01', quote='', "
        "escape='', header=false, auto_detect=false, ignore_errors=true, filename=true, "
        f"max_line_size={MAX_LINE_BYTES})"
    )
    # The last ',"hash":"' is the envelope's: the body comes first and is followed by it.
    split = (
        "SELECT filename, line, string_split(line, ',\"hash\":\"')[-1] AS tail "
        f"FROM {lines} WHERE line IS NOT NULL"
    )
    env = (
        "SELECT filename, line, tail, CASE WHEN json_valid('{\"hash\":\"' || tail) THEN "
        f"from_json('{{\"hash\":\"' || tail, '{_ENV_SHAPE}') END AS e FROM ({split})"
    )
    fields = (
        "SELECT filename, line, tail, e.seq AS seq, e.ts AS ts, e.prev AS prev, "
        f"e.hash AS hash, e.seal AS seal FROM ({env})"
    )
    text = (
        f"CASE WHEN tail = {_CANONICAL_TAIL} AND starts_with(line, '{{\"body\":') "
        "THEN substring(line, 9, length(line) - length(tail) - 17) END"
    )
    with_text = f"SELECT *, {text} AS body_text FROM ({fields})"
    accept = _ACCEPT.format(text="body_text")
    body = f"CASE WHEN {accept} THEN nullif(body_text, 'null') ELSE {_QUARANTINE} END"
    return f"SELECT seq, ts, prev, hash, {body} AS body, seal, filename FROM ({with_text})"


def parquet_source_sql(files: list[str]) -> str:
    """SELECT seq, ts, prev, hash, body, seal, filename of the verified Parquet rows.

    A Parquet segment is immutable: once its every record verified (at compaction, or by
    `evals audit verify`), the sha256 of the file is kept as a stamp, and while the file
    still hashes to it the rows are read without re-hashing each record (one sha256 of
    the compressed file, about 0.4 s per million trials, instead of one per record)."""
    fast = [f for f in files if is_stamped(Path(f))]
    slow = [f for f in files if f not in set(fast)]
    parts = []
    if fast:
        parts.append(
            "SELECT seq, ts, prev, hash, body, seal, filename "
            f"FROM read_parquet({fast!r}, filename=true)"
        )
    if slow:
        accept = _ACCEPT.format(text="coalesce(body, 'null')")
        parts.append(
            f"SELECT seq, ts, prev, hash, CASE WHEN {accept} THEN body ELSE {_QUARANTINE} "
            f"END AS body, seal, filename FROM read_parquet({slow!r}, filename=true)"
        )
    return " UNION ALL ".join(parts)


def _stamp_path(segment: Path) -> Path:
    # <ws>/records/<kind>/<seg>.parquet -> <ws>/cache/verified/<kind>/<seg>.json
    return segment.parents[2] / "cache" / "verified" / segment.parent.name / (
        segment.stem + ".json"
    )


_digests: dict[tuple[str, int, int, int, int], str] = {}
"""(path, inode, size, mtime, ctime) -> sha256 of the file: hashed once per process."""


def _stat_key(st: os.stat_result) -> list[int]:
    """What changes whenever a file's bytes do: any write sets the ctime (which no
    system call can set back), a replacement the inode."""
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _settled(st: os.stat_result) -> bool:
    # File times are coarse (a few ms): a rewrite right after a read could keep the same
    # stat, so only a file untouched for a while is trusted by its stat.
    return time.time() - max(st.st_mtime, st.st_ctime) > 2


def _file_digest(segment: Path, st: os.stat_result | None = None) -> str:
    st = segment.stat() if st is None else st
    key = (str(segment), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    digest = _digests.get(key)
    if digest is None:
        with open(segment, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        if _settled(st):
            _digests[key] = digest
    return digest


def stamp_verified(segment: Path, typed: str | None = None) -> None:
    """Record that a Parquet segment's every record verified (caller checked); `typed`:
    the version of its typed columns, which the caller checked agree with the bodies
    (evals.store.typed_columns)."""
    st = segment.stat()
    stamp: dict[str, Any] = {"sha256": _file_digest(segment, st)}
    if typed is not None:
        stamp["typed"] = typed
    if _settled(st):
        stamp["stat"] = _stat_key(st)
    _write_stamp(segment, stamp)


def _write_stamp(segment: Path, stamp: dict[str, Any]) -> None:
    path = _stamp_path(segment)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")  # threads too
    tmp.write_bytes(orjson.dumps(stamp))
    os.replace(tmp, path)


def unstamp(segment: Path) -> None:
    """Forget a segment's stamp (the verifier found it changed): the views re-hash it."""
    _stamp_path(segment).unlink(missing_ok=True)


def read_stamp(segment: Path) -> dict[str, str] | None:
    """A Parquet segment's stamp as written (None: none, or garbled); is_stamped checks
    that it still matches the file."""
    try:
        stamp = orjson.loads(_stamp_path(segment).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return stamp if isinstance(stamp, dict) else None


def is_stamped(segment: Path) -> bool:
    """Whether a Parquet segment's bytes are those whose records last verified.

    The stamp's stat (inode, size, mtime, ctime) answers without reading the file: every
    process used to hash every segment again (0.23 s for the 240 MB of a million
    trials, a quarter of `evals run`'s finished-key lookup). A stamp without a stat, or
    whose stat differs, is checked by hash, and gains the stat once the file settled."""
    stamp = read_stamp(segment)
    if stamp is None:
        return False
    try:
        st = segment.stat()
        if stamp.get("stat") == _stat_key(st):
            return True
        if stamp.get("sha256") != _file_digest(segment, st):
            return False
    except OSError:
        return False
    # Only onto the stamp just read (an audit may have removed it while this hashed).
    if _settled(st) and read_stamp(segment) == stamp:
        with contextlib.suppress(OSError):  # a read-only workspace: hashed next time too
            _write_stamp(segment, {**stamp, "stat": _stat_key(st)})
    return True


_warned: set[tuple[str, int | None]] = set()
_warned_lock = threading.Lock()


def quarantine(filename: str | None, seq: int | None, reason: str | None) -> None:
    """Warn once per process about a record the views leave out; its body is NULL.

    Called by DuckDB only for rejected rows (the ELSE of a CASE), so it costs nothing
    while the store is intact. A JSONL line whose envelope is unreadable has no seq: its
    line number is found by reading the file (rare), unless the file is large."""
    key = (str(filename), seq)
    with _warned_lock:
        if key in _warned:
            return None
        _warned.add(key)
    path = Path(str(filename))
    # The writer puts record seq on line seq (JSONL) and row seq (Parquet).
    where = f"{path}:{seq}" if seq is not None else _first_unreadable_line(path)
    if where is None:  # only an incomplete last line: not tampering
        log.warning("%s: incomplete last line skipped (being written, or its writer "
                    "crashed mid-write)", path)
        return None
    log.warning("%s: %s left out of every view (run `evals audit verify`)", where, reason)
    return None


_SCAN_LIMIT = 64 * 1024 * 1024
"""Largest segment read in Python just to name the line of an unreadable record."""


def _first_unreadable_line(path: Path) -> str | None:
    """`file:line` of the first unreadable line, None when only an incomplete last line
    is (or `file: a line` when the file is too large to look for it here)."""
    from evals.store.segment_read import read_segment

    try:
        if path.stat().st_size > _SCAN_LIMIT:
            return f"{path}: a line"
        for item in read_segment(path, warn=False):
            if isinstance(item, str):
                return item.split(": ", 1)[0]
    except OSError:  # compacted meanwhile: never fail the query that is warning
        return None
    return None


def register_quarantine(con: duckdb.DuckDBPyConnection) -> None:
    """Make `quarantine` callable from this connection's views."""
    import duckdb
    from duckdb.sqltypes import BIGINT, VARCHAR

    with contextlib.suppress(duckdb.CatalogException):  # already on this connection
        con.create_function(  # type: ignore[call-overload]  # duckdb's stubs lack this overload
            "quarantine",
            quarantine,
            [VARCHAR, BIGINT, VARCHAR],
            VARCHAR,
            null_handling="special",
            side_effects=True,
        )
