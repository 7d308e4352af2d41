"""`evals compare A B`: two runs paired over the same cases (deprecations, prompt changes)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from evals.cli.common import (
    DEFAULT_WORKSPACE,
    WorkspaceOpt,
    console,
    fail,
)
from evals.tables import print_table

if TYPE_CHECKING:
    from evals.analysis.compare import Comparison


from evals.cli.common import open_workspace
from evals.cli.runs import (
    IncludeSimulatedOpt,
    out_console,
    say_simulated,
    slug,
    write_reports,
)


def _ni_cell(verdict: str, n_more: int | None) -> str:
    if verdict == "non-inferior":
        return "[green]ok[/]"
    if verdict == "inferior":
        return "[red]worse[/]"
    return f"[yellow]? +{n_more}[/]" if n_more else "[yellow]?[/]"


def compare_table(cmp: Comparison) -> Table:
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


def require_pairs(cmp: Comparison) -> None:
    """A comparison with no paired case says nothing: an error with the reason, and no
    report (a CI job must not read an empty table as "no regression")."""
    if cmp.overall.outcome.n:
        return
    why = "; ".join(cmp.warnings) or "the runs share no case with an outcome in both"
    fail(f"no paired cases between {cmp.baseline_ref} and {cmp.candidate_ref}: {why}")


BaselineArg = Annotated[str, typer.Argument(help="Baseline RUN[:MODEL[:PROMPT]].")]

CandidateArg = Annotated[str, typer.Argument(help="Candidate RUN[:MODEL[:PROMPT]].")]

MarginOpt = Annotated[
    list[float] | None, typer.Option("--margin", help="Non-inferiority margin (repeatable).")
]

OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Report folder [default: WORKSPACE/reports/compare-...]."),
]

FormatOpt = Annotated[str, typer.Option("--format", help="html,md,json")]

OutcomeOpt = Annotated[str, typer.Option(help="auto | cascade | imported")]

ImportedThresholdOpt = Annotated[
    float | None, typer.Option(help="Imported runs: pass when the recorded outcome >= this.")
]

PairByOpt = Annotated[str, typer.Option(help="case | case_repetition")]

ConfidenceOpt = Annotated[float, typer.Option(help="Two-sided interval coverage.")]


def compare(
    baseline: BaselineArg,
    candidate: CandidateArg,
    margin: MarginOpt = None,
    out: OutOpt = None,
    formats: FormatOpt = "html,md,json",
    outcome: OutcomeOpt = "auto",
    imported_threshold: ImportedThresholdOpt = None,
    pair_by: PairByOpt = "case",
    confidence: ConfidenceOpt = 0.95,
    include_simulated: IncludeSimulatedOpt = False,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Compare two runs over the same cases, per question and overall, and write a report."""
    from pydantic import ValidationError

    from evals.analysis.compare import PairBy
    from evals.analysis.paired_sql import compare_in_store
    from evals.analysis.rundata import OutcomeSpec, RunSelectionError
    from reports import build_comparison_report
    from reports.caveats import comparison_caveats

    if pair_by not in ("case", "case_repetition"):
        fail(f"--pair-by must be case or case_repetition, got {pair_by!r}")
    pairing: PairBy = "case" if pair_by == "case" else "case_repetition"
    if not 0.5 < confidence < 1.0:
        fail(f"--confidence must be in (0.5, 1), got {confidence}")
    try:
        spec = OutcomeSpec(source=outcome, imported_threshold=imported_threshold)
    except ValidationError:
        fail(f"--outcome must be auto, cascade or imported, got {outcome!r}")
    ws = open_workspace(workspace)
    try:
        # In the store (evals.analysis.paired_sql): the figures of compare_runs over
        # load_run's trials, without a Python object per trial.
        done = compare_in_store(
            ws, baseline, candidate, spec, margin or [0.05], confidence, pairing,
            include_simulated,
        )  # fmt: skip
    except RunSelectionError:
        raise  # a located not-found error with its own exit code (docs/errors.md)
    except ValueError as exc:
        fail(str(exc))
    cmp, (base, cand) = done.comparison, done.runs
    require_pairs(cmp)
    print_table(out_console(), compare_table(cmp))
    for w in cmp.warnings:
        console.print(f"warning: {w}", markup=False, highlight=False, soft_wrap=True)
    say_simulated(cand, base)
    folder = out or workspace / "reports" / slug("compare", str(base.ref), "vs", str(cand.ref))
    write_reports(
        build_comparison_report(cmp, caveats=comparison_caveats(cmp, [base, cand], done.cost)),
        folder,
        formats,
    )


# --------------------------------------------------------------------------- report


def register(app: typer.Typer) -> None:
    """Add `evals compare`."""
    app.command("compare")(compare)
