"""What the processes of `evals run --workers 2` hold while the trials run (issue 18:
`--workers N` at most N x 0.6 of one process's peak RSS): the parent (which runs shard 0
itself) has no DuckDB, numpy or pyarrow mapped (it read the finished keys in a child that
has exited, and compacts the segments after the workers exited), no multiprocessing
resource tracker runs beside the worker, and a worker imports neither the CLI nor DuckDB.

Observed from inside: the suite's agent (a module written here) runs the trials and
answers with what it sees of its process and of the parent (/proc), so every recorded
trial is one observation made while the trials ran; no timing is involved."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from evals.errors import StoreError
from evals.run.executors.base import ExecutorError
from evals.run.executors.lookup import finished_apart
from evals.run.plan import finished_keys, shard_of
from evals.run.runner import RunOptions, run_suite
from evals.run.suite import load_suite
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer
from tests.evals.run.executors.suites import single_turn_suite

pytestmark = pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")

PROBE = '''
import json, os, sys
from evals.schema import FinalAnswerStep

HEAVY = {"duckdb", "numpy", "pyarrow"}


def mapped(pid):
    """Which of HEAVY's packages have shared objects mapped in process `pid`."""
    found = set()
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "site-packages/" in path:  # _duckdb.cpython-311-...so, numpy/core/...
                top = path.split("site-packages/", 1)[1].split("/")[0]
                found.add(top.split(".")[0].lstrip("_"))
    return sorted(found & HEAVY)


