"""Faults and crashes: kill -9 mid-run, a 500-trial run under a 30% fault mix, workers.

Real subprocesses of `evals run`, the real Gateway over HTTP, the fake server in this
process. Exactly-once is checked on the raw records, not only through the de-duplicating
`trials` view."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evals.run.runner import RunOptions, run_suite
from evals.run.suite import load_suite
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing import FAULT_KINDS, FakeLLMServer

pytestmark = pytest.mark.slow

OK_PER_KEY = (
    "SELECT body->>'$.key' AS key, count(*) AS n FROM raw_trial "
    "WHERE body->>'$.status' = 'ok' GROUP BY 1"
)


def write_suite(
    tmp_path: Path,
    repo_root: Path,
    server: FakeLLMServer,
    *,
    models: str,
    limit: int,
    reps: int,
    prompts: int,
    limits: str,
) -> Path:
    (tmp_path / "v1.md").write_text("You are an analyst.\n")
    (tmp_path / "v2.md").write_text("You are a careful analyst.\n")
    common = (
        f"api_base: '{server.base_url}'}}, api_key_env: FAKE_LLM_KEY, timeout_s: 1, "
        "max_retries: 4, max_concurrency: 256"
    )
    rows = {
        "native": f"  - {{alias: native, model: openai/fake, params: {{temperature: 0, {common}, "
        "supports_tools: true}",
        "json": f"  - {{alias: json, model: openai/fake, params: {{temperature: 0.5, {common}}}",
    }
    chosen = list(rows) if models == "both" else [models]
    prompt_lines = "prompts: {v1: v1.md, v2: v2.md}" if prompts == 2 else "prompts: {v1: v1.md}"
    path = tmp_path / "suite.yaml"
    path.write_text(
        f"name: faults\ndataset: {repo_root / 'datasets' / 'edd_demo'}\nagent: react\n"
        "models:\n" + "\n".join(rows[m] for m in chosen) + f"\n{prompt_lines}\n"
        f"repetitions: {reps}\nlimit: {limit}\nlimits: {limits}\n"
    )
    return path


def evals_run(suite: Path, ws: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FAKE_LLM_KEY": "sk-fake-not-secret"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evals.cli.main",
            "run",
            str(suite),
            "-w",
            str(ws),
            "--no-progress",
            *args,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def recorded_lines(ws: Path) -> int:
    folder = ws / "records" / "trial"
    if not folder.exists():
        return 0
    return sum(p.read_bytes().count(b"\n") for p in folder.glob("*.jsonl"))


def kill_when_recorded(proc: subprocess.Popen[bytes], ws: Path, at_least: int) -> None:
    deadline = time.monotonic() + 120
    while recorded_lines(ws) < at_least:
        assert proc.poll() is None, proc.communicate()[0].decode()
        assert time.monotonic() < deadline, "the run recorded nothing in time"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def assert_exactly_once(ws: Workspace, total: int) -> None:
    view = query(
        ws,
        "SELECT count(*) AS n, count(DISTINCT key) AS k, "
        "count(*) FILTER (WHERE status = 'ok') AS ok FROM trials",
    )[0]
    assert view == {"n": total, "k": total, "ok": total}
    per_key = query(ws, OK_PER_KEY)
    assert len(per_key) == total and {r["n"] for r in per_key} == {1}


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_mid_run_then_rerun_records_every_trial_exactly_once(
    tmp_path: Path,
    repo_root: Path,
    workers: int,
) -> None:
    with FakeLLMServer(latency_ms=120) as server:
        suite = write_suite(
            tmp_path,
            repo_root,
            server,
            models="native",
            limit=30,
            reps=1,
            prompts=2,
            limits="{lanes: 4, max_steps: 2}",
        )
        ws = tmp_path / "ws"
        first = evals_run(suite, ws, "--workers", str(workers))
        kill_when_recorded(first, ws, at_least=12)
        killed_at = recorded_lines(ws)
        assert 12 <= killed_at < 60
        second = evals_run(suite, ws)
        output = second.communicate(timeout=300)[0].decode()
        assert second.returncode == 0, output
    assert "60 trials in the matrix: 60 recorded, 60 ok, 0 failed." in output
    assert_exactly_once(Workspace(ws), 60)
    # The killed process's segments stay as JSONL (unsealed); the rerun's are compacted.
    segments = Workspace(ws).segments("trial")
    assert any(p.suffix == ".jsonl" for p in segments)
    assert any(p.suffix == ".parquet" for p in segments)


def test_500_trials_under_30_percent_faults_lose_nothing(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")
    with FakeLLMServer(
        latency_ms=2, fault_rate=0.3, fault_kinds=FAULT_KINDS, retry_after_s=0.05, seed=7
    ) as server:
        path = write_suite(
            tmp_path,
            repo_root,
            server,
            models="both",
            limit=50,
            reps=5,
            prompts=1,
            limits="{lanes: 128, max_steps: 2}",
        )
        suite = load_suite(path)
        ws = Workspace(tmp_path / "ws")
        result = run_suite(suite, ws, RunOptions(progress=False))
        faults = dict(server.faults)
        requests = server.count
        server.fault_rate = 0.0
        rerun = run_suite(suite, Workspace(tmp_path / "ws"), RunOptions(progress=False))
    c = result.counters
    assert result.total == 500 == c.done == c.ok + c.infra_errors + c.agent_errors
    assert result.summary is not None and result.summary.recorded == 500
    assert set(faults) == set(FAULT_KINDS) and sum(faults.values()) > 100
    # Transient faults were retried: far more trials succeeded than the 70% of requests.
    assert c.ok >= 450 and requests > c.llm_calls + 100
    infra = query(
        ws,
        "SELECT body->>'$.trace.error.code' AS code FROM raw_trial "
        "WHERE body->>'$.trace.error.kind' = 'infra'",
    )
    assert len(infra) == c.infra_errors
    assert {r["code"] for r in infra} <= {
        "rate_limit",
        "server_error",
        "timeout",
        "malformed",
        "connection",
    }
    assert c.agent_errors == 0
    # The rerun retries exactly the infra failures; then every key counts once.
    assert rerun.skipped == 500 - c.infra_errors and rerun.counters.ok == c.infra_errors
    assert_exactly_once(ws, 500)
