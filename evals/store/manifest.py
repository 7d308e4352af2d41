"""The workspace manifest: which segments exist, and how far each one reached.

A segment's own hash chain shows edits, reorderings and deletions *inside* it, but not a
record cut from its end, a whole file removed, or a chain recomputed after an edit. So:

- each segment has a head file, ``records/<kind>/<segment>.head``: the seq and hash of
  its last record, rewritten in place (one fixed-size write) after every append;
- ``manifest.jsonl`` at the workspace root is a hash chain (same envelope and hash as
  the records) of entries: ``open`` when a writer creates a segment, ``seal`` with its
  final count and head when it closes, and ``checkpoint`` with every segment's count and
  head when `evals audit head` runs. Entries are appended under the ``manifest`` lock.

`evals audit head` prints ``<seq>:<hash>`` of the checkpoint it appended: kept outside
the workspace, it pins history, because `evals audit verify --pin` then requires that
entry, and everything it commits to, to still be there. See docs/audit.md for exactly
what is and is not detected.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from evals.schema import utcnow

MANIFEST = "manifest.jsonl"
HEAD_SUFFIX = ".head"
_HEAD_FORMAT = "{seq:020d} {hash}\n"
"""Fixed width (86 bytes), so each update is one in-place write of the same size."""


def segment_name(path: Path) -> str:
    """``<kind>/<segment id>``: a segment whether JSONL or compacted."""
    return f"{path.parent.name}/{path.stem}"


def head_path(segment: Path) -> Path:
    """The head file of a segment (either suffix)."""
    return segment.with_suffix(HEAD_SUFFIX)


def open_head(segment: Path) -> int:
    """Create a segment's head file (count 0) and return a descriptor for updates."""
    from evals.store.segment_read import GENESIS

    fd = os.open(head_path(segment), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    write_head(fd, 0, GENESIS)
    return fd


def write_head(fd: int, seq: int, digest: str) -> None:
    """Record the segment's last seq and hash (overwrites the previous head)."""
    os.pwrite(fd, _HEAD_FORMAT.format(seq=seq, hash=digest).encode(), 0)


def read_head(segment: Path) -> tuple[int, str] | None:
    """(seq, hash) from a segment's head file, None when it has none or it is garbled."""
    try:
        seq, digest = head_path(segment).read_text().split()
        return int(seq), digest
    except (OSError, ValueError):
        return None


def _last_line(path: Path) -> bytes | None:
    """The last complete line of a file, reading backwards (entries can be large)."""
    with open(path, "rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        chunk, data = 4096, b""
        while True:
            start = max(0, end - chunk)
            fh.seek(start)
            data = fh.read(end - start)
            body = data[: data.rfind(b"\n")] if data.endswith(b"\n") else data
            cut = body.rfind(b"\n")
            if cut >= 0 or start == 0:
                line = body[cut + 1 :]
                return line or None
            chunk *= 4


def _drop_torn_tail(path: Path) -> None:
    """Cut the partial last line a writer killed mid-append left (under the lock, so no
    one is writing it): otherwise the next entry would be glued onto it."""
    with open(path, "rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        if end == 0:
            return
        fh.seek(end - 1)
        if fh.read(1) == b"\n":
            return
    data = path.read_bytes()
    os.truncate(path, data.rfind(b"\n") + 1)


def append_entry(root: Path, entry: dict[str, Any]) -> tuple[int, str]:
    """Append one chained entry to the manifest (caller holds the manifest lock);
    returns its (seq, hash)."""
    from evals.store.segment_read import GENESIS, envelope_hash

    path = root / MANIFEST
    seq, prev = 0, GENESIS
    if path.exists():
        _drop_torn_tail(path)
        last = _last_line(path)
        if last is not None:
            env = orjson.loads(last)
            seq, prev = int(env["seq"]), str(env["hash"])
    seq += 1
    ts = utcnow().isoformat()
    digest = envelope_hash(prev, seq, ts, entry)
    line = orjson.dumps(
        {"seq": seq, "ts": ts, "prev": prev, "hash": digest, "body": entry},
        option=orjson.OPT_SORT_KEYS,
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return seq, digest


def record(root: Path, entry: dict[str, Any]) -> tuple[int, str]:
    """Append an entry under the workspace's manifest lock."""
    import fcntl

    lock = root / "locks" / "manifest.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return append_entry(root, entry)
    finally:
        os.close(fd)  # closing releases the flock


def entries(root: Path) -> Iterator[Any]:
    """The manifest's envelopes and problem strings, as workspace.read_segment yields."""
    from evals.store.segment_read import read_segment

    path = root / MANIFEST
    if path.exists():
        yield from read_segment(path, warn=False)


def current_head(segment: Path) -> tuple[int, str, bool]:
    """(last seq, its hash, sealed) of a segment as stored now, for a checkpoint."""
    from evals.store.segment_read import GENESIS, Envelope, read_segment

    if segment.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(segment, columns=["seq", "hash", "seal"])
        if table.num_rows == 0:
            return 0, GENESIS, False
        last = table.slice(table.num_rows - 1).to_pylist()[0]
        return int(last["seq"]), str(last["hash"]), last["seal"] is not None
    line = _last_line(segment)
    if line is not None:
        try:
            env = orjson.loads(line)
            return int(env["seq"]), str(env["hash"]), env.get("seal") is not None
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            pass  # torn last line: take the last readable record
    seq, digest, sealed = 0, GENESIS, False
    for env in read_segment(segment, warn=False):
        if isinstance(env, Envelope):
            seq, digest, sealed = env.seq, env.hash, env.seal is not None
    return seq, digest, sealed


def checkpoint(root: Path, segments: list[Path]) -> str:
    """Append a checkpoint of every segment's head; returns the pin ``<seq>:<hash>``."""
    heads = {}
    for seg in segments:
        seq, digest, sealed = current_head(seg)
        heads[segment_name(seg)] = {"seq": seq, "head": digest, "sealed": sealed}
    seq, digest = record(root, {"op": "checkpoint", "segments": heads})
    return f"{seq}:{digest}"
