"""Segments and the manifest on an object store: every write is a new object.

Layout under the workspace URL (compare evals.store's docstring for the local one)::

    workspace.json                               layout version (created put-if-absent)
    records/<kind>/<segment>/<first seq>.parquet a part: records appended by one call
    records/<kind>/<segment>.parquet             the sealed segment, compacted
    manifest/<seq>.json                          one chained manifest entry per object
    leases/<name>/<generation>.json              locks (evals.store.backends.leases)
    keys-done/<digest>                           finished trial keys (object_claims)

A segment is a hash chain as on disk (same envelope, same hashes), cut into parts: an
object cannot be appended to, so each append_many call writes its records as one new
Parquet object, before returning (a record is durable once appended, as the runner's
exactly-once journal requires). The chain runs across parts: the first record of a part
names the last of the previous one. Sealing writes a last part with the seal; compaction
concatenates the parts into ``<segment>.parquet`` and then deletes them, and readers
prefer that object to the parts. A put that finds its name taken (412) never replaces
the object: the first part then goes to a new segment name, and any later one is an
error (someone else wrote inside this writer's segment).
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel

from evals.schema import canonical_json, utcnow
from evals.store.backends.base import ObjectStore
from evals.store.segment_read import GENESIS, Envelope, envelope_hash

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger("evals.store")

PART_DIGITS = 12


def arrow_schema() -> pa.Schema:
    """The Parquet columns of a segment (as local compaction writes them)."""
    import pyarrow as pa

    return pa.schema([("seq", pa.int64()), ("ts", pa.string()), ("prev", pa.string()),
                      ("hash", pa.string()), ("body", pa.string()), ("seal", pa.int64())])


def parquet_bytes(rows: list[dict[str, Any]]) -> bytes:
    """Rows of envelope columns as one Parquet object."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=arrow_schema())
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


@dataclass
class SegmentRef:
    """A segment as listed: its compacted object, or its parts."""

    kind: str
    segment: str
    compacted: str | None = None
    """Key of ``<segment>.parquet`` when compacted."""
    parts: list[str] = field(default_factory=list)
    """Keys of the parts, in chain order (when not compacted)."""

    @property
    def name(self) -> str:
        """``<kind>/<segment>`` as the manifest names it."""
        return f"{self.kind}/{self.segment}"

    @property
    def keys(self) -> list[str]:
        """The objects holding its records."""
        return [self.compacted] if self.compacted else self.parts


def list_segments(store: ObjectStore, kind: str | None = None) -> list[SegmentRef]:
    """Every segment (of one kind, or all), compacted ones by their single object."""
    refs: dict[tuple[str, str], SegmentRef] = {}
    for obj in store.list(f"records/{kind}/" if kind else "records/"):
        parts = obj.key.split("/")
        if not obj.key.endswith(".parquet") or len(parts) not in (3, 4):
            continue
        seg = parts[2].removesuffix(".parquet")
        ref = refs.setdefault((parts[1], seg), SegmentRef(parts[1], seg))
        if len(parts) == 3:
            ref.compacted = obj.key
        else:
            ref.parts.append(obj.key)
    for ref in refs.values():
        if ref.compacted:
            ref.parts = []
    return [refs[k] for k in sorted(refs)]


def get_many(store: ObjectStore, keys: list[str]) -> Iterator[tuple[str, bytes | None]]:
    """(key, bytes) of several objects in order, fetched a window at a time in parallel
    (each is a round trip; memory holds one window)."""
    if len(keys) <= 1:
        yield from ((k, store.get(k)) for k in keys)
        return
    with ThreadPoolExecutor(8) as pool:
        for start in range(0, len(keys), _WINDOW):
            window = keys[start : start + _WINDOW]
            yield from zip(window, pool.map(store.get, window), strict=True)


_WINDOW = 64
"""Objects fetched ahead by get_many."""


