"""Terminal tables at 80 columns: every command's table fits or switches to the narrow
layout (one block per row); no row is wrapped over several lines.

A wrapped row shows as a continuation line: in a boxed table, a ``│`` line whose first
cell is blank; in a borderless table, a line after the header rule that starts with
blanks. The commands run in-process with ``COLUMNS=80`` (as in an 80-column terminal).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from evals.cli.main import app
from evals.store.workspace import Workspace
from evals.tables import natural_width, print_table
from evals.testing import FakeLLMServer
from evals.testing.synthetic import make_label, make_trial, make_verdict, write_run

BOX = set("│┃┏┓┗┛┡┩└┘┬┴┼╇━─")


def table_rows(output: str) -> list[str]:
    """Lines drawn as part of a table (box characters), for width checks."""
    return [line for line in output.splitlines() if BOX & set(line)]


def assert_no_wrapped_rows(output: str, width: int = 80) -> None:
    lines = output.splitlines()
    for line in table_rows(output):
        assert cell_len(line) <= width, line
    for i, line in enumerate(lines):
        if line.startswith(("│", "┃")) and not line.startswith("┃ "):
            cells = line.strip("│").split("│")
            assert cells[0].strip() or not "".join(cells).strip(), f"wrapped row: {line!r}"
        # Borderless tables (box.SIMPLE_HEAD, no edge): rows start at column 0, so a
        # line starting with blanks right under a rule or a row is a continuation.
        if re.fullmatch(r"[─━ ]+", line) and set(line) - {" "}:
            for row in lines[i + 1 :]:
                if not row.strip() or not re.match(r"\S.*\s{2,}\S", row):
                    break
                assert not row.startswith(" "), f"wrapped row: {row!r}"


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})
    assert result.exit_code in (0, 3, 4), result.output
    return result.output


def test_print_table_switches_to_rows_as_blocks_when_too_wide() -> None:
    table = Table(title="Judges against people", caption="a caption")
    columns = ["judge", "stage", "n", "accuracy", "kappa", "coverage", "false fails (upper)"]
    for col in [*columns, "decision"]:
        table.add_column(col, overflow="fold")
    table.add_row("rule", "1", "200", "92%", "0.81", "100%", "17/73 (23%, <= 33%)", "refused")
    table.add_row("[b]strong[/]", "2", "200", "80%", "0.56", "100%", "28/73", "may fail alone")
    narrow = Console(file=io.StringIO(), width=80)
    assert natural_width(narrow, table) > 80
    print_table(narrow, table)
    out = narrow.file.getvalue()  # type: ignore[attr-defined]
    assert not BOX & set(out)
    assert all(cell_len(line) <= 80 for line in out.splitlines())
    blocks = [line for line in out.splitlines() if line.startswith("judge: ")]
    assert blocks == ["judge: rule", "judge: strong"]  # markup rendered, not shown
    assert re.search(r"^false fails \(upper\)\s+17/73 \(23%, <= 33%\)", out, re.M)
    assert out.splitlines()[0] == "Judges against people" and "a caption" in out
    wide = Console(file=io.StringIO(), width=200)
    print_table(wide, table)
    plain = Console(file=io.StringIO(), width=200)
    plain.print(table)
    assert wide.file.getvalue() == plain.file.getvalue()  # type: ignore[attr-defined]


def _two_runs(ws: Workspace) -> None:
    questions = ["q_registry_check", "q_sanctions_screening", "q_beneficial_owners"]
    for run, model in (("baseline-run", "old-model-alias"), ("candidate-run", "new-model-alias")):
        trials = [
            make_trial(run, f"c{i}", questions[i % 3], model_alias=model, cost_usd=0.002)
            for i in range(60)
        ]
        write_run(ws, run, trials)
        ws.writer("verdict").append_many(
            [make_verdict(t, "fail" if i % 7 == 0 else "pass") for i, t in enumerate(trials)]
        )
        ws.writer("label").append_many(
            [make_label(f"r{i % 3}", trial=t, helpful=i % 5 != 0) for i, t in enumerate(trials)]
        )


def test_gate_compare_and_workspace_tables_fit_80_columns(tmp_path: Path, repo_root: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    _two_runs(ws)
    ws.close()
    w = ["-w", str(tmp_path / "ws")]
    gate = tmp_path / "g.yaml"
    gate.write_text(
        "name: wide\noverall: {min_judge_pass_rate: 0.8, min_helpful_lower_bound: 0.6, "
        "max_cost_per_trial: 0.01, max_p95_latency_s: 30, noninferiority_margin: 0.05}\n"
        "every_question: {min_judge_pass_rate: 0.7, min_helpful_lower_bound: 0.6, "
        "noninferiority_margin: 0.1}\n"
    )
    outputs = {
        "gate": _run("gate", str(gate), "--run", "candidate-run", "--baseline", "baseline-run", *w),
        "compare": _run(
            *("compare", "baseline-run", "candidate-run", "--out", str(tmp_path / "cmp")),
            *("--margin", "0.05", "--margin", "0.1", "--margin", "0.15", *w),
        ),
        "info": _run("workspace", "info", *w),
        "validate": _run("validate", str(repo_root / "datasets" / "edd_demo")),
    }
    for out in outputs.values():
        assert_no_wrapped_rows(out)
    # The gate's check table is too wide for 80 columns: one block per scope.
    assert "scope: overall" in outputs["gate"] and "scope: q_registry_check" in outputs["gate"]
    assert "scope: q_sanctions_screening" in outputs["compare"]
    # The report's decision and caveats are printed too, as in report.md.
    assert re.search(r"^decision: (SHIP|DO NOT SHIP|UNDECIDED): ", outputs["compare"], re.M)


@pytest.fixture
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")


def test_run_and_funnel_tables_fit_80_columns(
    tmp_path: Path, repo_root: Path, fake_key: None
) -> None:
    (tmp_path / "v1.md").write_text("You are an analyst.\n")
    (tmp_path / "v2.md").write_text("You are a careful analyst.\n")
    with FakeLLMServer() as server:
        base = f"api_base: '{server.base_url}'}}, api_key_env: FAKE_LLM_KEY, timeout_s: 5"
        suite = tmp_path / "s.yaml"
        suite.write_text(
            f"name: wide\ndataset: {repo_root / 'datasets' / 'edd_demo'}\nagent: react\n"
            "models:\n"
            f"  - {{alias: native-greedy-model, model: openai/fake, params: {{temperature: 0, "
            f"{base}, supports_tools: true}}\n"
            f"  - {{alias: json-sampled-model, model: openai/fake, params: {{temperature: 0.5, "
            f"{base}}}\n"
            "prompts: {v1: v1.md, v2: v2.md}\nlimit: 2\nlimits: {max_steps: 2}\n"
            "judges: [{stage: checks, judges: [{judge: answered}, {judge: key_facts}]}]\n"
        )
        out = _run("run", str(suite), "-w", str(tmp_path / "ws"), "--no-progress")
    assert_no_wrapped_rows(out)
    assert "model: native-greedy-model" in out  # run summary: rows as blocks
    assert re.search(r"^1 checks +\d+", out, re.M)  # the funnel fits: kept as a table


def test_calibration_table_fits_80_columns(tmp_path: Path) -> None:
    from tests.helpers.judges import labelled_workspace  # a real labelled workspace

    root, _ = labelled_workspace(tmp_path, n=120)
    out = _run("calibrate", "--no-write", "-w", str(root))
    assert_no_wrapped_rows(out)
    assert "judge: rule" in out and "judge: strong" in out
    assert len(out.splitlines()) < 60  # was 91 lines of one-word cells
    assert os.environ.get("COLUMNS") != "80"  # CliRunner restored the environment
