"""The decision box, caveats and glossary every report opens (and ends) with.

The box of a run summary must say what the gate said (ship / fail -> 'do not ship' /
undecided), in HTML, Markdown and JSON alike; a comparison decides at its first margin.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evals.analysis.compare import compare_runs
from evals.analysis.gates import evaluate_gate, load_gate, record_decision
from evals.analysis.rundata import RunRef, load_run
from evals.store.workspace import Workspace
from evals.testing.synthetic import make_label, make_trial, make_verdict, write_run
from reports import build_comparison_report, build_run_summary, load_decisions, write_report
from reports.caveats import comparison_caveats
from reports.decision import VERDICT
from reports.model import Report, add_caveat
from tests.helpers.reports import build_workspace

GATES = {
    "ship": "overall: {max_cost_per_trial: 1.0}\n",
    "fail": "overall: {min_judge_pass_rate: 0.95, max_cost_per_trial: 1.0}\n",
    "undecided": "overall: {min_judge_pass_rate: 0.7}\n",
}


def _written(report: Report, out: Path) -> tuple[str, str, dict]:  # type: ignore[type-arg]
    paths = write_report(report, out)
    return (
        paths["html"].read_text(),
        paths["md"].read_text(),
        json.loads(paths["json"].read_text()),
    )


@pytest.mark.parametrize("outcome", ["ship", "fail", "undecided"])
def test_summary_box_matches_the_gate_in_every_format(
    workspace: Workspace, tmp_path: Path, outcome: str
) -> None:
    build_workspace(workspace)
    gate_file = tmp_path / "g.yaml"
    gate_file.write_text(GATES[outcome])
    run = load_run(workspace, RunRef("cand"))
    decision = evaluate_gate(load_gate(gate_file), run)
    assert decision.outcome == outcome
    record_decision(workspace, decision)
    report = build_run_summary(run, [], load_decisions(workspace, "cand"))
    html, md, data = _written(report, tmp_path / "out")

    verdict = VERDICT[outcome]
    assert report.decision is not None and report.decision.verdict == verdict
    assert decision.id in report.decision.source
    # HTML: the box comes first in <main>, before the navigation and every section.
    main = html.split("<main>", 1)[1]
    assert main.startswith('<section id="decision" class="box ')
    assert f'data-verdict="{verdict}"' in main.split("<nav>")[0]
    assert f"Decision: {verdict.upper()}" in html
    # Markdown: the decision is the first second-level heading.
    assert re.findall(r"^## .*", md, re.M)[0] == f"## Decision: {verdict.upper()}"
    # JSON: the same verdict, and the numbers are the gate's checks.
    assert data["decision"]["verdict"] == verdict
    labels = {n["label"] for n in data["decision"]["numbers"]}
    assert {f"{c.scope} {c.metric.replace('_', ' ')}" for c in decision.checks} <= labels
    if outcome == "fail":
        assert report.decision.headline.startswith("Do not ship cand: 1 of 2 checks")
    if outcome == "undecided":
        assert "more cases would decide" in report.decision.headline
        assert "The gate needs about" in md  # the too-few-cases caveat names the need


def test_summary_without_a_gate_is_undecided_and_says_how_to_decide(
    workspace: Workspace, tmp_path: Path
) -> None:
    build_workspace(workspace)
    report = build_run_summary(load_run(workspace, RunRef("cand")))
    assert report.decision is not None and report.decision.verdict == "undecided"
    assert "evals gate GATE.yaml --run cand" in report.decision.headline
    assert report.decision.numbers[0].label == "model-b/v1: pass rate / helpful"


def test_caveats_missing_cost_simulated_labels_and_few_cases(
    workspace: Workspace, tmp_path: Path
) -> None:
    trials = [make_trial("r", f"c{i}", f"q{i % 3}", cost_usd=0.0) for i in range(12)]
    write_run(workspace, "r", trials)
    workspace.writer("verdict").append_many([make_verdict(t, "pass") for t in trials])
    workspace.writer("label").append_many(
        [make_label("sim:alice", trial=t) for t in trials[:5]]
        + [make_label("bob", trial=t) for t in trials[5:8]]
    )
    # Simulated labels are left out by default (no caveat: no number uses them) ...
    default = build_run_summary(load_run(workspace, RunRef("r")))
    assert {c.kind for c in default.caveats} == {"missing_cost", "too_few_cases"}
    # ... and flagged when a user asks for them.
    report = build_run_summary(load_run(workspace, RunRef("r"), include_simulated=True))
    kinds = {c.kind: c.text for c in report.caveats}
    assert set(kinds) == {"missing_cost", "simulated_labels", "too_few_cases"}
    assert "12 of 12 trials" in kinds["missing_cost"]
    # A missing cost is said to be missing, never to read 0.
    assert "not recorded (unknown, not zero)" in kinds["missing_cost"]
    assert "read 0" not in kinds["missing_cost"] and "reads 0" not in kinds["missing_cost"]
    assert "5 of 8 labels" in kinds["simulated_labels"]
    assert "3 of 3 question(s) have fewer than 30 cases" in kinds["too_few_cases"]
    html, md, data = _written(report, tmp_path / "out")
    assert [c["kind"] for c in data["caveats"]] == [c.kind for c in report.caveats]
    assert html.index('id="caveats"') < html.index("<nav>")
    assert "**Caveats**" in md and "sim:\\*" in md  # escaped for Markdown
    # A provenance flag computed elsewhere replaces the report's own caveat of that kind.
    add_caveat(report, "simulated_labels", "helpful rate built on 5 simulated labels")
    assert [c.text for c in report.caveats if c.kind == "simulated_labels"] == [
        "helpful rate built on 5 simulated labels"
    ]


def _paired_runs(ws: Workspace, cand_fails: int, n: int = 200) -> None:
    base = [make_trial("base", f"c{i}", f"q{i % 2}", cost_usd=0.01) for i in range(n)]
    cand = [make_trial("cand", f"c{i}", f"q{i % 2}", cost_usd=0.01) for i in range(n)]
    write_run(ws, "base", base)
    write_run(ws, "cand", cand)
    ws.writer("verdict").append_many(
        [make_verdict(t, "pass") for t in base]
        + [make_verdict(t, "fail" if i < cand_fails else "pass") for i, t in enumerate(cand)]
    )


@pytest.mark.parametrize(
    ("cand_fails", "verdict", "start"),
    [(0, "ship", "Ship cand"), (60, "do not ship", "Do not ship cand"), (12, "undecided", "Not")],
)
def test_comparison_box_decides_at_the_first_margin(
    workspace: Workspace, cand_fails: int, verdict: str, start: str
) -> None:
    _paired_runs(workspace, cand_fails)
    base, cand = load_run(workspace, RunRef("base")), load_run(workspace, RunRef("cand"))
    cmp = compare_runs(base, cand, margins=[0.05])
    ni = cmp.overall.outcome.noninferiority[0].verdict
    assert {"ship": "non-inferior", "do not ship": "inferior", "undecided": "undecided"}[
        verdict
    ] == ni
    report = build_comparison_report(cmp, caveats=comparison_caveats(cmp, [base, cand]))
    assert report.decision is not None and report.decision.verdict == verdict
    assert report.decision.headline.startswith(start)
    assert report.caveats == []  # 200 pairs, priced, no labels: nothing to warn about
    # A regression report also refuses a candidate significantly worse than the last
    # accepted run, even when the margin alone cannot decide yet (12 of 200 lost).
    regression = build_comparison_report(cmp, kind="regression")
    significantly_worse = cmp.overall.outcome.high < 0
    assert significantly_worse == (cand_fails > 0)
    assert regression.decision is not None
    assert regression.decision.verdict == ("do not ship" if significantly_worse else verdict)
    if cand_fails == 12:
        assert "significantly worse than base overall" in regression.decision.headline
    if cand_fails == 60:
        assert "by more than the 0.05 margin overall (pass rate 100.0% → 70.0%)" in (
            report.decision.headline
        )


def test_glossary_lists_the_statistics_used(workspace: Workspace, tmp_path: Path) -> None:
    build_workspace(workspace)
    cmp = compare_runs(load_run(workspace, RunRef("base")), load_run(workspace, RunRef("cand")))
    html, md, data = _written(build_comparison_report(cmp), tmp_path / "out")
    terms = [t["term"] for t in data["glossary"]]
    assert {"Wilson interval", "McNemar test", "non-inferiority margin"} <= set(terms)
    assert '<section id="glossary">' in html and 'href="#glossary"' in html
    assert md.rstrip().splitlines()[-len(terms) - 2] == "## Glossary"
    summary = build_run_summary(load_run(workspace, RunRef("cand")))
    assert "geometric-mean ratio (clustered bootstrap)" in [t.term for t in summary.glossary]


def test_unpriced_candidate_reads_no_price_not_zero(workspace: Workspace) -> None:
    base = [make_trial("base", f"c{i}", "q0", cost_usd=0.01) for i in range(40)]
    cand = [make_trial("cand", f"c{i}", "q0", model_alias="local") for i in range(40)]
    write_run(workspace, "base", base)
    write_run(workspace, "cand", cand)
    workspace.writer("verdict").append_many([make_verdict(t, "pass") for t in base + cand])
    runs = [load_run(workspace, RunRef("base")), load_run(workspace, RunRef("cand"))]
    cmp = compare_runs(runs[0], runs[1], margins=[0.05])
    report = build_comparison_report(cmp, caveats=comparison_caveats(cmp, runs))
    assert report.decision is not None
    cost = next(n for n in report.decision.numbers if n.label.startswith("cost per trial"))
    assert cost.value == "0.01 → no price"
    (caveat,) = report.caveats
    assert caveat.kind == "missing_cost" and "40 of 80 trials" in caveat.text
    assert "(local; 40 priced)" in caveat.text
    # From the comparison alone (no trials, no counts): the run whose cost is missing.
    (alone,) = [c for c in comparison_caveats(cmp) if c.kind == "missing_cost"]
    assert "no cost was recorded" in alone.text and "reads 0" not in alone.text


def test_summary_of_one_cell_shows_that_cells_decision(
    workspace: Workspace, tmp_path: Path
) -> None:
    trials = [
        make_trial("m", f"c{i}", "q0", model_alias=alias, cost_usd=0.01)
        for alias in ("a", "b")
        for i in range(10)
    ]
    write_run(workspace, "m", trials)
    workspace.writer("verdict").append_many([make_verdict(t, "pass") for t in trials])
    ship, fail = tmp_path / "ship.yaml", tmp_path / "fail.yaml"
    ship.write_text("name: cheap\noverall: {max_cost_per_trial: 1.0}\n")
    fail.write_text("name: free\noverall: {max_cost_per_trial: 0.001}\n")
    for alias, gate_file in (("a", ship), ("b", fail)):  # b is gated last
        cell = load_run(workspace, RunRef("m", alias), single_cell=True)
        record_decision(workspace, evaluate_gate(load_gate(gate_file), cell))
    rows = load_decisions(workspace, "m")
    only_a = build_run_summary(load_run(workspace, RunRef("m", "a")), [], rows).decision
    assert only_a is not None and only_a.verdict == "ship" and "gate cheap" in only_a.source
    whole = build_run_summary(load_run(workspace, RunRef("m")), [], rows).decision
    assert whole is not None and whole.verdict == "do not ship"  # the newest: cell b
    assert whole.numbers[-1].label == "gate cheap on m:a" and whole.numbers[-1].value.startswith(
        "ship (dec-"
    )