def read_object(store: ObjectStore, key: str, label: Path, first_line: int,
                data: bytes | None = None) -> Iterator[Envelope | str]:
    """The envelopes of one Parquet object (FileNotFoundError when it is gone: compacted
    meanwhile, the caller lists again). `data`: its bytes when fetched already."""
    import pyarrow.parquet as pq

    if data is None:
        data = store.get(key)
    if data is None:
        raise FileNotFoundError(key)
    try:
        rows = pq.read_table(io.BytesIO(data)).to_pylist()
    except Exception as exc:  # a corrupt object: report it, never crash the reader
        yield f"{label}: unreadable Parquet segment ({type(exc).__name__}: {exc})"
        return
    for i, row in enumerate(rows, start=first_line):
        text = row.get("body")
        try:
            body = orjson.loads(text) if text is not None else None
            env = Envelope(label, i, row["seq"], row["ts"], row["prev"], row["hash"], body,
                           row["seal"], raw=None if text is None else text.encode())
        except (orjson.JSONDecodeError, KeyError, TypeError):
            yield f"{label}:{i}: unreadable record (not an envelope, or body is not JSON)"
            continue
        yield env


def read_segment_ref(store: ObjectStore, ref: SegmentRef) -> Iterator[Envelope | str]:
    """A segment's envelopes in chain order, across its parts."""
    line = 1
    for key, data in get_many(store, ref.keys):
        if data is None:
            raise FileNotFoundError(key)
        for item in read_object(store, key, Path(f"{store.url}/{key}"), line, data):
            line += 1
            yield item


class ObjectManifest:
    """The manifest as one object per entry (``manifest/<seq>.json``), chained as the
    local manifest.jsonl; appended without a lock: the next seq is created put-if-absent,
    and a writer that loses the race reads the new last entry and tries the next one."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._last: tuple[int, str] = (0, GENESIS)
        self._guard = threading.Lock()

    @staticmethod
    def key(seq: int) -> str:
        """The object of entry `seq`."""
        return f"manifest/{seq:0{PART_DIGITS}d}.json"

    def _refresh(self) -> tuple[int, str]:
        seq, digest = self._last
        after = self.key(seq) if seq else ""
        newer = [o for o in self.store.list("manifest/", start_after=after)
                 if o.key.endswith(".json")]
        for obj in reversed(newer):
            data = self.store.get(obj.key)
            if data is not None:
                env = orjson.loads(data)
                return int(env["seq"]), str(env["hash"])
        return seq, digest

    def append(self, entry: dict[str, Any]) -> tuple[int, str]:
        """Append one chained entry; returns its (seq, hash)."""
        with self._guard:
            while True:
                seq, prev = self._refresh()
                ts = utcnow().isoformat()
                digest = envelope_hash(prev, seq + 1, ts, entry)
                line = orjson.dumps({"seq": seq + 1, "ts": ts, "prev": prev, "hash": digest,
                                     "body": entry}, option=orjson.OPT_SORT_KEYS)
                if self.store.put_new(self.key(seq + 1), line):
                    self._last = (seq + 1, digest)
                    return self._last
                self._last = (seq, prev)  # another writer took seq + 1: read it next

    def exists(self) -> bool:
        """Whether any entry exists."""
        return bool(self.store.list("manifest/"))

    def entries(self) -> Iterator[Envelope | str]:
        """Every entry in order, as evals.store.manifest.entries yields them."""
        keys = [o.key for o in self.store.list("manifest/")]
        for key, data in get_many(self.store, keys):
            label = Path(f"{self.store.url}/{key}")
            if data is None:
                yield f"{label}: entry deleted while reading"
                continue
            try:
                env = orjson.loads(data)
                yield Envelope(label, int(env["seq"]), env["seq"], env["ts"], env["prev"],
                               env["hash"], env["body"], env.get("seal"), raw=data)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                yield f"{label}: unreadable manifest entry"


def envelope_row(prev: str, seq: int, body: Any, seal: int | None = None) -> dict[str, Any]:
    """One record's Parquet row (body as its canonical JSON text)."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    ts = utcnow().isoformat()
    return {"seq": seq, "ts": ts, "prev": prev, "hash": envelope_hash(prev, seq, ts, body),
            "body": None if body is None else canonical_json(body).decode(), "seal": seal}
