"""Report builders and renderers: self-contained HTML, escaping, traceability, CLI files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evals.analysis.compare import compare_runs
from evals.analysis.rundata import RunRef, load_run
from evals.store.workspace import Workspace
from reports import (
    build_comparison_report,
    build_run_summary,
    load_decisions,
    load_examples,
    render_html,
    render_markdown,
    report_json,
    write_report,
)
from reports.html import plotly_js
from tests.helpers.reports import XSS_REASON, build_workspace


def test_comparison_report_formats_and_traceability(workspace: Workspace, tmp_path: Path) -> None:
    base, cand = build_workspace(workspace)
    cmp = compare_runs(
        load_run(workspace, RunRef("base")),
        load_run(workspace, RunRef("cand")),
        margins=[0.05, 0.1],
    )
    report = build_comparison_report(cmp)
    written = write_report(report, tmp_path / "out")
    assert set(written) == {"html", "md", "json"}
    assert not list((tmp_path / "out").glob(".*.tmp"))

    page = written["html"].read_text()
    assert plotly_js() in page  # inline, not fetched
    ours = page.replace(plotly_js(), "")  # (the bundle itself mentions its CDN for geo maps)
    assert not re.search(r"<script[^>]+src=", ours)
    assert "http://" not in ours and "https://" not in ours
    assert "default-src 'none'" in page
    charts = re.findall(r'<div class="chart" id="(chart-[^"]+)"', page)
    assert len(charts) == len(set(charts)) == 6
    for chart in charts:
        assert f'Plotly.newPlot("{chart}"' in page

    data = json.loads(written["json"].read_text())
    assert data["kind"] == "comparison"
    assert data["data"]["overall"]["outcome"]["mcnemar_p"] == cmp.overall.outcome.mcnemar_p
    matrix = next(
        b
        for s in data["sections"]
        for b in s["blocks"]
        if b["kind"] == "chart" and b["id"] == "matrix"
    )
    cells = {e["label"]: e["trial_keys"] for e in matrix["evidence"]}
    assert sorted(k for keys in cells.values() for k in keys) == sorted(t.key for t in base + cand)
    counts = {v["cell"]: v["pairs"] for v in matrix["values"]}
    assert counts["both pass"] == cmp.overall.outcome.both_pass
    # Each cell's trial keys are two per pair (one per arm).
    assert all(len(cells[c]) == 2 * counts[c] for c in counts)
    for section in data["sections"]:
        for block in section["blocks"]:
            if block["kind"] == "chart":
                assert "figure" not in block and block["evidence"], block["id"]
    md = written["md"].read_text()
    assert "| overall | 24 |" in md and "McNemar" in md


def test_run_summary_escapes_untrusted_text(workspace: Workspace, tmp_path: Path) -> None:
    build_workspace(workspace)
    run = load_run(workspace, RunRef("cand"))
    examples = load_examples(workspace, run)
    assert len(examples) == 6 and examples[0].reason == XSS_REASON
    report = build_run_summary(run, examples, load_decisions(workspace, "cand"))
    page = render_html(report)
    body = page.split("</head>", 1)[1]
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(&quot;answer&quot;)&lt;/script&gt;" in body
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;" in body
    # Only our own inline scripts: plotly.js and one per chart.
    charts = len(re.findall(r'class="chart"', body))
    assert body.count("<script") == charts and charts == 6
    md = render_markdown(report)
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "\\[x\\](javascript" in md and "\\| \\*bold\\*" in md
    data = json.loads(report_json(report))
    funnel = next(b for s in data["sections"] for b in s["blocks"] if b.get("id") == "funnel")
    steps = {e["label"]: e["count"] for e in funnel["evidence"]}  # counted, keys not listed
    name = "model-b/v1"
    assert steps[f"{name}: candidates"] == 24 and steps[f"{name}: judge fails"] == 6
    assert steps[f"{name}: survivors"] == 18 and steps[f"{name}: reviewed"] == 18
    helpful = sum(1 for i in range(24) if i % 4 and i % 5)
    assert steps[f"{name}: rated helpful"] == helpful
    handling = next(b for s in data["sections"] for b in s["blocks"] if b.get("id") == "handling")
    assert [v["n"] for v in handling["values"]] == [18, 9]


def test_markdown_and_html_escape_table_cells() -> None:
    from reports import Report, Section, TableBlock

    report = Report(
        kind="run_summary",
        title="<b>t</b>",
        sections=[
            Section(
                id="s",
                title="S",
                blocks=[TableBlock(columns=["a"], rows=[["x|y\n# z"]], evidence=[["k1", "k2"]])],
            )
        ],
    )
    page = render_html(report)
    assert "<title>&lt;b&gt;t&lt;/b&gt;</title>" in page
    assert 'data-trial-keys="k1 k2"' in page
    assert "| x\\|y # z | 2 |" in render_markdown(report)  # mid-cell: no heading


def _regression_from_trials(ws_path: Path) -> dict[str, Any]:
    """The regression report of 'cand' against 'base' by compare_runs over load_run."""
    from reports.caveats import comparison_caveats

    ws = Workspace(ws_path)
    runs = [load_run(ws, RunRef(r), single_cell=True) for r in ("base", "cand")]
    cmp = compare_runs(*runs, margins=[0.05])
    report = build_comparison_report(
        cmp, kind="regression", caveats=comparison_caveats(cmp, runs)
    )
    out: dict[str, Any] = json.loads(report_json(report))
    return out


def _without_store_fields(report: dict[str, Any]) -> dict[str, Any]:
    """A report's JSON without its time stamps and what only the store path adds (the
    evidence cap and query, and the subtitle line saying so); every number stays."""
    out = json.loads(json.dumps(report))
    out.pop("generated_at", None)
    out["subtitle"] = [s for s in out["subtitle"] if not s.startswith("Evidence: ")]
    for name in ("created_at", "evidence_cap", "evidence_query"):
        out["data"].pop(name, None)
    return out


def evals(*args: str, ws: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evals.cli.main", *args, "-w", str(ws)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_cli_compare_and_reports(tmp_path: Path) -> None:
    ws_path = tmp_path / "ws"
    ws = Workspace(ws_path)
    build_workspace(ws)
    ws.close()
    cmp = evals(
        "compare",
        "base",
        "cand",
        "--margin",
        "0.05",
        "--margin",
        "0.1",
        "--format",
        "html,json",
        ws=ws_path,
    )
    assert cmp.returncode == 0, cmp.stderr
    folder = ws_path / "reports" / "compare-base-vs-cand"
    assert (folder / "report.html").exists() and not (folder / "report.md").exists()
    assert f"report: {(folder / 'report.html').resolve()}" in cmp.stdout.replace("\n", "")
    assert "NI 0.05" in cmp.stdout and "overall" in cmp.stdout

    summary = evals("report", "cand", "--out", str(tmp_path / "sum"), ws=ws_path)
    assert summary.returncode == 0, summary.stderr
    assert json.loads((tmp_path / "sum" / "report.json").read_text())["kind"] == "run_summary"

    no_baseline = evals("report", "cand", "--regression", ws=ws_path)
    assert no_baseline.returncode == 1 and "no accepted run" in no_baseline.stderr
    gate = tmp_path / "g.yaml"
    gate.write_text("overall: {max_cost_per_trial: 1.0}\n")
    # A gate shipped 'cand' itself: no "run evals gate first", but why there is no baseline.
    assert evals("gate", str(gate), "--run", "cand", ws=ws_path).returncode == 0
    only = evals("report", "cand", "--regression", ws=ws_path)
    assert only.returncode == 1 and "only accepted run" in only.stderr
    assert "run `evals gate` first" not in only.stderr
    assert evals("gate", str(gate), "--run", "base", ws=ws_path).returncode == 0
    regression = evals("report", "cand", "--regression", "--out", str(tmp_path / "reg"), ws=ws_path)
    assert regression.returncode == 0, regression.stderr
    data = json.loads((tmp_path / "reg" / "report.json").read_text())
    assert data["kind"] == "regression" and data["data"]["baseline_ref"] == "base"
    # Computed in the store, it is the report of the reference path over the trials.
    assert _without_store_fields(data) == _without_store_fields(_regression_from_trials(ws_path))
    assert evals("compare", "base", "cand", "--format", "pdf", ws=ws_path).returncode == 1


def test_empty_rate_charts_become_a_note(workspace: Workspace) -> None:
    build_workspace(workspace)
    report = build_run_summary(load_run(workspace, RunRef("base")))  # no labels on 'base'
    texts = [b.text for s in report.sections for b in s.blocks if b.kind == "text"]
    assert "Helpfulness per question: no human labels on this run yet." in texts
    assert not [b for s in report.sections for b in s.blocks if getattr(b, "id", "") == "helpful"]
    cmp = compare_runs(load_run(workspace, RunRef("base")), load_run(workspace, RunRef("cand")))
    verdict = build_comparison_report(cmp).sections[0].blocks[0]
    assert verdict.kind == "text" and "Per question at margin 0.05:" in verdict.text


def test_no_pairs_means_a_note_not_empty_charts(workspace: Workspace) -> None:
    from evals.testing.synthetic import make_trial, write_run

    build_workspace(workspace)
    write_run(
        workspace, "unjudged", [make_trial("unjudged", f"c{i}", f"q{i % 2}") for i in range(4)]
    )
    cmp = compare_runs(load_run(workspace, RunRef("base")), load_run(workspace, RunRef("unjudged")))
    paired = next(s for s in build_comparison_report(cmp).sections if s.id == "paired")
    kinds = [b.kind for b in paired.blocks]
    assert kinds == ["table", "text"] and "nothing can be paired" in paired.blocks[1].text


def test_markdown_leaves_numbers_alone_and_prints_counts_whole() -> None:
    from reports.markdown import md_escape

    assert md_escape("50.0%") == "50.0%" and md_escape("-0.05") == "-0.05"
    assert md_escape("50.0% (10/20) [0.3, 0.7]") == "50.0% (10/20) \\[0.3, 0.7\\]"
    assert md_escape("1. first") == "1\\. first" and md_escape("- item") == "\\- item"
    assert md_escape("# title") == "\\# title" and md_escape("2) x") == "2\\) x"
    assert md_escape(12345.6) == "12346" and md_escape(1234.0) == "1234"
    assert md_escape(0.000123456) == "0.0001235"
