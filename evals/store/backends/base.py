"""The storage seam under the workspace: what a backend must offer records and locks.

A workspace is selected by URL (evals.store.backends.url): a local folder (today's layout,
evals.store, unchanged) or ``s3://bucket/prefix`` on any S3-compatible server
(evals.store.backends.s3). Everything above the store (runner, judges, gates, reports, audit)
talks to evals.store.workspace.Workspace; the object-store backend implements its writing,
listing, locking and views through the small protocol here, so that a second object
store (GCS, Azure) means one new ObjectStore, not a second store.

Why only these five operations: they are what every S3-compatible server honours
(SeaweedFS and moto included, see ../shared/SCALEOUT.md). No object is ever rewritten:
segments, manifest entries and lease generations are each a new object, created with a
put that fails on a name clash (``IfNoneMatch="*"``), so the store stays append-only
and a writer that loses a race learns it instead of overwriting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from evals.errors import StoreError


class StorageError(StoreError):
    """A storage problem a user can act on (endpoint unreachable, no bucket, no rights)."""


@dataclass(frozen=True)
class ObjectInfo:
    """One listed object."""

    key: str
    """Its key relative to the workspace prefix (e.g. ``records/trial/<segment>.parquet``)."""
    size: int
    """Bytes."""


class ObjectStore(Protocol):
    """An append-only object namespace (keys relative to the workspace)."""

    url: str
    """Where it is, for messages (``s3://bucket/prefix`` or a folder)."""

    def list(self, prefix: str, start_after: str = "") -> list[ObjectInfo]:
        """Objects whose key starts with `prefix` (after `start_after`), sorted by key."""
        ...

    def get(self, key: str) -> bytes | None:
        """An object's bytes, None when it does not exist."""
        ...

    def put_new(self, key: str, data: bytes) -> bool:
        """Create the object; False (and nothing written) when the key already exists."""
        ...

    def delete(self, key: str) -> None:
        """Remove an object (no error when it is already gone)."""
        ...


class TrialKeyClaims(Protocol):
    """Per-trial-key locks and the finished-key journal (evals.store.key_claims on a local
    folder, evals.store.backends.leases on an object store): what the runner's lanes use."""

    run_id: str
    """The run claiming keys."""

    def try_claim(self, key: str) -> bool:
        """Lock the key now, or False when another run holds it."""
        ...

    def wait_claim(self, key: str) -> None:
        """Lock the key, waiting while another run holds it (blocks: call in a thread)."""
        ...

    def release(self, key: str) -> None:
        """Unlock the key."""
        ...

    def finished_by(self, key: str) -> str | None:
        """The other run that finished the key, if any."""
        ...

    def mark_done(self, key: str) -> None:
        """Record that this run finished the key (before its lock is released)."""
        ...

    def close(self) -> None:
        """Release every lock held."""
        ...
