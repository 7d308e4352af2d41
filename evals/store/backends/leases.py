"""Locks every machine sees: leases made of objects, with expiry and renewal.

A lease ``<name>`` is a chain of generations, ``leases/<name>/<gen>.json``, each a new
object holding ``{"owner", "expires", "released"}``. Only put-if-absent is needed:

- acquire: read the newest generation; when it is released or expired, create the next
  one. Two contenders both create generation n+1 and exactly one put succeeds;
- renew: the holder creates the next generation itself (a clash means it lost the lease,
  which happens only after it had expired);
- release: a generation marked released (the newest generation is never deleted, older
  ones are removed as the chain moves on).

A dead holder stops renewing and its lease expires after `ttl` seconds (clocks of the
machines are assumed to agree within a small fraction of it, as NTP gives). Shared
holders (the run's worker lock) each keep their own chain under ``shared/<holder>``; an
exclusive holder waits until none is live, and a shared one until no exclusive is.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field

import orjson

from evals.errors import StoreError
from evals.store.backends.base import ObjectStore

log = logging.getLogger(__name__)

DEFAULT_TTL_S = float(os.environ.get("EVALS_LEASE_TTL_S", "30"))
"""Seconds a lease lives without renewal (``EVALS_LEASE_TTL_S``)."""


class LeaseBusy(StoreError):
    """Another live holder has the lease."""


def new_owner() -> str:
    """An owner id naming the machine and process (for messages)."""
    return f"{socket.gethostname()[:24]}-{os.getpid()}-{secrets.token_hex(4)}"


@dataclass
class Held:
    """A lease this process holds: its chain and current generation."""

    chain: str
    gen: int
    owner: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Orders a renewal and the release: both create generation gen + 1."""
    released: bool = False


