"""The queue-state backend seam: the local folder (default) or PostgreSQL.

* local (default): queue state derived from the workspace's records under its file
  locks (`labeling_app.queues.service.QueueService`): one machine, any number of processes;
* PostgreSQL: set ``EVALS_QUEUE_DB=postgresql://user@host:port/db`` (or
  ``evals label --queue-db URL``): live state in PostgreSQL
  (`labeling_app.queues.pg.service.PgQueueService`), so N app replicas behind a load
  balancer serve one queue. Needs the ``postgres`` extra (``pip install '.[postgres]'``).

The URL comes from the environment and is never written to the workspace (it may carry
a password). See docs/review-at-scale.md.
"""

from __future__ import annotations

import os
import threading

from evals.errors import InputError
from evals.store.workspace import Workspace
from labeling_app.queues.service import QueueService

ENV = "EVALS_QUEUE_DB"
"""Environment variable naming the PostgreSQL database of the queue state."""

_DATABASES: dict[str, object] = {}
_GUARD = threading.Lock()


class BackendError(InputError, RuntimeError):
    """The configured queue backend cannot be used (message says why)."""


def queue_db_url(url: str | None = None) -> str | None:
    """The configured PostgreSQL URL (the argument, else ``EVALS_QUEUE_DB``), or None."""
    url = url or os.environ.get(ENV) or None
    if url is not None and not url.startswith(("postgresql://", "postgres://")):
        raise BackendError(f"{ENV}: not a postgresql:// URL: {url.split('@')[-1][:80]!r}")
    return url


def service_for(ws: Workspace, url: str | None = None) -> QueueService:
    """The queue service of the configured backend for this workspace."""
    url = queue_db_url(url)
    if url is None:
        return QueueService(ws)
    try:
        from labeling_app.queues.pg.db import Database
        from labeling_app.queues.pg.service import PgQueueService
    except ImportError as exc:  # psycopg missing
        raise BackendError(
            f"{ENV} is set but psycopg is not installed: pip install 'agent-evals[postgres]'"
            f" ({exc})"
        ) from None
    with _GUARD:  # one pool per database per process
        db = _DATABASES.get(url)
        if db is None:
            db = _DATABASES[url] = Database(url)
    assert isinstance(db, Database)
    return PgQueueService(ws, db)
