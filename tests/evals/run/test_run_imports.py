"""What a single-process `evals run` loads (issue 18: its peak RSS): with every model on
the gateway's direct path, neither litellm (about 200 MB) nor pyarrow (40-100 MB with its
Parquet writer) is imported, nor scipy (77 MB, for the statistics of gates) when the suite
names no gates, and the run still records, summarises and compacts; a model forced onto
litellm imports it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from evals.testing import FakeLLMServer

PROBE = """
import json, sys
from evals.cli.main import app
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    names = ("litellm", "pyarrow", "pyarrow.parquet", "scipy")
    print(json.dumps({m: m in sys.modules for m in names}))
"""


def run_probe(tmp_path: Path, repo_root: Path, transport: str) -> dict[str, bool]:
    with FakeLLMServer() as server:
        (tmp_path / "v1.md").write_text("You are an analyst.\n")
        suite = tmp_path / f"{transport}.yaml"
        suite.write_text(
            f"name: imports-{transport}\ndataset: {repo_root / 'datasets' / 'edd_demo'}\n"
            "agent: {name: react}\nmodels:\n"
            f"  - {{alias: m, model: hosted_vllm/fake, transport: {transport}, "
            f"params: {{api_base: '{server.base_url}'}}}}\n"
            "prompts: {v1: v1.md}\nlimit: 4\nlimits: {lanes: 4, max_steps: 2}\n"
        )
        env = {**os.environ, "PYTHONPATH": str(repo_root), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        args = ["run", str(suite), "-w", str(tmp_path / "ws"), "--no-progress", "--no-judge"]
        out = subprocess.run(
            [sys.executable, "-c", PROBE, *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=repo_root,
            timeout=300,
        )
    assert "4 recorded" in out.stdout.replace("\n", " ") or "4 ok" in out.stdout, out.stdout
    assert list((tmp_path / "ws" / "records" / "trial").glob("*.parquet")), "not compacted"
    loaded: dict[str, bool] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_direct_run_without_gates_imports_neither_litellm_nor_pyarrow_nor_scipy(
    tmp_path: Path, repo_root: Path
) -> None:
    loaded = run_probe(tmp_path, repo_root, "auto")
    assert loaded == {"litellm": False, "pyarrow": False, "pyarrow.parquet": False, "scipy": False}


def test_a_litellm_model_imports_litellm(tmp_path: Path, repo_root: Path) -> None:
    assert run_probe(tmp_path, repo_root, "litellm")["litellm"] is True


def test_a_worker_process_imports_no_duckdb(repo_root: Path) -> None:
    """What a `--workers` process imports (evals.run.executors.worker and what it runs):
    no DuckDB (24 MB of RSS a process); the parent compacts their segments."""
    probe = (
        "import sys, evals.run.executors.worker, evals.run.lanes, evals.run.links, "
        "evals.run.plan, evals.run.suite, evals.agents, evals.models.gateway; "
        "print('duckdb' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "False"