def children(pid):
    """The command lines of process `pid`'s live children (not a worker that exited)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                state, ppid = stat.read().rsplit(")", 1)[1].split()[:2]
            if int(ppid) == pid and state != "Z":
                with open(f"/proc/{entry}/cmdline", "rb") as cmd:
                    found.append(cmd.read().replace(b"\\0", b" ").decode())
        except (OSError, ValueError):
            pass
    return found


async def probe(case, model, prompt, ctx):
    """Answers with what this process and its parent hold."""
    loaded = ("duckdb", "numpy", "pyarrow", "litellm", "typer", "evals.cli.main")
    main = getattr(sys.modules["__main__"], "__spec__", None)
    here = getattr(main, "name", "") != "evals.run.executors.worker"  # shard 0: the CLI
    parent = os.getpid() if here else os.getppid()
    seen = {
        "in": "parent" if here else "worker",
        "parent": mapped(parent),
        "worker": [] if here else sorted(m for m in loaded if m in sys.modules),
        "siblings": children(parent),
    }
    answer = json.dumps(seen)
    ctx.trace.steps.append(FinalAnswerStep(text=answer))
    ctx.trace.final_answer = answer
    return ctx.trace
'''


def evals_run(tmp_path: Path, repo_root: Path, base_url: str, *args: str) -> str:
    env = {
        **os.environ,
        # The server's address from the environment, not the suite: the trial keys (and so
        # which shard runs each) are then the same whatever port the server got.
        "OPENAI_BASE_URL": base_url,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(repo_root)]),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "FAKE_LLM_KEY": "sk-fake-not-secret",
    }
    cmd = [sys.executable, "-m", "evals.cli.main", "run", str(tmp_path / "suite.yaml")]
    cmd += ["-w", str(tmp_path / "ws"), "--no-progress", "--workers", "2", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=repo_root, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_while_workers_run_the_parent_holds_no_store_engine_and_no_tracker_runs(
    tmp_path: Path, repo_root: Path
) -> None:
    (tmp_path / "memprobe.py").write_text(PROBE)
    (tmp_path / "v1.md").write_text("You are an analyst.\n")
    with FakeLLMServer() as server:
        (tmp_path / "suite.yaml").write_text(
            f"name: mem\ndataset: {repo_root / 'datasets' / 'edd_demo'}\n"
            "agent: {name: 'memprobe:probe'}\nmodels:\n"
            "  - {alias: m, model: openai/fake, api_key_env: FAKE_LLM_KEY}\n"
            "prompts: {v1: v1.md}\nlimits: {lanes: 4}\n"
        )
        evals_run(tmp_path, repo_root, server.base_url, "--limit", "4")
        # The second invocation finds 4 finished keys (read by the lookup child).
        second = evals_run(tmp_path, repo_root, server.base_url, "--limit", "8")
    assert "4 already finished" in second.replace("\n", " ")
    answers = [r["final_answer"] for r in query(Workspace(tmp_path / "ws"), "SELECT * FROM trials")]
    assert len(answers) == 8
    assert {json.loads(a)["in"] for a in answers} == {"parent", "worker"}
    for seen in map(json.loads, answers):
        assert seen["parent"] == [], seen  # no DuckDB, numpy or pyarrow in the parent
        assert seen["worker"] == [], seen  # nor in a worker, nor the CLI, nor litellm
        # Its siblings: the workers (and, for an instant, one forked before its exec).
        assert any("evals.run.executors.worker" in cmd for cmd in seen["siblings"]), seen
        assert not any("multiprocessing" in cmd for cmd in seen["siblings"]), seen
    # The probe sees a mapped DuckDB (this test process queried the store above).
    sys.path.insert(0, str(tmp_path))
    try:
        import memprobe  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    assert "duckdb" in memprobe.mapped(os.getpid())


def test_the_lookup_child_reads_what_the_parent_would(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")
    root = tmp_path / "ws"
    with FakeLLMServer() as server:
        alpha = single_turn_suite(tmp_path, repo_root, server, limit=3)
        run_suite(alpha, Workspace(root), RunOptions(progress=False))
        beta_path = tmp_path / "beta.yaml"  # the same trial keys under another run id
        beta_path.write_text(alpha.path.read_text().replace("name: exec", "name: beta"))
        beta = load_suite(beta_path)
        first = run_suite(beta, Workspace(root), RunOptions(progress=False, workers=2))
        again = run_suite(beta, Workspace(root), RunOptions(progress=False, workers=2))
    assert (first.executor, first.linked, first.counters.done) == ("processes", 6, 0)
    assert (again.linked, again.skipped) == (0, 6)  # the links were read by the child
    ws = Workspace(root)
    found = finished_apart(ws, [first.run_id, "no-such-run"])
    assert found.finished.by_run == finished_keys(ws).by_run
    linked = query(ws, "SELECT trial_key FROM run_links WHERE run_id = ?", [first.run_id])
    assert found.linked == {
        first.run_id: {r["trial_key"] for r in linked},
        "no-such-run": set(),
    }
    assert len(found.linked[first.run_id]) == 6


def test_a_lookup_failure_is_the_same_error_as_in_process(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.records_dir("trial").mkdir(parents=True, exist_ok=True)
    (ws.records_dir("trial") / "x.jsonl").touch()  # a segment: the child is asked
    (tmp_path / "ws" / "workspace.json").unlink()
    with pytest.raises(StoreError) as here:
        Workspace(tmp_path / "ws", create=False)
    with pytest.raises(StoreError) as apart:
        finished_apart(ws, ["r"])
    assert str(apart.value) == str(here.value)
    # A new workspace (no trial segment): nothing to read, no child started.
    assert finished_apart(Workspace(tmp_path / "new"), ["r"]).finished.by_run == {}


OPENER = '''
import os, sys
from evals.models.gateway import workspace_gateway


def in_worker():
    main = getattr(sys.modules["__main__"], "__spec__", None)
    return getattr(main, "name", "") == "evals.run.executors.worker"


def failing(models, ws):
    """The gateway, except in a worker process, which fails as WORKER_FAILS says."""
    if in_worker() and os.environ["WORKER_FAILS"] == "raise":
        raise RuntimeError("no gateway here")
    if in_worker():
        os._exit(7)
    return workspace_gateway(models, ws)
'''


@pytest.mark.parametrize(
    ("fails", "reported"),
    [("raise", "worker 1: RuntimeError: no gateway here"), ("exit", "worker 1 died (exit code 7)")],
)
def test_a_failed_worker_is_reported_and_the_other_shard_is_recorded(
    tmp_path: Path,
    repo_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    fails: str,
    reported: str,
) -> None:
    """The worker finds the opener on the parent's sys.path (passed as spawn did)."""
    (tmp_path / "openers.py").write_text(OPENER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("WORKER_FAILS", fails)
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")
    import openers  # type: ignore[import-not-found]

    with FakeLLMServer() as server:
        suite = single_turn_suite(tmp_path, repo_root, server, limit=10)
        with pytest.raises(ExecutorError) as exc:
            run_suite(
                suite,
                Workspace(tmp_path / "ws"),
                RunOptions(progress=False, workers=2),
                open_gateway=openers.failing,
                console=Console(file=io.StringIO()),
            )
    assert str(exc.value) == reported
    recorded = query(Workspace(tmp_path / "ws"), "SELECT key FROM trials")
    assert 0 < len(recorded) < 20  # shard 0's trials (this process), none of shard 1's
    assert {shard_of(r["key"], 2) for r in recorded} == {0}
