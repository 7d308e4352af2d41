"""The executor seam: selection from the suite and the command line, the processes
executor against the in-process one, and Ray's absence (no cluster needed here)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from evals.run.executors.base import ExecutorError
from evals.run.executors.config import ExecutorConfig
from evals.run.executors.select import select_executor
from evals.run.runner import RunError, RunOptions, prepare_run, run_suite
from evals.run.suite import SuiteError, load_suite
from evals.store.typed_columns import is_typed
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer
from tests.evals.run.executors.suites import assert_exactly_once, single_turn_suite, trial_rows


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")


def quiet() -> Console:
    return Console(file=io.StringIO())


def test_command_line_over_suite_over_default() -> None:
    assert select_executor(None).kind == "inprocess"
    assert select_executor(None, plan_workers=3).kind == "processes"  # limits.workers
    picked = select_executor(None, workers=2)
    assert (picked.kind, picked.workers) == ("processes", 2)
    suite = ExecutorConfig(kind="ray", address="head:6379", actors=8)
    assert select_executor(suite).kind == "ray"
    assert select_executor(suite, kind="inprocess").kind == "inprocess"
    joined = select_executor(None, ray_address="auto")
    assert joined.kind == "ray" and joined.config.address == "auto"
    over = select_executor(suite, ray_address="other:6379")
    assert over.config.address == "other:6379" and over.config.actors == 8
    sized = select_executor(ExecutorConfig(kind="processes", workers=3))
    assert (sized.kind, sized.workers) == ("processes", 3)
    with pytest.raises(ExecutorError, match="unknown executor 'gpu'; known: inprocess"):
        select_executor(None, kind="gpu")


def test_the_suite_key_is_checked_and_is_not_the_runs_identity(
    tmp_path: Path, repo_root: Path
) -> None:
    with FakeLLMServer() as server:
        plain = single_turn_suite(tmp_path, repo_root, server, limit=2)
        ray = single_turn_suite(tmp_path, repo_root, server, limit=2, extra="executor: ray\n")
        assert ray.config.executor == ExecutorConfig(kind="ray")
        assert ray.suite_hash() == plain.suite_hash()  # where it runs is not what it is
        bad = single_turn_suite(tmp_path, repo_root, server, limit=2)
        path = bad.path
        path.write_text(path.read_text() + "executor: {kind: cloud, actors: 0}\n")
        with pytest.raises(SuiteError) as exc:
            load_suite(path)
    lines = str(exc.value).splitlines()
    assert any(f"{path}:" in line and "executor.kind" in line for line in lines)
    assert any("executor.actors" in line for line in lines)
    with pytest.raises(RunError, match="unknown executor"):
        prepare_run(plain, RunOptions(executor="cloud"))


def test_processes_record_what_the_in_process_lanes_record(tmp_path: Path, repo_root: Path) -> None:
    with FakeLLMServer() as server:
        suite = single_turn_suite(tmp_path, repo_root, server, limit=10)
        here = run_suite(suite, Workspace(tmp_path / "here"), RunOptions(progress=False))
        there = run_suite(
            suite,
            Workspace(tmp_path / "there"),
            RunOptions(progress=False, executor="processes", workers=2),
            console=quiet(),
        )
    assert (here.executor, there.executor) == ("inprocess", "processes")
    assert there.counters.done == here.counters.done == 20
    assert trial_rows(Workspace(tmp_path / "there")) == trial_rows(Workspace(tmp_path / "here"))
    assert_exactly_once(Workspace(tmp_path / "there"), 20)
    # Two worker processes: two writers' segments, sealed by the workers and compacted
    # by the parent (typed: every record verified) before its summary.
    segments = Workspace(tmp_path / "there").segments("trial")
    assert len(segments) == 2 and all(is_typed(p) for p in segments)
    assert there.summary is not None and there.summary.recorded == 20


def test_without_ray_the_ray_executor_fails_naming_the_extra(
    tmp_path: Path, repo_root: Path
) -> None:
    with FakeLLMServer() as server:
        suite = single_turn_suite(tmp_path, repo_root, server, limit=2)
        # A Python where `import ray` fails (as without the extra installed).
        code = (
            "import runpy, sys; sys.modules['ray'] = None; "
            "sys.argv = ['evals', 'run', sys.argv[1], '-w', sys.argv[2], '--executor', 'ray', "
            "'--no-progress']; runpy.run_module('evals.cli.main', run_name='__main__')"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code, str(suite.path), str(tmp_path / "ws")],
            env={**os.environ, "PYTHONPATH": str(repo_root)},
            capture_output=True,
            text=True,
            timeout=300,
            cwd=repo_root,
        )
        assert server.count == 0
    assert not (tmp_path / "ws").exists()  # failed before touching the workspace
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert errors == [
        "error: the ray executor needs Ray, an optional extra: pip install 'agent-evals[ray]'"
    ]


def test_the_cluster_bucket_grants_a_burst_then_the_rate() -> None:
    from evals.run.executors.ray_actors import RateLimiter

    limiter = RateLimiter({"m": {"rpm": 600, "tpm": 60_000}})  # 10/s, burst 100
    assert limiter.reserve("m", "rpm", 100) == 0.0  # the ten-second burst, at once
    assert limiter.reserve("m", "rpm", 10) == pytest.approx(1.0, abs=0.05)  # then 10/s
    assert limiter.reserve("m", "rpm", 10) == pytest.approx(2.0, abs=0.05)  # queued behind
    # 1,000 tokens/s, burst 10,000: a request larger than the bucket waits for a full one
    # (as TokenBucket.take) and leaves it in debt.
    assert limiter.reserve("m", "tpm", 20_000) == 0.0
    assert limiter.reserve("m", "tpm", 5_000) == pytest.approx(
        15.0, abs=0.05
    )  # its debt, then 5,000


def test_an_unknown_executor_on_the_command_line_is_invalid_input(tmp_path: Path) -> None:
    from tests.helpers.cli import REPO, evals

    ws = tmp_path / "ws"
    proc = evals("run", str(REPO / "suites" / "edd_demo.yaml"), "-w", str(ws), "--executor", "gpu")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        "error: --executor: unknown executor 'gpu'; known: inprocess, processes, ray"
    )
    assert not ws.exists()  # nothing written
