"""Trial-key claims on an object store: evals.store.key_claims for many machines.

Each key in flight is a lease (``leases/trial-keys/<digest>``, evals.store.backends.leases),
and a finished key is one object ``keys-done/<digest>`` holding ``<key> <run id>``,
created put-if-absent: the first run to finish a key is the one every later run links
to, as the local journal's first line is. A claim whose holder died expires after the
lease's time to live and is then taken over.
"""

from __future__ import annotations

import hashlib

from evals.store.backends.base import ObjectStore
from evals.store.backends.leases import DEFAULT_TTL_S, Leases, new_owner


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:40]


class ObjectKeyClaims:
    """This run's trial-key leases and finished-key markers (base.TrialKeyClaims)."""

    def __init__(self, store: ObjectStore, run_id: str, ttl: float = DEFAULT_TTL_S) -> None:
        self.run_id = run_id
        self.store = store
        self.owner = f"{run_id}@{new_owner()}"
        self.leases = Leases(store, ttl)

    def try_claim(self, key: str) -> bool:
        """Lease the key now, or False when another run holds it."""
        return self.leases.try_acquire(f"trial-keys/{_digest(key)}", self.owner)

    def wait_claim(self, key: str) -> None:
        """Lease the key, waiting while another run holds it (blocks)."""
        self.leases.acquire(f"trial-keys/{_digest(key)}", self.owner)

    def release(self, key: str) -> None:
        """Free the key's lease."""
        self.leases.release(f"trial-keys/{_digest(key)}")

    def finished_by(self, key: str) -> str | None:
        """The other run that finished the key, if any."""
        data = self.store.get(f"keys-done/{_digest(key)}")
        if data is None:
            return None
        _, _, run = data.decode(errors="replace").partition(" ")
        return run if run and run != self.run_id else None

    def mark_done(self, key: str) -> None:
        """Mark the key finished by this run (the first marker stays)."""
        self.store.put_new(f"keys-done/{_digest(key)}", f"{key} {self.run_id}".encode())

    def close(self) -> None:
        """Release every lease held."""
        self.leases.close()
