"""`evals report RUN` (or `A --baseline B`): the run summary or regression report in HTML,
Markdown and JSON, with its decision box, caveats and glossary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.table import Table

from evals.cli.common import (
    DEFAULT_WORKSPACE,
    WorkspaceOpt,
    fail,
)
from evals.tables import print_table

if TYPE_CHECKING:
    from evals.analysis.compare import Comparison
    from evals.analysis.rundata import RunData, RunRef
    from evals.analysis.runfacts import RunFacts
    from evals.store.workspace import Workspace
    from reports import Report


from evals.cli.common import open_workspace
from evals.cli.compare import compare_table, require_pairs
from evals.cli.runs import (
    IncludeSimulatedOpt,
    out_console,
    say_simulated,
    slug,
    write_reports,
)


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
    section: Annotated[
        list[str] | None,
        typer.Option(
            "--section",
            help="Add a registered or installed report section, or package.module:function "
            "(repeatable; docs/extending.md).",
        ),
    ] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Write a run's summary report, or its regression against the last accepted run."""
    ws = open_workspace(workspace)
    args = _ReportArgs(out or workspace / "reports", out is None, formats, include_simulated,
                       section or [])  # fmt: skip
    if regression:
        _regression(ws, run, margin or [0.05], args)
    else:
        _summary(ws, run, args)


@dataclass
class _ReportArgs:
    """How `evals report` writes a report, whichever it is."""

    out: Path
    """The report folder, or where the default one goes."""
    default_folder: bool
    """No --out: the report goes in a folder named after its kind and run, in ``out``."""
    formats: str
    include_simulated: bool
    sections: list[str]
    """--section names."""

    def folder(self, kind: str, ref: object) -> Path:
        """The folder of a report of this kind on this run."""
        return self.out / slug(kind, str(ref)) if self.default_folder else self.out


def _baseline_of(ws: Workspace, run: str) -> tuple[RunRef, str]:
    """The candidate's reference and the last accepted run of its suite and golden set
    (exits 1 with the reason when there is none)."""
    from evals.analysis.gates import last_accepted, run_scope
    from evals.analysis.runfacts import fact_session

    with fact_session(ws) as fs:
        cand_ref = fs.resolve(ws, run)
        scope = run_scope(fs.manifest(cand_ref))
        base_ref = last_accepted(ws, exclude=cand_ref, scope=scope, session=fs)
        shipped_any = base_ref is not None or last_accepted(ws, session=fs) is not None
    if base_ref is not None:
        return cand_ref, base_ref
    if shipped_any:  # a gate shipped this very run, and no other
        fail(
            f"{cand_ref} is the only accepted run (a gate shipped it): there is no "
            "earlier accepted run to regress against; compare it with another run "
            "(`evals compare BASELINE CANDIDATE`)"
        )
    fail(
        f"no accepted run of suite {scope[0]!r} on golden set {scope[1]!r} to regress "
        "against (a gate decision 'ship' marks a run accepted: run `evals gate` first)"
    )


def _regression(ws: Workspace, run: str, margins: list[float], args: _ReportArgs) -> None:
    """The regression report against the last accepted run, computed in the store as
    `evals compare` is (evals.analysis.paired_sql): the trials stay in DuckDB. Extra
    sections, which read the trials themselves, load the candidate when asked for."""
    from evals.analysis.paired_sql import compare_in_store
    from evals.analysis.rundata import OutcomeSpec, load_run
    from reports import build_comparison_report
    from reports.caveats import comparison_caveats

    cand_ref, base_ref = _baseline_of(ws, run)
    try:
        done = compare_in_store(
            ws, base_ref, cand_ref, OutcomeSpec(), margins, include_simulated=args.include_simulated
        )
    except ValueError as exc:
        fail(str(exc))
    cmp, (base, cand) = done.comparison, done.runs
    say_simulated(cand)
    require_pairs(cmp)
    print_table(out_console(), compare_table(cmp))
    report_obj = build_comparison_report(
        cmp, kind="regression", caveats=comparison_caveats(cmp, [base, cand], done.cost)
    )
    if args.sections:
        data = load_run(ws, cand.ref, OutcomeSpec(), include_simulated=args.include_simulated)
        _add_sections(ws, data, report_obj, args.sections)
    write_reports(report_obj, args.folder("regression", cand.ref), args.formats)


