"""Ship decisions: `evals gate`, `evals compare`, `evals report`.

Exit codes of `evals gate` (documented in the README): 0 ship, 1 error, 2 invalid gate
file, 3 gate failed, 4 undecided (more cases needed). `--no-fail` reports the outcome
but exits 0 (for demos and dashboards, never for CI).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from evals.cli.common import (
    DEFAULT_WORKSPACE,
    EXIT_GATE_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNDECIDED,
    WorkspaceOpt,
    console,
    err_console,
    fail,
)
from evals.tables import print_table

if TYPE_CHECKING:
    from evals.compare import Comparison
    from evals.rundata import OutcomeSpec, RunData
    from evals.schema import Decision
    from evals.store import Workspace
    from reports import Report


def _out() -> Console:
    """The stdout console; at least 120 columns when not a terminal (CI logs, pipes), so
    tables of numbers are not folded to 80, unless COLUMNS says how wide to be."""
    if console.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return console
    return Console(width=max(console.width, 120))


OUTCOME_EXIT = {"ship": EXIT_OK, "fail": EXIT_GATE_FAILED, "undecided": EXIT_UNDECIDED}
SYMBOL = {"pass": "[green]✓[/]", "fail": "[red]✗[/]", "undecided": "[yellow]?[/]"}
COLOUR = {"ship": "green", "fail": "red", "undecided": "yellow"}


def _open(workspace: Path) -> Workspace:
    from evals.store import StoreError, Workspace

    try:
        return Workspace(workspace, create=False)
    except StoreError as exc:
        fail(str(exc))


IncludeSimulatedOpt = Annotated[
    bool,
    typer.Option(
        "--include-simulated",
        help="Count simulated reviewers' labels (sim:*); every number built on them is "
        "then marked SIMULATED. Default: left out.",
    ),
]


def _load(
    ws: Workspace,
    ref_text: str,
    outcome: OutcomeSpec,
    single_cell: bool,
    include_simulated: bool = False,
) -> RunData:
    from evals.rundata import RunSelectionError, load_run, resolve_run_ref

    try:
        return load_run(
            ws,
            resolve_run_ref(ws, ref_text),
            outcome,
            single_cell=single_cell,
            include_simulated=include_simulated,
        )
    except RunSelectionError as exc:
        fail(str(exc))


def _say_simulated(*runs: RunData) -> None:
    """One line on simulated reviewers' labels: used (and so marked) or left out."""
    if any(r.simulated for r in runs):
        console.print(
            "[bold yellow]SIMULATED[/]: human numbers here include simulated reviewers' "
            "labels (sim:*), demo data, not measurements of people"
        )
    left_out = sum(r.excluded_simulated for r in runs[:1])
    if left_out:
        console.print(
            f"note: {left_out} label(s) by simulated reviewers (sim:*) left out "
            "(--include-simulated counts them, marked SIMULATED)",
            highlight=False,
        )


def _slug(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts))[:120]


def _write(report_obj: Report, out: Path, formats: str) -> None:
    from reports import parse_formats, write_report

    try:
        fmts = parse_formats(formats)
    except ValueError as exc:
        fail(str(exc))
    written = write_report(report_obj, out, fmts)
    box = report_obj.decision
    if box is not None:  # the report's first line, in the terminal too
        line = f"decision: {box.verdict.upper()}: {box.headline}"
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    for caveat in report_obj.caveats:
        console.print(f"caveat: {caveat.text}", markup=False, highlight=False, soft_wrap=True)
    for path in written.values():
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    if "html" in written:
        console.print(f"report: {written['html'].resolve()}", highlight=False, soft_wrap=True)


# --------------------------------------------------------------------------- gate


def _gate_table(decision: Decision) -> Table:
    metrics = list(dict.fromkeys(c.metric for c in decision.checks))
    table = Table(
        title=f"gate {decision.gate} on {decision.run_ref}"
        + (f" vs {decision.baseline_ref}" if decision.baseline_ref else "")
    )
    table.add_column("scope")
    for m in metrics:
        table.add_column(m.replace("_", " "), justify="right")
    scopes = list(dict.fromkeys(c.scope for c in decision.checks))
    for scope in scopes:
        row = [scope]
        for m in metrics:
            c = next((c for c in decision.checks if c.scope == scope and c.metric == m), None)
            if c is None:
                row.append("")
                continue
            value = "–" if c.value is None else f"{c.value:.3g}"
            more = f" +{c.n_needed - c.n}" if c.outcome == "undecided" and c.n_needed else ""
            sim = " SIMULATED" if c.simulated else ""
            row.append(f"{SYMBOL[c.outcome]} {value}{more}{sim}")
        table.add_row(*row)
    return table


