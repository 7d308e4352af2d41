"""Issue 16's whole path on real servers: a suite on the two-node Ray cluster into an
``s3://`` workspace (moto), an actor killed mid-shard, a rerun, every trial recorded
exactly once; then judged, gated, reported and audited from the same URL by separate
CLI processes."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from evals.errors import StoreError
from evals.run.runner import RunOptions, RunResult, run_suite
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer
from tests.evals.run.executors.suites import (
    assert_exactly_once,
    query_dataset_hash,
    single_turn_suite,
)
from tests.helpers.cli import CHECKS, evals

TRIALS = 60  # 30 cases x 2 prompts


def recorded(url: str) -> int:
    try:
        ws = Workspace(url, create=False)
    except StoreError:  # the run has not created it yet
        return 0
    return int(query(ws, "SELECT count(*) AS n FROM raw_trial")[0]["n"])


def run_and_kill_an_actor(suite: Any, url: str) -> RunResult:
    """Run on Ray in a thread; kill the first actor once some trials are recorded."""
    import ray

    out: list[RunResult] = []
    runner = threading.Thread(
        target=lambda: out.append(
            run_suite(suite, Workspace(url), RunOptions(), console=Console(quiet=True))
        )
    )
    runner.start()
    deadline = time.monotonic() + 180
    while recorded(url) < 6:
        assert runner.is_alive() and time.monotonic() < deadline
        time.sleep(0.3)
    run_id = suite.run_id(query_dataset_hash(suite))
    ray.kill(ray.get_actor(f"evals-{run_id}-0.0"))  # mid-shard: trials in flight lost
    runner.join(timeout=600)
    assert not runner.is_alive() and out
    return out[0]


def test_ray_into_s3_kill_rerun_then_judge_gate_report_audit(
    ray_cluster: Any, s3_url: str, tmp_path: Path, repo_root: Path
) -> None:
    with FakeLLMServer(latency_ms=150) as server:
        suite = single_turn_suite(
            tmp_path, repo_root, server, limit=TRIALS // 2, lanes=4,
            extra="executor: {kind: ray, actors: 2, shards_per_actor: 1}\n",
        )  # fmt: skip
        first = run_and_kill_an_actor(suite, s3_url)
        rerun = run_suite(suite, Workspace(s3_url), RunOptions(), console=Console(quiet=True))
    assert first.executor == "ray" and first.summary is not None
    assert first.summary.recorded == TRIALS and first.summary.missing == 0
    assert rerun.counters.done == 0 and rerun.skipped == TRIALS
    ws = Workspace(s3_url, create=False)
    assert_exactly_once(ws, TRIALS)
    (run_id,) = [r["run_id"] for r in query(ws, "SELECT DISTINCT run_id FROM runs")]

    (tmp_path / "judges.yaml").write_text(CHECKS)
    judged = evals("judge", run_id, "-w", s3_url, "--judges", str(tmp_path / "judges.yaml"),
                   "--no-progress")  # fmt: skip
    assert judged.returncode == 0, judged.stderr
    assert query(ws, "SELECT count(*) AS n FROM verdicts WHERE judge = 'cascade'")[0]["n"] == TRIALS
    gate = evals("gate", str(repo_root / "gates" / "edd_demo.yaml"), "--run", f"{run_id}:native:v1",
                 "-w", s3_url, "--baseline", "none", "--json")  # fmt: skip
    assert gate.returncode in (0, 3, 4), gate.stderr  # a decision, not an error
    report = evals("report", run_id, "-w", s3_url, "--out", str(tmp_path / "r"), "--format", "md")
    assert report.returncode == 0, report.stderr
    audit = evals("audit", "verify", "-w", s3_url)
    assert audit.returncode == 0 and "audit ok" in audit.stdout, audit.stderr
