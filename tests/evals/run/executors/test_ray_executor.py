"""The Ray executor on a real two-node cluster (in-process, 127.0.0.1), the fake server
over HTTP: exactly-once through a killed actor, the cluster-wide rate limit, loopback."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from evals.run.runner import RunOptions, RunResult, run_suite
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer, FakeRequest, Reply
from evals.testing.ray_cluster import listening_addresses
from evals.testing.script import default_reply
from tests.evals.run.executors.suites import (
    assert_exactly_once,
    query_dataset_hash,
    single_turn_suite,
    trial_rows,
)

LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}


def quiet() -> Console:
    return Console(file=io.StringIO())


def test_a_suite_runs_on_ray_into_the_workspace_and_a_rerun_skips_it(
    ray_cluster: Any, tmp_path: Path, repo_root: Path
) -> None:
    with FakeLLMServer(latency_ms=20) as server:
        suite = single_turn_suite(
            tmp_path, repo_root, server, limit=20, extra="executor: {kind: ray, actors: 3}\n"
        )
        ws = Workspace(tmp_path / "ws")
        first = run_suite(suite, ws, RunOptions(progress=False), console=quiet())
        calls = server.count
        again = run_suite(suite, Workspace(tmp_path / "ws"), RunOptions(), console=quiet())
        assert server.count == calls
    assert first.executor == "ray" and first.total == 40 == first.counters.done
    assert first.counters.ok == 40 and first.counters.llm_calls == calls
    assert first.summary is not None and first.summary.recorded == 40
    assert again.counters.done == 0 and again.skipped == 40
    assert_exactly_once(Workspace(tmp_path / "ws"), 40)
    # Each actor wrote its own segments (several writers), sealed and compacted at the end.
    segments = Workspace(tmp_path / "ws").segments("trial")
    assert len(segments) >= 2 and all(p.suffix == ".parquet" for p in segments)
    # Nothing of the cluster (GCS, raylets, workers, agents) listens beyond loopback.
    addresses = listening_addresses()
    assert addresses and addresses <= LOOPBACK


def test_the_same_records_as_in_process(ray_cluster: Any, tmp_path: Path, repo_root: Path) -> None:
    with FakeLLMServer() as server:
        suite = single_turn_suite(tmp_path, repo_root, server, limit=12)
        here = Workspace(tmp_path / "here")
        run_suite(suite, here, RunOptions(progress=False), console=quiet())
        there = Workspace(tmp_path / "there")
        result = run_suite(suite, there, RunOptions(executor="ray"), console=quiet())
    assert result.executor == "ray"
    assert trial_rows(Workspace(tmp_path / "there")) == trial_rows(Workspace(tmp_path / "here"))


def recorded(ws: Path) -> int:
    folder = ws / "records" / "trial"
    return sum(p.read_bytes().count(b"\n") for p in folder.glob("*.jsonl"))


def test_a_killed_actor_loses_no_trial_and_duplicates_none(
    ray_cluster: Any, tmp_path: Path, repo_root: Path
) -> None:
    import ray

    with FakeLLMServer(latency_ms=150) as server:
        suite = single_turn_suite(
            tmp_path,
            repo_root,
            server,
            limit=60,
            lanes=4,
            extra="executor: {kind: ray, actors: 2, shards_per_actor: 1}\n",
        )
        ws = tmp_path / "ws"
        out: list[RunResult] = []
        runner = threading.Thread(
            target=lambda: out.append(
                run_suite(suite, Workspace(ws), RunOptions(), console=quiet())
            )
        )
        runner.start()
        deadline = time.monotonic() + 120
        while not ((ws / "records" / "trial").exists() and recorded(ws) >= 10):
            assert runner.is_alive() and time.monotonic() < deadline
            time.sleep(0.05)
        run_id = suite.run_id(query_dataset_hash(suite))
        ray.kill(ray.get_actor(f"evals-{run_id}-0.0"))  # mid-shard: trials in flight lost
        killed_at = recorded(ws)
        runner.join(timeout=300)
        assert not runner.is_alive() and out
        rerun = run_suite(suite, Workspace(ws), RunOptions(executor="ray"), console=quiet())
    result = out[0]
    assert killed_at < 120
    assert result.summary is not None and result.summary.recorded == 120
    assert result.summary.missing == 0 and rerun.counters.done == 0 and rerun.skipped == 120
    assert_exactly_once(Workspace(ws), 120)


def test_a_models_rate_limit_holds_across_actors(
    ray_cluster: Any, tmp_path: Path, repo_root: Path
) -> None:
    arrivals: list[float] = []

    def script(request: FakeRequest) -> Reply:
        arrivals.append(time.monotonic())
        return default_reply(request)  # a tool call, then the answer: 2 calls a trial

    rpm = 600  # 10 a second, a burst of 100: 200 calls need at least 10 s
    with FakeLLMServer(script=script) as server:
        suite = single_turn_suite(
            tmp_path,
            repo_root,
            server,
            limit=50,
            lanes=64,
            model_extra=f", rpm: {rpm}",
            extra="executor: {kind: ray, actors: 4}\n",
        )
        result = run_suite(suite, Workspace(tmp_path / "ws"), RunOptions(), console=quiet())
    assert result.counters.ok == 100 and result.counters.llm_calls == len(arrivals) == 200
    # One bucket for the cluster: beyond its burst, calls cannot come faster than its rate,
    # so the 200 calls span at least (200 - burst - slack) / rate seconds, give or take
    # two seconds' worth of units granted before their requests were sent. A lower bound
    # only: a loaded machine makes the run slower, never faster. Four actors with a bucket
    # each (a burst of 400, 40 a second) would send the 200 calls within a second or two.
    rate, burst, slack = rpm / 60, rpm // 6, 2 * rpm // 60
    span = max(arrivals) - min(arrivals)
    assert span >= (len(arrivals) - burst - slack) / rate, span


def test_one_progress_bar_fed_by_the_actors(
    ray_cluster: Any, tmp_path: Path, repo_root: Path
) -> None:
    from evals.agents import resolve_agent
    from evals.models.gateway import workspace_gateway
    from evals.run.executors.base import ExecutionJob
    from evals.run.executors.config import ExecutorConfig
    from evals.run.executors.ray import RayExecutor
    from evals.run.plan import make_plan
    from evals.run.progress import RunProgress

    with FakeLLMServer(latency_ms=100) as server:
        suite = single_turn_suite(tmp_path, repo_root, server, limit=20, lanes=2)
        plan = make_plan(suite)
        ws = Workspace(tmp_path / "ws")
        plan.workspace = ws
        out = io.StringIO()
        with RunProgress(Console(file=out), plan.total, 0, True, heartbeat_s=0.0) as progress:
            job = ExecutionJob(
                plan, ws, resolve_agent(suite.agent), {}, workspace_gateway, progress
            )
            counters = RayExecutor(ExecutorConfig(kind="ray", actors=2)).run(job)
        ws.close()
    assert counters.done == 40
    lines = [line for line in out.getvalue().splitlines() if line.startswith("progress: ")]
    seen = [int(line.split()[1].split("/")[0]) for line in lines]
    assert seen == sorted(seen) and seen[-1] == 40  # polled while the actors ran, never back
    assert any(0 < n < 40 for n in seen)


def test_evals_run_joins_a_cluster_by_its_address(
    ray_cluster: Any, tmp_path: Path, repo_root: Path
) -> None:
    with FakeLLMServer() as server:
        suite = single_turn_suite(tmp_path, repo_root, server, limit=5)
        ws = tmp_path / "ws"
        proc = subprocess.run(
            [sys.executable, "-m", "evals.cli.main", "run", str(suite.path), "-w", str(ws),
             "--no-progress", "--no-judge", "--ray-address", ray_cluster.address],
            env={**os.environ, "PYTHONPATH": str(repo_root)},
            capture_output=True, text=True, timeout=300, cwd=repo_root,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "10 trials in the matrix: 10 recorded, 10 ok, 0 failed." in proc.stdout
    assert_exactly_once(Workspace(ws), 10)


def test_a_lost_node_loses_no_trial_and_duplicates_none(
    ray_cluster: Any, tmp_path: Path, repo_root: Path
) -> None:
    # A third node for this test only: six actors need all six CPUs, so two run there.
    node = ray_cluster.add_node(num_cpus=2, object_store_memory=100 << 20)
    ray_cluster.wait_for_nodes()
    with FakeLLMServer(latency_ms=400) as server:
        suite = single_turn_suite(
            tmp_path,
            repo_root,
            server,
            limit=60,
            lanes=6,
            extra="executor: {kind: ray, actors: 6, shards_per_actor: 1}\n",
        )
        ws = tmp_path / "ws"
        out: list[RunResult] = []
        console = io.StringIO()
        runner = threading.Thread(
            target=lambda: out.append(
                run_suite(suite, Workspace(ws), RunOptions(), console=Console(file=console))
            )
        )
        runner.start()
        deadline = time.monotonic() + 240
        while not ((ws / "records" / "trial").exists() and recorded(ws) >= 12):
            assert runner.is_alive() and time.monotonic() < deadline
            time.sleep(0.05)
        ray_cluster.remove_node(node)  # its raylet, object store and actors, mid-shard
        runner.join(timeout=400)
        assert not runner.is_alive() and out
    result = out[0]
    assert "lost its actor" in console.getvalue() and "re-queued" in console.getvalue()
    assert result.summary is not None and result.summary.recorded == 120
    assert result.summary.missing == 0
    assert_exactly_once(Workspace(ws), 120)
