"""CI-safe defaults (issue 14, item 7): a run where nothing answered is red, provider
typos fail at load, hung providers time out with progress lines meanwhile, baselines
stay within their suite and golden set, and a comparison without pairs is an error."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from evals.analysis.gates import evaluate_gate, last_accepted, load_gate, record_decision, run_scope
from evals.analysis.rundata import RunRef, load_run
from evals.cli.main import app
from evals.run.progress import HEARTBEAT_S, RunProgress
from evals.run.suite import Limits, SuiteError, load_suite
from evals.schema import RunManifest
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing.synthetic import AGENT, make_trial, make_verdict, write_run


def suite_file(tmp_path: Path, repo_root: Path, model: str, params: str) -> Path:
    (tmp_path / "p.md").write_text("You are an analyst.\n")
    path = tmp_path / "s.yaml"
    path.write_text(
        f"dataset: {repo_root / 'datasets' / 'edd_demo'}\n"
        "models:\n"
        f"  - {{alias: m, model: {model}, timeout_s: 2, max_retries: 0, params: {params}}}\n"
        "prompts: {v1: p.md}\nlimit: 2\nlimits: {max_steps: 2}\n"
    )
    return path


def test_a_provider_typo_fails_at_load_naming_the_line(tmp_path: Path, repo_root: Path) -> None:
    path = suite_file(tmp_path, repo_root, "opnai/gpt-4o", "{temperature: 0}")
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert str(info.value).startswith(f"{path}:3: models.0.model: unknown provider 'opnai'")
    assert "openai" in str(info.value)  # the suggestion
    good = suite_file(tmp_path, repo_root, "openai/gpt-4o", "{temperature: 0}")
    assert load_suite(good).models[0].model == "openai/gpt-4o"


def test_a_run_where_no_trial_answered_exits_non_zero_with_the_first_error(
    tmp_path: Path, repo_root: Path
) -> None:
    # Nothing listens on port 9: every trial fails on infrastructure (connection refused).
    path = suite_file(tmp_path, repo_root, "openai/x", "{api_base: 'http://127.0.0.1:9/v1'}")
    result = CliRunner().invoke(
        app, ["run", str(path), "-w", str(tmp_path / "ws"), "--no-progress"]
    )
    assert result.exit_code == 1
    assert "error: no trial produced an answer (2 recorded, all failed" in result.stderr
    assert "first infra:connection error: model 'm': connection" in result.output


def test_default_timeouts_and_a_progress_line_without_a_live_bar() -> None:
    limits = Limits()
    assert limits.step_timeout_s is not None and 60 <= limits.step_timeout_s <= 120
    assert HEARTBEAT_S <= 30
    out = io.StringIO()
    console = Console(file=out, width=200)  # not a terminal: no live bar can show
    with RunProgress(console, total=10, already=2, enabled=True, heartbeat_s=0) as progress:
        progress.update(3, 1, 100, 0.0)
    assert "progress: 5/10 trials, 1 failed" in out.getvalue()
    quiet = io.StringIO()
    with RunProgress(Console(file=quiet), 10, 0, enabled=True) as progress:
        progress.update(1, 0, 0, 0.0)  # within the first 30 s: nothing yet
    assert "progress:" not in quiet.getvalue()


def _other_golden_set_run(ws: Workspace, run_id: str) -> None:
    trials = [make_trial(run_id, f"x-c{i}", "q1") for i in range(50)]
    ws.append(
        "run",
        RunManifest(
            run_id=run_id,
            suite="suites/other.yaml",
            suite_hash="s2",
            dataset="other_set",
            dataset_hash="h2",
            models=[trials[0].model],
            prompts=["v1"],
            agent=AGENT,
        ),
    )
    ws.writer("trial").append_many(trials)
    ws.writer("verdict").append_many([make_verdict(t, "pass") for t in trials])


def test_last_accepted_stays_within_the_suite_and_golden_set(
    workspace: Workspace, tmp_path: Path
) -> None:
    mine = [make_trial("mine", f"q1-c{i}", "q1") for i in range(50)]
    write_run(workspace, "mine", mine)
    workspace.writer("verdict").append_many([make_verdict(t, "pass") for t in mine])
    _other_golden_set_run(workspace, "theirs")
    gate_path = tmp_path / "g.yaml"
    gate_path.write_text("overall: {min_judge_pass_rate: 0.5}\n")
    gate = load_gate(gate_path)
    record_decision(workspace, evaluate_gate(gate, load_run(workspace, RunRef("mine"))))
    record_decision(workspace, evaluate_gate(gate, load_run(workspace, RunRef("theirs"))))
    candidate = load_run(workspace, RunRef("mine"))
    scope = run_scope(candidate.manifest)
    assert scope == ("synthetic", "synthetic")
    assert last_accepted(workspace) == "theirs"  # unscoped: the most recent, any set
    assert last_accepted(workspace, scope=scope) == "mine"
    assert last_accepted(workspace, exclude=RunRef("mine"), scope=scope) is None
    rows = query(workspace, "SELECT run_id, suite, dataset, config FROM runs")
    assert {run_scope(r) for r in rows} == {("synthetic", "synthetic"), ("other", "other_set")}


def test_compare_without_paired_cases_is_an_error_and_writes_no_report(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    for run_id, question in (("r1", "q1"), ("r2", "q2")):
        trials = [make_trial(run_id, f"{question}-c{i}", question) for i in range(5)]
        write_run(ws, run_id, trials)
        ws.writer("verdict").append_many([make_verdict(t, "pass") for t in trials])
    ws.close()
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["compare", "r1", "r2", "-w", str(ws.root), "--out", str(out)])
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: no paired cases between r1 and r2")
    assert "5 baseline-only, 5 candidate-only" in line
    assert not out.exists()


def test_judging_prints_a_heartbeat_without_a_live_bar(capsys: pytest.CaptureFixture[str]) -> None:
    import threading

    from evals.cli.judge import heartbeat

    seen = threading.Event()

    def text() -> str:
        seen.set()
        return "judging: 3/10 trials"

    with heartbeat(text, enabled=True, every_s=0.01):
        assert seen.wait(10)  # liveness, not timing: the line comes while the block runs
    assert "judging: 3/10 trials" in capsys.readouterr().out
    with heartbeat(text, enabled=False, every_s=0.01):
        pass
