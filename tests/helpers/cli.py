"""The `evals` command line as a separate process, the way users and CI run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHECKS = """\
judges:
  - stage: checks
    judges:
      - judge: answered
      - judge: key_facts
"""
"""A judges file of deterministic checks only (fast, no model)."""


def evals(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `evals ARGS` from this checkout (its environment, e.g. S3 variables, passed on)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.run([sys.executable, "-m", "evals.cli.main", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=300)  # fmt: skip
