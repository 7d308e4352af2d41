"""Integration on a real on-disk S3 server, SeaweedFS (`weed mini`, started for the
session on 127.0.0.1): a run into ``s3://``, then `evals audit verify` from the CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from evals.run.runner import RUN_TRIALS_SQL, RunOptions, run_suite
from evals.run.suite import load_suite
from evals.store.backends.s3 import S3ObjectStore
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]


def test_run_and_audit_on_seaweedfs(
    seaweed_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = S3ObjectStore(seaweed_url)
    assert store.put_new("probe", b"1") and not store.put_new("probe", b"2")  # its 412
    assert store.get("probe") == b"1"
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")
    (tmp_path / "v1.md").write_text("You are an analyst.\n")
    with FakeLLMServer() as server:
        base = f"api_base: '{server.base_url}'}}, api_key_env: FAKE_LLM_KEY, timeout_s: 5"
        path = tmp_path / "weed.yaml"
        path.write_text(
            f"name: weed\ndataset: {REPO / 'datasets' / 'edd_demo'}\nagent: {{name: react}}\n"
            f"models:\n  - {{alias: json, model: openai/fake, params: {{temperature: 0.5, "
            f"{base}}}\nprompts: {{v1: v1.md}}\nrepetitions: 2\nlimit: 3\n"
            "limits: {lanes: 4, max_steps: 3}\n"
        )
        result = run_suite(load_suite(path), Workspace(seaweed_url), RunOptions(progress=False),
                           console=Console(file=io.StringIO()))
    assert result.counters.done == 6
    ws = Workspace(seaweed_url, create=False)
    assert len(query(ws, RUN_TRIALS_SQL, {"run": result.run_id})) == 6
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    audit = subprocess.run([sys.executable, "-m", "evals.cli.main", "audit", "verify", "-w",
                            seaweed_url], capture_output=True, text=True, env=env, timeout=300)
    assert audit.returncode == 0, audit.stderr
    assert "audit ok: 7 records in 2 segments (2 sealed)" in audit.stdout
