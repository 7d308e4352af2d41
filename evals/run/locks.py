"""The locks of a run: one invocation per run id, and the workers' shared lock.

Local workspaces take kernel locks (released on kill -9); object-store workspaces take
expiring leases (evals.store.backends.leases) through the same `Workspace` methods.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager

from evals.errors import RunError
from evals.store.workspace import LockBusy, Workspace


@contextmanager
def run_lock(ws: Workspace, run_id: str) -> Iterator[None]:
    """One invocation per run id at a time (released by the kernel on kill -9).

    Worker processes hold a shared lock on a second file while they live; taking it
    exclusively here waits for the workers of a killed invocation to notice their
    parent is gone and exit, so they can never record a key this invocation also runs."""
    held = ExitStack()
    try:
        held.enter_context(ws.try_lock(f"run-{run_id}"))
    except LockBusy as exc:
        raise RunError(f"run {run_id} is already running in another process ({exc})") from None
    with held:
        with workers_lock(ws, run_id, fcntl.LOCK_EX):
            pass
        yield


def workers_lock(ws: Workspace, run_id: str, mode: int) -> AbstractContextManager[None]:
    """The lock worker processes hold shared (see run_lock)."""
    return ws.lock(f"run-{run_id}.workers", mode)
