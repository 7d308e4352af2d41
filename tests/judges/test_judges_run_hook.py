"""`evals run` judges the run at its end when the suite lists judges (fake LLM server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.cli.main import app
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer

JUDGES = """\
judges:
  - stage: checks
    judges:
      - judge: answered
      - judge: required_tools
  - judge: rubric
    model: native
    params: {max_reason_chars: 80}
"""


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")


def write_suite(tmp_path: Path, repo_root: Path, server: FakeLLMServer, judges: str) -> Path:
    (tmp_path / "v1.md").write_text("You are an analyst.\n")
    path = tmp_path / "mini.yaml"
    path.write_text(
        f"name: mini\ndataset: {repo_root / 'datasets' / 'edd_demo'}\n"
        "agent: {name: react}\nmodels:\n"
        f"  - {{alias: native, model: openai/fake, params: {{temperature: 0, api_base: "
        f"'{server.base_url}'}}, api_key_env: FAKE_LLM_KEY, supports_tools: true}}\n"
        "prompts: {v1: v1.md}\nlimit: 3\nlimits: {lanes: 4, max_steps: 2}\n" + judges
    )
    return path


def test_evals_run_judges_at_the_end_and_not_twice(tmp_path: Path, repo_root: Path) -> None:
    ws_path = tmp_path / "ws"
    with FakeLLMServer() as server:
        suite = write_suite(tmp_path, repo_root, server, JUDGES)
        args = ["run", str(suite), "-w", str(ws_path), "--no-progress"]
        first = CliRunner().invoke(app, args)
        assert first.exit_code == 0, first.output
        assert "judging run mini-" in first.output and "funnel: " in first.output
        ws = Workspace(ws_path)
        finals = query(ws, "SELECT count(*) AS n FROM verdicts WHERE judge = 'cascade'")
        assert finals[0]["n"] == 3
        calls = server.count
        again = CliRunner().invoke(app, args)
        assert again.exit_code == 0, again.output
        assert "judged 0 trial(s) now, 3 already judged; 0 verdict(s) written" in again.output
        assert server.count == calls  # neither the agent nor the judge was called again
        skipped = CliRunner().invoke(app, [*args, "--no-judge"])
        assert skipped.exit_code == 0 and "judging run" not in skipped.output


def test_a_bad_judges_list_fails_before_anything_runs(tmp_path: Path, repo_root: Path) -> None:
    with FakeLLMServer() as server:
        suite = write_suite(
            tmp_path,
            repo_root,
            server,
            "judges:\n  - judge: rubric\n    model: native\n    params: {max_reason_char: 80}\n",
        )
        result = CliRunner().invoke(app, ["run", str(suite), "-w", str(tmp_path / "ws")])
        assert server.count == 0
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{suite}:10: judges[0]: judge 'rubric': params.max_reason_char: Extra inputs are not "
        "permitted"
    ]
