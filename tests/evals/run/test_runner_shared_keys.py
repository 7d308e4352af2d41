"""Two suites whose trials share identity (same dataset, models and prompts: the same
trial keys, different run ids), run at once in one workspace: every key runs once, and
every reader counts every key once in each run. Real HTTP against the fake server."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from rich.console import Console

from evals.analysis.rundata import RunRef, load_run
from evals.run.runner import RUN_TRIALS_SQL, RunOptions, RunResult, run_suite
from evals.run.suite import Suite, load_suite
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer
from judges.judging import load_run_trials


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")


def suite(tmp_path: Path, repo_root: Path, server: FakeLLMServer, name: str) -> Suite:
    (tmp_path / "v1.md").write_text("You are an analyst.\n")
    base = f"api_base: '{server.base_url}'}}, api_key_env: FAKE_LLM_KEY, timeout_s: 5"
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\ndataset: {repo_root / 'datasets' / 'edd_demo'}\n"
        "agent: {name: react}\nmodels:\n"
        f"  - {{alias: json, model: openai/fake, params: {{temperature: 0.5, {base}}}\n"
        "prompts: {v1: v1.md}\nrepetitions: 2\nlimit: 6\n"
        "limits: {lanes: 4, max_steps: 3}\n"
    )
    return load_suite(path)


def test_two_runs_sharing_keys_run_each_key_once(tmp_path: Path, repo_root: Path) -> None:
    root = tmp_path / "ws"
    Workspace(root)
    results: dict[str, RunResult] = {}
    errors: list[BaseException] = []
    with FakeLLMServer(latency_ms=40) as server:
        suites = [suite(tmp_path, repo_root, server, name) for name in ("alpha", "beta")]

        def run(s: Suite) -> None:
            try:
                console = Console(file=io.StringIO(), width=200)
                results[s.name] = run_suite(s, Workspace(root), RunOptions(progress=False),
                                            console=console)  # fmt: skip
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(s,)) for s in suites]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
    ws = Workspace(root)
    keys = 6 * 2  # cases x repetitions
    recorded = query(ws, "SELECT count(*) AS n, count(DISTINCT body->>'$.key') AS k "
                         "FROM raw_trial WHERE body IS NOT NULL")[0]  # fmt: skip
    assert recorded == {"n": keys, "k": keys}  # no key ran twice
    for result in results.values():
        assert result.counters.done + len(_links(ws, result.run_id)) == keys
        members = query(ws, RUN_TRIALS_SQL, {"run": result.run_id})
        assert len(members) == keys == len({r["key"] for r in members})
        assert len(load_run_trials(ws, result.run_id)) == keys  # what `evals judge` reads
        assert len(load_run(ws, RunRef(result.run_id)).trials) == keys  # `evals report`


def _links(ws: Workspace, run_id: str) -> list[dict[str, object]]:
    return query(ws, "SELECT trial_key FROM run_links WHERE run_id = ?", [run_id])
