"""Reading segment files: the envelope hash, and each stored record with its bytes.

Split from evals.store.workspace (which re-exports all of it) to keep modules small; the writer is
there, the readers (views aside: evals.store.record_sql) use this.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from evals.schema import canonical_json

log = logging.getLogger("evals.store")

GENESIS = "0" * 64


def envelope_hash(prev: str, seq: int, ts: str, body: Any) -> str:
    """The chain hash of one record."""
    payload = canonical_json({"seq": seq, "ts": ts, "body": body})
    return hashlib.sha256(prev.encode() + b"\n" + payload).hexdigest()


@dataclass
class Envelope:
    """A record as stored, with where it was found."""

    file: Path
    line: int
    seq: int
    ts: str
    prev: str
    hash: str
    body: Any
    seal: int | None = None
    raw: bytes | None = None
    """The bytes as stored: the whole line (JSONL) or the body string (Parquet)."""

    @property
    def size(self) -> int:
        """Bytes of the stored line (JSONL) or body (Parquet)."""
        return len(self.raw or b"")

    @property
    def canonical(self) -> bool:
        """The stored bytes are exactly what the writer writes for this envelope (sorted
        keys, no duplicate or extra key, no re-encoding): a duplicate key is how a record
        can show one value to a parser that keeps the first and another to one that
        keeps the last. Computed on demand: only the verifier and compaction ask."""
        if self.file.suffix == ".parquet":
            return self.raw is None or canonical_json(self.body) == self.raw
        return self._rebuilt() == self.raw

    def _rebuilt(self) -> bytes:
        env: dict[str, Any] = {"seq": self.seq, "ts": self.ts, "prev": self.prev,
                               "hash": self.hash, "body": self.body}
        if self.seal is not None:
            env["seal"] = self.seal
        return orjson.dumps(env, option=orjson.OPT_SORT_KEYS)

    def verifies(self) -> bool:
        """Whether the record is as written: canonical, and its own hash matches."""
        if not self.canonical:
            return False
        if (self.file.suffix == ".parquet" or self.raw is None
                or not isinstance(self.seq, int) or not isinstance(self.ts, str)):
            return envelope_hash(self.prev, self.seq, self.ts, self.body) == self.hash
        # Canonical: the body's bytes in the line are its canonical JSON; hash them as
        # they are rather than serialising the body again.
        body = self.raw[8 : self.raw.rfind(b',"hash":"')]
        payload = b'{"body":' + body + b',"seq":%d,"ts":' % self.seq + orjson.dumps(self.ts)
        digest = hashlib.sha256(self.prev.encode() + b"\n" + payload + b"}").hexdigest()
        return digest == self.hash


def read_segment(path: Path, warn: bool = True) -> Iterator[Envelope | str]:
    """Yield the envelopes of a segment in order; a problem line yields a string
    describing it ("torn" lines at the end of a JSONL file are skipped with a warning).
    A JSONL segment is read line by line, so memory does not grow with its size."""
    if path.suffix == ".parquet":
        yield from _read_parquet_segment(path)
        return
    with open(path, "rb") as fh:
        for i, line in enumerate(fh, start=1):
            complete = line.endswith(b"\n")
            raw = line[:-1] if complete else line
            if not raw:
                continue
            try:
                env = orjson.loads(raw)
                yield Envelope(
                    path,
                    i,
                    env["seq"],
                    env["ts"],
                    env["prev"],
                    env["hash"],
                    env["body"],
                    env.get("seal"),
                    raw=raw,
                )
            except (orjson.JSONDecodeError, KeyError, TypeError):
                if not complete:  # no trailing newline: the write was cut by a crash
                    if warn:
                        log.warning(
                            "%s:%d: torn last line skipped (writer crashed mid-write)", path, i
                        )
                    continue
                yield f"{path}:{i}: unreadable record (not a complete JSON envelope)"


def _read_parquet_segment(path: Path) -> Iterator[Envelope | str]:
    import pyarrow.parquet as pq

    try:
        # The envelope only: a compacted trial or verdict also holds typed columns.
        table = pq.read_table(path, columns=["seq", "ts", "prev", "hash", "body", "seal"])
    except Exception as exc:  # corrupt file: report it, never crash the reader
        yield f"{path}: unreadable Parquet segment ({type(exc).__name__}: {exc})"
        return
    for i, row in enumerate(table.to_pylist(), start=1):
        text = row["body"]
        try:
            body = orjson.loads(text) if text is not None else None
        except orjson.JSONDecodeError:
            yield f"{path}:{i}: unreadable record (body is not JSON)"
            continue
        yield Envelope(path, i, row["seq"], row["ts"], row["prev"], row["hash"], body,
                       row["seal"], raw=None if text is None else text.encode())
