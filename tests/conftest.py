"""Shared fixtures. Tests run litellm with its local cost map (no network)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture
def workspace(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A fresh workspace in a temporary folder."""
    from evals.store.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    yield ws
    ws.close(compact=False)