def _print_decision(decision: Decision, recorded: bool) -> None:
    print_table(_out(), _gate_table(decision))
    shown = [c for c in decision.checks if c.outcome != "pass"][:8]
    for c in shown:
        console.print(
            f"{SYMBOL[c.outcome]} {c.scope} {c.metric}: {c.detail}",
            highlight=False,
            soft_wrap=True,
            markup=True,
        )
    hidden = sum(1 for c in decision.checks if c.outcome != "pass") - len(shown)
    if hidden > 0:
        console.print(f"… {hidden} more (evals gate --json lists every check)")
    for caveat in decision.caveats:
        console.print(f"caveat: {caveat}", markup=False, highlight=False, soft_wrap=True)
    colour = COLOUR[decision.outcome]
    console.print(f"[bold {colour}]{decision.outcome.upper()}[/]  ", end="")
    console.print(decision.summary, markup=False, highlight=False, soft_wrap=True)
    if recorded:
        console.print(f"decision {decision.id} recorded", highlight=False)


def gate(
    gate_file: Annotated[Path, typer.Argument(help="Gate YAML, e.g. gates/edd_demo.yaml.")],
    run: Annotated[str, typer.Option("--run", help="Candidate: RUN[:MODEL[:PROMPT]] or 'latest'.")],
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Baseline for non-inferiority: RUN[:MODEL[:PROMPT]], "
            "'last-accepted' (the last run a gate shipped), or 'none'.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Decision as JSON.")] = False,
    no_fail: Annotated[
        bool, typer.Option("--no-fail", help="Exit 0 whatever the outcome (demos; never in CI).")
    ] = False,
    record: Annotated[bool, typer.Option(help="Record the Decision in the workspace.")] = True,
    junit: Annotated[
        Path | None,
        typer.Option("--junit", help="Also write JUnit XML here: one test case per check."),
    ] = None,
    include_simulated: IncludeSimulatedOpt = False,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Evaluate a gate on a run: exit 0 ship, 3 fail, 4 undecided (1 error, 2 bad gate file)."""
    from evals.gates import (
        GateFileError,
        evaluate_gate,
        last_accepted,
        load_gate,
        record_decision,
        run_scope,
    )

    try:
        g = load_gate(gate_file)
    except GateFileError as exc:
        for problem in exc.problems:
            err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    ws = _open(workspace)
    cand = _load(ws, run, g.spec.outcome, True, include_simulated)
    base_ref = baseline
    if baseline is None and g.spec.needs_baseline():
        fail(
            f"{gate_file} sets noninferiority_margin: give --baseline RUN, "
            "--baseline last-accepted, or --baseline none"
        )
    if baseline == "last-accepted":
        scope = run_scope(cand.manifest)
        base_ref = last_accepted(ws, exclude=cand.ref, scope=scope)
        if base_ref is None:
            fail(
                f"no accepted run of suite {scope[0]!r} on golden set {scope[1]!r} yet (no "
                "gate has shipped one): gate the first one with --baseline none, or name a "
                "baseline run"
            )
    base = (
        None
        if base_ref in (None, "none")
        else _load(ws, str(base_ref), g.spec.outcome, True, include_simulated)
    )
    try:
        decision = evaluate_gate(g, cand, base)
    except ValueError as exc:
        fail(str(exc))
    if record:
        record_decision(ws, decision)
        ws.close()
    if junit is not None:
        from evals.junit import decision_suite, write_junit

        write_junit(junit, [decision_suite(decision)])
    if as_json:
        typer.echo(decision.model_dump_json(indent=2))
    else:
        _print_decision(decision, record)
        _say_simulated(cand)
    if no_fail and decision.outcome != "ship" and not as_json:
        console.print(f"(--no-fail: exit 0 instead of {OUTCOME_EXIT[decision.outcome]})")
    raise typer.Exit(EXIT_OK if no_fail else OUTCOME_EXIT[decision.outcome])


# --------------------------------------------------------------------------- compare


def _ni_cell(verdict: str, n_more: int | None) -> str:
    if verdict == "non-inferior":
        return "[green]ok[/]"
    if verdict == "inferior":
        return "[red]worse[/]"
    return f"[yellow]? +{n_more}[/]" if n_more else "[yellow]?[/]"


def _compare_table(cmp: Comparison) -> Table:
    table = Table(
        title=f"{cmp.baseline_ref} → {cmp.candidate_ref}",
        box=box.SIMPLE_HEAD,
        caption=f"paired by {cmp.pair_by}; {cmp.confidence:.0%} Tango interval; "
        "NI = non-inferior at margin: ok / worse / ? +cases needed",
        padding=(0, 1),
    )
    table.add_column("scope", overflow="fold")
    for col in (
        "n",
        "base",
        "cand",
        "diff",
        f"{cmp.confidence:.0%} CI",
        "b10/b01",
        "McNemar",
        *(f"NI {m:g}" for m in cmp.margins),
    ):
        table.add_column(col, justify="right")
    for s in [cmp.overall, *cmp.questions]:
        p = s.outcome
        table.add_row(
            s.scope,
            str(p.n),
            "n/a" if p.baseline_rate is None else f"{p.baseline_rate:.3f}",
            "n/a" if p.candidate_rate is None else f"{p.candidate_rate:.3f}",
            "n/a" if p.diff is None else f"{p.diff:+.3f}",
            f"[{p.low:+.3f},{p.high:+.3f}]",
            f"{p.baseline_only}/{p.candidate_only}",
            f"{p.mcnemar_p:.3g}",
            *(_ni_cell(x.verdict, x.n_more) for x in p.noninferiority),
        )
    return table


def _require_pairs(cmp: Comparison) -> None:
    """A comparison with no paired case says nothing: an error with the reason, and no
    report (a CI job must not read an empty table as "no regression")."""
    if cmp.overall.outcome.n:
        return
    why = "; ".join(cmp.warnings) or "the runs share no case with an outcome in both"
    fail(f"no paired cases between {cmp.baseline_ref} and {cmp.candidate_ref}: {why}")


def compare(
    baseline: Annotated[str, typer.Argument(help="Baseline RUN[:MODEL[:PROMPT]].")],
    candidate: Annotated[str, typer.Argument(help="Candidate RUN[:MODEL[:PROMPT]].")],
    margin: Annotated[
        list[float] | None, typer.Option("--margin", help="Non-inferiority margin (repeatable).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Report folder [default: WORKSPACE/reports/compare-...]."),
    ] = None,
    formats: Annotated[str, typer.Option("--format", help="html,md,json")] = "html,md,json",
    outcome: Annotated[str, typer.Option(help="auto | cascade | imported")] = "auto",
    imported_threshold: Annotated[
        float | None, typer.Option(help="Imported runs: pass when the recorded outcome >= this.")
    ] = None,
    pair_by: Annotated[str, typer.Option(help="case | case_repetition")] = "case",
    confidence: Annotated[float, typer.Option(help="Two-sided interval coverage.")] = 0.95,
    include_simulated: IncludeSimulatedOpt = False,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Compare two runs over the same cases, per question and overall, and write a report."""
    from pydantic import ValidationError

    from evals.compare import compare_runs
    from evals.rundata import OutcomeSpec
    from reports import build_comparison_report
    from reports.caveats import comparison_caveats

    if pair_by not in ("case", "case_repetition"):
        fail(f"--pair-by must be case or case_repetition, got {pair_by!r}")
    if not 0.5 < confidence < 1.0:
        fail(f"--confidence must be in (0.5, 1), got {confidence}")
    try:
        spec = OutcomeSpec(source=outcome, imported_threshold=imported_threshold)  # type: ignore[arg-type]
    except ValidationError:
        fail(f"--outcome must be auto, cascade or imported, got {outcome!r}")
    ws = _open(workspace)
    base = _load(ws, baseline, spec, True, include_simulated)
    cand = _load(ws, candidate, spec, True, include_simulated)
    try:
        cmp = compare_runs(
            base,
            cand,
            margin or [0.05],
            confidence,
            pair_by,  # type: ignore[arg-type]
            "reviewed",
        )
    except ValueError as exc:
        fail(str(exc))
    _require_pairs(cmp)
    print_table(_out(), _compare_table(cmp))
    for w in cmp.warnings:
        console.print(f"warning: {w}", markup=False, highlight=False, soft_wrap=True)
    _say_simulated(cand, base)
    folder = out or workspace / "reports" / _slug("compare", str(base.ref), "vs", str(cand.ref))
    _write(
        build_comparison_report(cmp, caveats=comparison_caveats(cmp, [base, cand])), folder, formats
    )


