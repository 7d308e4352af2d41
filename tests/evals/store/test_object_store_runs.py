"""The runner on an ``s3://`` workspace (moto): worker processes open it from its URL
and the environment alone, and two runs sharing trial keys at once run each key once
(trial-key leases and finished-key markers on the store instead of fcntl locks)."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from rich.console import Console

from evals.run.runner import RUN_TRIALS_SQL, RunOptions, RunResult, run_suite
from evals.run.suite import Suite, load_suite
from evals.store.audit import verify_workspace
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")


def suite(tmp_path: Path, repo_root: Path, server: FakeLLMServer, name: str,
          limit: int = 4) -> Suite:
    (tmp_path / "v1.md").write_text("You are an analyst.\n")
    base = f"api_base: '{server.base_url}'}}, api_key_env: FAKE_LLM_KEY, timeout_s: 5"
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\ndataset: {repo_root / 'datasets' / 'edd_demo'}\n"
        "agent: {name: react}\nmodels:\n"
        f"  - {{alias: json, model: openai/fake, params: {{temperature: 0.5, {base}}}\n"
        f"prompts: {{v1: v1.md}}\nrepetitions: 2\nlimit: {limit}\n"
        "limits: {lanes: 4, max_steps: 3}\n"
    )
    return load_suite(path)


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def test_worker_processes_write_to_the_s3_workspace(
    s3_url: str, tmp_path: Path, repo_root: Path
) -> None:
    with FakeLLMServer() as server:
        s = suite(tmp_path, repo_root, server, "workers")
        result = run_suite(s, Workspace(s3_url), RunOptions(progress=False, workers=2),
                           console=quiet())
    assert result.counters.done == 8 and result.counters.ok == 8
    ws = Workspace(s3_url, create=False)
    assert len(query(ws, RUN_TRIALS_SQL, {"run": result.run_id})) == 8
    assert len(ws.segments("trial")) == 2  # one per worker process
    report = verify_workspace(ws)
    assert report.ok, [str(f) for f in report.findings or []]
    assert not list((tmp_path / "scratch").rglob("records"))  # nothing recorded locally


def test_two_runs_sharing_keys_on_s3_run_each_key_once(
    s3_url: str, tmp_path: Path, repo_root: Path
) -> None:
    Workspace(s3_url)
    results: dict[str, RunResult] = {}
    errors: list[BaseException] = []
    with FakeLLMServer(latency_ms=40) as server:
        suites = [suite(tmp_path, repo_root, server, name, limit=5) for name in ("alpha", "beta")]

        def run(s: Suite) -> None:
            try:
                results[s.name] = run_suite(s, Workspace(s3_url), RunOptions(progress=False),
                                            console=quiet())
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(s,)) for s in suites]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
    ws = Workspace(s3_url, create=False)
    keys = 5 * 2
    recorded = query(ws, "SELECT count(*) AS n, count(DISTINCT body->>'$.key') AS k, "
                         "count(*) FILTER (body->>'$.trace.error.kind' = 'infra') AS infra "
                         "FROM raw_trial WHERE body IS NOT NULL")[0]  # fmt: skip
    # No key ran twice (an infrastructure failure, e.g. a timeout on a loaded machine, is
    # retried by design: the only second record a key may have).
    assert recorded["k"] == keys and recorded["n"] - recorded["infra"] <= keys, recorded
    for result in results.values():
        members = query(ws, RUN_TRIALS_SQL, {"run": result.run_id})
        assert len(members) == keys == len({r["key"] for r in members})


def test_a_killed_run_on_s3_is_finished_by_a_rerun_with_every_trial_once(
    s3_url: str, tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from evals.store.backends.s3 import S3ObjectStore

    monkeypatch.setenv("EVALS_LEASE_TTL_S", "3")  # the killed run's leases expire soon
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    store = S3ObjectStore(s3_url)
    with FakeLLMServer(latency_ms=150) as server:
        path = suite(tmp_path, repo_root, server, "killed", limit=8).path
        args = [sys.executable, "-m", "evals.cli.main", "run", str(path), "-w", s3_url,
                "--no-progress", "--lanes", "2"]
        victim = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        while len(store.list("records/trial/")) < 3 and victim.poll() is None:
            assert time.monotonic() < deadline, "no trial recorded"
            time.sleep(0.2)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        while True:  # refused while the dead invocation's run lease lives (at most 3 s)
            rerun = subprocess.run(args, env=env, capture_output=True, text=True,
                                   timeout=300)
            if "already running" not in rerun.stderr:
                break
            time.sleep(1)
        assert rerun.returncode == 0, rerun.stderr
    ws = Workspace(s3_url, create=False)
    recorded = query(ws, "SELECT count(*) AS n, count(DISTINCT body->>'$.key') AS k, "
                         "count(*) FILTER (body->>'$.trace.error.kind' = 'infra') AS infra "
                         "FROM raw_trial WHERE body IS NOT NULL")[0]  # fmt: skip
    assert recorded["k"] == 16 and recorded["n"] - recorded["infra"] <= 16, recorded
    report = verify_workspace(ws)  # the killed writer's parts: unsealed, intact
    assert report.ok, [str(f) for f in report.findings or []]
    assert report.segments > report.sealed