def _summary(ws: Workspace, run: str, args: _ReportArgs) -> None:
    """The run summary, from tallies over the typed columns (evals.analysis.runfacts): the
    trials stay in DuckDB. Whole reviews and extra sections, which read the trials
    themselves, load the run as before when the workspace has any."""
    from evals.analysis.rundata import OutcomeSpec, load_run
    from evals.analysis.runfacts import fact_session
    from reports import build_run_summary, load_decisions, load_examples
    from reports.summary_facts import from_session

    with fact_session(ws) as fs:
        cand = fs.load(fs.resolve(ws, run), OutcomeSpec(), include_simulated=args.include_simulated)
        facts = from_session(fs, cand)
        examples = load_examples(ws, facts, con=fs.con)
        decisions = load_decisions(ws, cand.ref.run_id, con=fs.con)
        queues = fs.con.execute("SELECT count(*) FROM queues").fetchall()[0][0]
    say_simulated(cast("RunData", cand))  # RunFacts: the same label attributes
    propagation = _propagation(ws, cand)
    summary = build_run_summary(facts, examples, decisions, propagation)
    if propagation is not None:
        _print_propagation(propagation)
    if queues or args.sections:
        data = load_run(ws, cand.ref, OutcomeSpec(), include_simulated=args.include_simulated)
        if queues:
            _add_whole_reviews(ws, data, summary)
        _add_sections(ws, data, summary, args.sections)
    write_reports(summary, args.folder("summary", cand.ref), args.formats)


def _add_sections(ws: Workspace, cand: RunData, report_obj: Report, names: list[str]) -> None:
    """The report sections asked for with --section (reports.sections)."""
    if not names:
        return
    from reports.sections import ReportSectionError, SectionContext, add_sections

    try:
        add_sections(report_obj, names, SectionContext(ws, cand, report_obj))
    except ReportSectionError as exc:
        fail(str(exc))


def _add_whole_reviews(ws: Workspace, cand: RunData, summary: Report) -> None:
    """Whole reviews of this run's trials (labeling_app.metrics.review_report): printed, and a
    section and data of the report."""
    from labeling_app.metrics.review_report import (
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
            print_table(out_console(), table)


def _propagation(ws: Workspace, cand: RunData | RunFacts) -> Comparison | None:
    """For a review run in free mode: its comparison with the teacher run (same cell),
    over both runs' trials (a RunFacts candidate is loaded as RunData for it)."""
    import orjson

    from evals.analysis.compare import compare_runs
    from evals.analysis.rundata import (
        OutcomeSpec,
        RunData,
        RunRef,
        RunSelectionError,
        load_run,
    )
    from evals.run.reviews import mode_run_id

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
    if not isinstance(cand, RunData):
        cand = load_run(ws, cand.ref, OutcomeSpec(), include_simulated=cand.include_simulated)
    return compare_runs(teacher, cand)


def _print_propagation(cmp: Comparison) -> None:
    from reports.propagation import propagation_rows

    table = Table(title="Error propagation: free (own upstream answers) vs teacher (references)")
    for col in ("question", "pairs", "teacher", "free", "free - teacher", "McNemar p"):
        table.add_column(col, overflow="fold")
    for row in propagation_rows(cmp):
        table.add_row(*("" if c is None else str(c) for c in row))
    out_console().print(table)


def register(app: typer.Typer) -> None:
    """Add `evals report`."""
    app.command("report")(report)
