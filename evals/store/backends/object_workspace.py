"""A workspace on an object store (``s3://bucket/prefix``): evals.store.workspace.Workspace with
its records, manifest and locks as objects (layout: evals.store.backends.object_segments).

``Workspace("s3://...")`` returns one of these, so every command that takes ``-w`` works
on it. What is per machine stays in a local scratch folder, ``ws.root``
(evals.store.backends.url.scratch_dir): the model gateway's response cache. Locks are leases
(evals.store.backends.leases) renewed in the background and expiring when their holder dies.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from evals.schema import utcnow
from evals.store.backends.base import ObjectStore, StorageError
from evals.store.backends.leases import DEFAULT_TTL_S, Leases, new_owner
from evals.store.backends.object_claims import ObjectKeyClaims
from evals.store.backends.object_segments import (
    PART_DIGITS,
    ObjectManifest,
    SegmentRef,
    envelope_row,
    list_segments,
    parquet_bytes,
    read_segment_ref,
)
from evals.store.backends.url import object_url, scratch_dir
from evals.store.segment_read import GENESIS, Envelope
from evals.store.workspace import (
    LAYOUT_VERSION,
    OBJECT_POINTER,
    LockBusy,
    SegmentWriter,
    StoreError,
    Workspace,
    new_segment_id,
)

log = logging.getLogger("evals.store")


def open_store(url: str) -> ObjectStore:
    """The object store a workspace URL names."""
    from evals.store.backends.s3 import S3ObjectStore

    return S3ObjectStore(url)


class ObjectSegmentWriter(SegmentWriter):
    """Appends records of one kind as Parquet parts of this process's own segment."""

    remote = True
    """Each append is a network round trip (the runner's lanes call it in a thread)."""

    def __init__(self, ws: ObjectWorkspace, kind: str, durable: bool = False) -> None:
        # Not SegmentWriter.__init__: that opens local files.
        self.ws, self.kind, self.store = ws, kind, ws.store
        self.durable = durable  # every append is durable here; kept for the interface
        self.seq, self.prev, self.closed = 0, GENESIS, False
        self._lock = threading.Lock()
        self._rename()

    def _rename(self) -> None:
        self.segment = new_segment_id()
        self.path = Path(f"{self.store.url}/records/{self.kind}/{self.segment}")
        self.ws.manifest.append({"op": "open", "segment": f"{self.kind}/{self.segment}"})

    def _part_key(self, first: int) -> str:
        return f"records/{self.kind}/{self.segment}/{first:0{PART_DIGITS}d}.parquet"

    def _write(self, bodies: list[Any], seal: bool = False) -> list[str]:
        """Chain the records and write them as one new part; the writer's state moves on
        only once the part exists (a failed put leaves the chain where it was)."""
        rows: list[dict[str, Any]] = []
        prev = self.prev
        for body in bodies:
            rows.append(envelope_row(prev, self.seq + len(rows) + 1, body))
            prev = rows[-1]["hash"]
        if seal:
            rows.append(envelope_row(prev, self.seq + len(rows) + 1, None, self.seq))
        data = parquet_bytes(rows)
        while not self.store.put_new(self._part_key(self.seq + 1), data):
            if self.seq > 0:
                raise StoreError(f"{self.path}: part {self._part_key(self.seq + 1)} exists "
                                 "already: another writer wrote into this segment")
            log.warning("%s: name taken on the store (412): writing to a new segment",
                        self.path)
            self._rename()
        self.seq += len(rows)
        self.prev = rows[-1]["hash"]
        return [str(r["hash"]) for r in rows]

    def append_many(self, bodies: list[Any]) -> list[str]:
        """Write several records as one new object; returns their chain hashes."""
        with self._lock:
            if self.closed:
                raise StoreError(f"segment {self.path} is closed")
            return self._write(bodies) if bodies else []

    def close(self, compact: bool = True) -> Path:
        """Seal the segment (a last part) and by default compact its parts."""
        with self._lock:
            if self.closed:
                return self.path
            self._write([], seal=True)
            self.closed = True
            self.ws.manifest.append({"op": "seal", "segment": f"{self.kind}/{self.segment}",
                                     "seq": self.seq, "head": self.prev})
        if compact:
            return compact_segment(self.store, self.kind, self.segment)
        return self.path


