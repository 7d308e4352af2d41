"""Per-trial-key locks across runs: two runs sharing trial keys never run one twice.

The run lock (evals.run.locks.run_lock) is per run id, but a trial's key does not include
the run (evals.run.plan): two suites with the same dataset, models and prompts have the same
keys, and run at once in one workspace each ran every trial (1,760 records for 880 keys).

So a lane, before running a key, takes a lock on that key, and after recording a
finished trial appends ``<key> <run id>`` to a journal, both in ``locks/``:

- ``trial-keys.lock``: one byte-range lock per key (the byte at an offset derived from
  the key), an OFD lock (``F_OFD_SETLK``): owned by the open file, so two runs in one
  process exclude each other too, and the kernel releases it on kill -9. At most one
  lock per trial in flight, so the kernel's list stays as short as the lanes;
- ``trial-keys.done``: the journal of keys finished (ok or an agent error; an infra
  error is retried), read incrementally: a key locked after another run finished it is
  found there, and linked (``run_link``) instead of run again.

A key locked by another run is deferred to the end of this run's own work, then waited
for, and linked or run depending on the journal.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import struct
import threading
from pathlib import Path

_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)
_OFD_SETLKW = getattr(fcntl, "F_OFD_SETLKW", 38)


def _offset(key: str) -> int:
    """The lock byte of a key: 60 bits of its hash (keys are hex digests already, but
    imported trials may carry any string)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:15], 16)


def _flock(kind: int, offset: int) -> bytes:
    # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks), padded.
    return struct.pack("hhqqi", kind, os.SEEK_SET, offset, 1, 0) + b"\0" * 4


def journal_path(root: Path) -> Path:
    """The workspace's journal of finished keys."""
    return root / "locks" / "trial-keys.done"


def journal_end(root: Path) -> int:
    """The journal's size now: take it *before* reading the finished keys from the store,
    so that a key finished in between is in the part of the journal read later."""
    try:
        return journal_path(root).stat().st_size
    except FileNotFoundError:
        return 0


class KeyClaims:
    """This run's view of the workspace's trial-key locks and finished-key journal."""

    def __init__(self, root: Path, run_id: str, journal_at: int = 0) -> None:
        """`journal_at`: where the journal ended when the run read its finished keys
        from the store (journal_end): only what other runs finished after that matters,
        so the journal's history is never loaded."""
        locks = root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id
        self._fd = os.open(locks / "trial-keys.lock", os.O_RDWR | os.O_CREAT, 0o644)
        self._journal = journal_path(root)
        # One descriptor each way for the run's life: a lane checks and journals every
        # trial, and an open() per call was a measurable part of the CPU per trial.
        self._append_fd = os.open(self._journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._read_fd = os.open(self._journal, os.O_RDONLY)
        self._offset = journal_at
        self._partial = b""
        self._done: dict[str, str] = {}
        self._guard = threading.Lock()

    def try_claim(self, key: str) -> bool:
        """Lock the key now, or False when another run holds it."""
        try:
            fcntl.fcntl(self._fd, _OFD_SETLK, _flock(fcntl.F_WRLCK, _offset(key)))
        except OSError:  # EAGAIN / EACCES: held elsewhere
            return False
        return True

    def wait_claim(self, key: str) -> None:
        """Lock the key, waiting while another run holds it (blocks: call in a thread)."""
        fcntl.fcntl(self._fd, _OFD_SETLKW, _flock(fcntl.F_WRLCK, _offset(key)))

    def release(self, key: str) -> None:
        """Unlock the key."""
        fcntl.fcntl(self._fd, _OFD_SETLK, _flock(fcntl.F_UNLCK, _offset(key)))

    def finished_by(self, key: str) -> str | None:
        """The other run that finished the key since the journal was last read, if any."""
        with self._guard:
            self._refresh()
            run = self._done.get(key)
        return run if run is not None and run != self.run_id else None

    def mark_done(self, key: str) -> None:
        """Journal that this run finished the key (before its lock is released)."""
        # One small O_APPEND write: never interleaved with another run's.
        os.write(self._append_fd, f"{key} {self.run_id}\n".encode())

    def _refresh(self) -> None:
        size = os.fstat(self._read_fd).st_size
        if size <= self._offset:  # nothing journaled since the last look: the usual case
            return
        data = os.pread(self._read_fd, size - self._offset, self._offset)
        self._offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            key, _, run = line.decode(errors="replace").partition(" ")
            if run != self.run_id:  # its own keys never answer finished_by: not kept
                self._done.setdefault(key, run)  # (they were 16 MB at 100,000 trials)

    def close(self) -> None:
        """Release every lock this instance holds."""
        for fd in (self._fd, self._append_fd, self._read_fd):
            os.close(fd)