# --------------------------------------------------------------------------- report


def report(
    run: Annotated[str, typer.Argument(help="RUN[:MODEL[:PROMPT]] or 'latest'.")],
    regression: Annotated[
        bool, typer.Option("--regression", help="Compare with the last accepted run instead.")
    ] = False,
    margin: Annotated[
        list[float] | None,
        typer.Option("--margin", help="Non-inferiority margin for --regression (repeatable)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Report folder [default: WORKSPACE/reports/...].")
    ] = None,
    formats: Annotated[str, typer.Option("--format", help="html,md,json")] = "html,md,json",
    include_simulated: IncludeSimulatedOpt = False,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Write a run's summary report, or its regression against the last accepted run."""
    from evals.rundata import OutcomeSpec
    from reports import build_run_summary, load_decisions, load_examples

    ws = _open(workspace)
    cand = _load(ws, run, OutcomeSpec(), regression, include_simulated)
    _say_simulated(cand)
    if not regression:
        propagation = _propagation(ws, cand)
        summary = build_run_summary(
            cand, load_examples(ws, cand), load_decisions(ws, cand.ref.run_id), propagation
        )
        if propagation is not None:
            _print_propagation(propagation)
        _add_whole_reviews(ws, cand, summary)
        _write(summary, out or workspace / "reports" / _slug("summary", str(cand.ref)), formats)
        return
    from evals.compare import compare_runs
    from evals.gates import last_accepted, run_scope
    from reports import build_comparison_report
    from reports.caveats import comparison_caveats

    scope = run_scope(cand.manifest)
    base_ref = last_accepted(ws, exclude=cand.ref, scope=scope)
    if base_ref is None:
        if last_accepted(ws) is not None:  # a gate shipped this very run, and no other
            fail(
                f"{cand.ref} is the only accepted run (a gate shipped it): there is no "
                "earlier accepted run to regress against; compare it with another run "
                "(`evals compare BASELINE CANDIDATE`)"
            )
        fail(
            f"no accepted run of suite {scope[0]!r} on golden set {scope[1]!r} to regress "
            "against (a gate decision 'ship' marks a run accepted: run `evals gate` first)"
        )
    base = _load(ws, base_ref, OutcomeSpec(), True, include_simulated)
    cmp = compare_runs(base, cand, margin or [0.05])
    _require_pairs(cmp)
    print_table(_out(), _compare_table(cmp))
    folder = out or workspace / "reports" / _slug("regression", str(cand.ref))
    report_obj = build_comparison_report(
        cmp, kind="regression", caveats=comparison_caveats(cmp, [base, cand])
    )
    _write(report_obj, folder, formats)


def _add_whole_reviews(ws: Workspace, cand: RunData, summary: Report) -> None:
    """Whole reviews of this run's trials (labeling_app.review_report): printed, and a
    section and data of the report."""
    from labeling_app.review_report import (
        whole_review_data,
        whole_review_section,
        whole_review_tables,
    )
    from reports.model import TableBlock

    tables = whole_review_tables(ws, cand)
    if tables is None:
        return
    section = whole_review_section(tables)
    summary.sections.append(section)
    summary.data["whole_reviews"] = whole_review_data(tables)
    for block in section.blocks:
        if isinstance(block, TableBlock):
            table = Table(title=f"Whole reviews: {block.title.lower()}")
            for col in block.columns:
                table.add_column(col, overflow="fold")
            for row in block.rows:
                table.add_row(*("" if c is None else str(c) for c in row))
            print_table(_out(), table)


def _propagation(ws: Workspace, cand: RunData) -> Comparison | None:
    """For a review run in free mode: its comparison with the teacher run (same cell)."""
    import orjson

    from evals.compare import compare_runs
    from evals.review_run import mode_run_id
    from evals.rundata import OutcomeSpec, RunRef, RunSelectionError, load_run

    config = cand.manifest.get("config") or {}
    if isinstance(config, str):  # the runs view keeps nested JSON as text
        config = orjson.loads(config)
    if config.get("review_mode") != "free":
        return None
    ref = cand.ref
    teacher_ref = RunRef(mode_run_id(ref.run_id, "teacher"), ref.model, ref.prompt)
    try:
        teacher = load_run(ws, teacher_ref, OutcomeSpec())
    except RunSelectionError:
        return None  # a review suite run with review_modes: [free] only
    return compare_runs(teacher, cand)


def _print_propagation(cmp: Comparison) -> None:
    from reports.propagation import propagation_rows

    table = Table(title="Error propagation: free (own upstream answers) vs teacher (references)")
    for col in ("question", "pairs", "teacher", "free", "free - teacher", "McNemar p"):
        table.add_column(col, overflow="fold")
    for row in propagation_rows(cmp):
        table.add_row(*("" if c is None else str(c) for c in row))
    _out().print(table)


def register(app: typer.Typer) -> None:
    """Add gate, compare and report to the CLI."""
    app.command("gate")(gate)
    app.command("compare")(compare)
    app.command("report")(report)