def compact_segment(store: ObjectStore, kind: str, segment: str) -> Path:
    """Concatenate a sealed segment's parts into ``<segment>.parquet`` (put-if-absent),
    then delete the parts. A clash leaves the parts as they are, with a warning."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from evals.store.backends.object_segments import arrow_schema

    parts = [o.key for o in store.list(f"records/{kind}/{segment}/")]
    with ThreadPoolExecutor(8) as pool:  # round trips: several at once
        blobs = list(pool.map(store.get, parts))
    tables = []
    for key, data in zip(parts, blobs, strict=True):
        if data is None:
            raise StorageError(f"{store.url}/{key}: part vanished while compacting")
        tables.append(pq.read_table(io.BytesIO(data)).cast(arrow_schema()))
    out = io.BytesIO()
    pq.write_table(pa.concat_tables(tables), out, row_group_size=5000)
    target = f"records/{kind}/{segment}.parquet"
    if not store.put_new(target, out.getvalue()):
        log.warning("%s/%s exists already: segment left uncompacted", store.url, target)
        return Path(f"{store.url}/records/{kind}/{segment}")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(store.delete, parts))
    return Path(f"{store.url}/{target}")


def _pointed_url(folder: Path) -> str:
    """The URL a scratch folder's pointer names."""
    try:
        url = orjson.loads((folder / OBJECT_POINTER).read_bytes())["url"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise StoreError(f"{folder / OBJECT_POINTER}: unreadable ({exc})") from None
    found = object_url(str(url))
    if found is None:
        raise StoreError(f"{folder / OBJECT_POINTER}: url: not an object-store URL")
    return found


def _write_pointer(folder: Path, url: str) -> None:
    """Mark the scratch folder as this workspace's (evals.store.workspace.Workspace opens the URL
    when given the folder: code that passes `ws.root` along keeps working)."""
    pointer = folder / OBJECT_POINTER
    if pointer.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    tmp = pointer.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")  # threads too
    tmp.write_bytes(orjson.dumps({"url": url}))
    os.replace(tmp, pointer)


class ObjectWorkspace(Workspace):
    """A workspace whose records live on an object store (see the module docstring)."""

    remote = True

    def __init__(self, root: str | Path, create: bool = True,
                 lease_ttl: float = DEFAULT_TTL_S) -> None:
        url = object_url(root) or _pointed_url(Path(root))
        self.url = url
        try:
            self.store = open_store(url)
        except StorageError as exc:
            raise StoreError(str(exc)) from None
        self.root = scratch_dir(url)
        _write_pointer(self.root, url)
        self.manifest = ObjectManifest(self.store)
        self.leases = Leases(self.store, lease_ttl)
        self.owner = new_owner()
        self._writers: dict[str, SegmentWriter] = {}
        self._lock = threading.Lock()
        self.unreadable: set[str] = set()
        """Objects the views leave out (not Parquet: evals.store.backends.object_views)."""
        try:
            self._open_meta(create)
        except StorageError as exc:
            raise StoreError(str(exc)) from None

    def _open_meta(self, create: bool) -> None:
        if self.store.get("workspace.json") is not None:
            return
        if not create:
            raise StoreError(f"{self.url}: not a workspace (no workspace.json)")
        meta = {"layout": LAYOUT_VERSION, "created_at": utcnow().isoformat()}
        self.store.put_new("workspace.json", orjson.dumps(meta))  # a clash: created meanwhile

    def __str__(self) -> str:
        return self.url

    # ---------------------------------------------------------------- writing

    def records_dir(self, kind: str) -> Path:
        """Where a kind's segments are (for messages)."""
        return Path(f"{self.url}/records/{kind}")

    def writer(self, kind: str, durable: bool = False) -> SegmentWriter:
        """This process's segment writer for a kind (created on first use)."""
        with self._lock:
            w = self._writers.get(kind)
            if w is None or w.closed:
                w = ObjectSegmentWriter(self, kind, durable=durable)
                self._writers[kind] = w
            return w

    def key_claims(self, run_id: str, journal_at: int = 0) -> ObjectKeyClaims:  # type: ignore[override]
        """Trial-key leases on the store (evals.store.backends.object_claims)."""
        return ObjectKeyClaims(self.store, run_id, self.leases.ttl)

    @contextmanager
    def lock(self, name: str, mode: int | None = None) -> Iterator[None]:
        """A lease every machine sees: exclusive by default, shared with
        ``fcntl.LOCK_SH`` (blocks until granted)."""
        import fcntl

        if mode is not None and mode & fcntl.LOCK_SH:
            chain = self.leases.acquire_shared(name, self.owner)
        else:
            self.leases.acquire_exclusive(name, self.owner)
            chain = name
        try:
            yield
        finally:
            self.leases.release(chain)

    @contextmanager
    def try_lock(self, name: str) -> Iterator[None]:
        """The exclusive lease `name`, or LockBusy at once when another holder's is live."""
        if not self.leases.try_acquire(name, self.owner):
            busy = LockBusy(Path(f"{self.url}/leases/{name}"))
            busy.args = (f"lease {self.url}/leases/{name} is {self.leases.describe(name)}",)
            raise busy
        try:
            yield
        finally:
            self.leases.release(name)

    def checkpoint(self) -> str:
        """Append a checkpoint of every segment's head; returns the pin ``<seq>:<hash>``."""
        heads = {}
        for ref in self.segment_refs():
            seq, digest, sealed = 0, GENESIS, False
            for env in read_segment_ref(self.store, ref):
                if isinstance(env, Envelope):
                    seq, digest, sealed = env.seq, env.hash, env.seal is not None
            heads[ref.name] = {"seq": seq, "head": digest, "sealed": sealed}
        seq, digest = self.manifest.append({"op": "checkpoint", "segments": heads})
        return f"{seq}:{digest}"

    # ---------------------------------------------------------------- reading

    def segment_refs(self, kind: str | None = None) -> list[SegmentRef]:
        """Segments as listed now (compacted ones by their object)."""
        return list_segments(self.store, kind)

    def kinds(self) -> list[str]:
        """Record kinds present."""
        return sorted({ref.kind for ref in self.segment_refs()})

    def segments(self, kind: str | None = None) -> list[Path]:
        """A path per segment, for messages and counts (compacted ones end .parquet)."""
        return [Path(f"{self.url}/{ref.compacted}") if ref.compacted
                else Path(f"{self.url}/records/{ref.name}") for ref in self.segment_refs(kind)]

    def iter_bodies(self, kind: str) -> Iterator[Any]:
        """Every verified record body of a kind, in chain order."""
        for ref in self.segment_refs(kind):
            try:
                items = list(read_segment_ref(self.store, ref))
            except FileNotFoundError:  # compacted meanwhile: read the compacted object
                ref = SegmentRef(ref.kind, ref.segment, f"records/{ref.name}.parquet")
                items = list(read_segment_ref(self.store, ref))
            for env in items:
                if isinstance(env, str):
                    log.warning("%s; left out", env)
                elif env.body is not None:
                    if env.verifies():
                        yield env.body
                    else:
                        log.warning("%s:%d: unreadable or tampered record left out (run "
                                    "`evals audit verify`)", env.file, env.line)
