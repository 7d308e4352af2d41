"""The app's configuration, from the environment `evals label` sets.

* ``EVALS_WORKSPACE``: the workspace folder (default ``evals-workspace``).
* ``EVALS_ROSTER``: the roster file (default ``<workspace>/roster.yaml``).
* ``EVALS_HEARTBEAT_S``: seconds between heartbeats while the page is visible (15).
* ``EVALS_QUEUE_DB``: a PostgreSQL URL: queue state there, shared by app replicas
  (read by `labeling_app.queues.pg.service_for`; unset: the workspace folder).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AppConfig:
    """Where the app reads and writes, and how often the page reports activity."""

    workspace: Path
    roster: Path
    heartbeat_s: float

    @classmethod
    def from_env(cls) -> AppConfig:
        """Read the configuration `evals label` passed in the environment."""
        workspace = Path(os.environ.get("EVALS_WORKSPACE") or "evals-workspace")
        roster = Path(os.environ.get("EVALS_ROSTER") or workspace / "roster.yaml")
        heartbeat = float(os.environ.get("EVALS_HEARTBEAT_S") or 15.0)
        return cls(workspace.resolve(), roster, max(heartbeat, 0.5))