class Leases:
    """Acquires, renews (in one background thread) and releases leases on a store."""

    def __init__(self, store: ObjectStore, ttl: float = DEFAULT_TTL_S,
                 prefix: str = "leases/") -> None:
        self.store, self.ttl, self.prefix = store, ttl, prefix
        self._held: dict[str, Held] = {}
        self._guard = threading.Lock()
        self._renewer: threading.Thread | None = None
        self._stop = threading.Event()

    # ----------------------------------------------------------- one chain

    def _generations(self, chain: str) -> list[tuple[int, str]]:
        """(generation, key) of a chain's objects, oldest first (sub-chains left out)."""
        depth = (self.prefix + chain).count("/") + 1
        found = []
        for obj in self.store.list(f"{self.prefix}{chain}/"):
            stem = obj.key.rsplit("/", 1)[1].split(".")[0]
            if obj.key.count("/") == depth and stem.isdigit():
                found.append((int(stem), obj.key))
        return sorted(found)

    def _newest(self, chain: str) -> tuple[int, dict[str, object] | None]:
        """(newest generation, its content) of a chain; (0, None) when empty."""
        for gen, key in reversed(self._generations(chain)):
            data = self.store.get(key)
            if data is None:  # deleted meanwhile: an older generation
                continue
            return gen, orjson.loads(data)
        return 0, None

    def _put(self, chain: str, gen: int, owner: str, released: bool = False) -> bool:
        body = {"owner": owner, "expires": time.time() + self.ttl, "released": released}
        return self.store.put_new(f"{self.prefix}{chain}/{gen:012d}.json", orjson.dumps(body))

    def describe(self, chain: str) -> str:
        """Who holds a chain's lease and for how long yet, for a LockBusy message."""
        _, state = self._newest(chain)
        if state is None:
            return "free"
        left = float(str(state.get("expires", 0))) - time.time()
        return (f"held by {state.get('owner')} for {max(0.0, left):.0f} s more unless renewed "
                "(a dead holder's lease expires then)")

    def live_owner(self, chain: str) -> str | None:
        """The owner of a chain's live lease, None when free."""
        _, state = self._newest(chain)
        if state is None or state.get("released"):
            return None
        if float(str(state.get("expires", 0))) <= time.time():
            return None
        return str(state.get("owner"))

    def try_acquire(self, chain: str, owner: str) -> bool:
        """Take the lease now, or False when another holder's is live."""
        while True:
            gen, state = self._newest(chain)
            if (state is not None and not state.get("released")
                    and float(str(state.get("expires", 0))) > time.time()
                    and state.get("owner") != owner):
                return False
            if self._put(chain, gen + 1, owner):
                with self._guard:
                    self._held[chain] = Held(chain, gen + 1, owner)
                self._collect(chain, gen)
                self._start_renewer()
                return True
            # Another contender created that generation first: look again.

    def acquire(self, chain: str, owner: str, poll: float = 0.2) -> None:
        """Take the lease, waiting while another holder's is live (blocks)."""
        while not self.try_acquire(chain, owner):
            time.sleep(poll * (0.5 + random.random()))
            poll = min(poll * 1.5, max(1.0, self.ttl / 10))

    def release(self, chain: str) -> None:
        """Free a lease this process holds (nothing when it holds none)."""
        with self._guard:
            held = self._held.pop(chain, None)
        if held is None:
            return
        with held.lock:  # after any renewal in flight, so gen + 1 is the next free one
            held.released = True
            if self._put(chain, held.gen + 1, held.owner, released=True):
                self._collect(chain, held.gen + 1)

    def _collect(self, chain: str, newest: int) -> None:
        """Remove generations older than `newest - 1` (never the newest). A chain's first
        two generations are left alone without listing: a trial key's lease is taken and
        released once, and the listing would be a third request per trial."""
        if newest <= 2:
            return
        for gen, key in self._generations(chain):
            if gen < newest - 1:
                self.store.delete(key)

    # ----------------------------------------------------------- renewal

    def _start_renewer(self) -> None:
        with self._guard:
            if self._renewer is not None:
                return
            self._renewer = threading.Thread(target=self._renew_loop, daemon=True,
                                             name="evals-lease-renewer")
            self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            self.renew_all()

    def renew_all(self) -> None:
        """Extend every held lease by a new generation; one lost is dropped, loudly."""
        with self._guard:
            held = list(self._held.values())
        for h in held:
            with h.lock:
                if h.released:
                    continue
                try:
                    ok = self._put(h.chain, h.gen + 1, h.owner)
                except Exception as exc:  # a network blip: the next round tries again
                    log.warning("lease %s: renewal failed (%s)", h.chain, exc)
                    continue
                if ok:
                    h.gen += 1
            if not ok:
                with self._guard:
                    if self._held.get(h.chain) is h:
                        del self._held[h.chain]
                log.error("lease %s expired and was taken by another holder", h.chain)
                continue
            self._collect(h.chain, h.gen)

    def close(self) -> None:
        """Release every lease and stop renewing."""
        self._stop.set()
        with self._guard:
            chains = list(self._held)
        for chain in chains:
            self.release(chain)

    # ----------------------------------------------------------- shared mode

    def _live_shared(self, chain: str) -> list[str]:
        """Holders of live shared leases on `chain`."""
        holders = {o.key[len(f"{self.prefix}{chain}/shared/"):].split("/")[0]
                   for o in self.store.list(f"{self.prefix}{chain}/shared/")}
        return [h for h in sorted(holders) if self.live_owner(f"{chain}/shared/{h}")]

    def acquire_exclusive(self, chain: str, owner: str) -> None:
        """The exclusive lease, once no shared holder is live (blocks)."""
        while True:
            self.acquire(chain, owner)
            if not self._live_shared(chain):
                return
            self.release(chain)
            time.sleep(0.2 + random.random() * 0.3)

    def acquire_shared(self, chain: str, owner: str) -> str:
        """A shared lease (returns its own chain, to release), once no exclusive is live."""
        mine = f"{chain}/shared/{owner}"
        while True:
            self.acquire(mine, owner)
            if self.live_owner(chain) is None:
                return mine
            self.release(mine)
            time.sleep(0.2 + random.random() * 0.3)
