"""What the decision commands (gate, compare, report) share: runs named on the command
line loaded with their evidence, the simulated-label notice, and reports written."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from evals.cli.common import (
    console,
    fail,
)

if TYPE_CHECKING:
    from evals.analysis.rundata import OutcomeSpec, RunData
    from evals.store.workspace import Workspace
    from reports import Report


def out_console() -> Console:
    """The stdout console; at least 120 columns when not a terminal (CI logs, pipes), so
    tables of numbers are not folded to 80, unless COLUMNS says how wide to be."""
    if console.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return console
    return Console(width=max(console.width, 120))


IncludeSimulatedOpt = Annotated[
    bool,
    typer.Option(
        "--include-simulated",
        help="Count simulated reviewers' labels (sim:*); every number built on them is "
        "then marked SIMULATED. Default: left out.",
    ),
]


def load_runs(
    ws: Workspace,
    ref_text: str,
    outcome: OutcomeSpec,
    single_cell: bool,
    include_simulated: bool = False,
) -> RunData:
    from evals.analysis.rundata import load_run, resolve_run_ref

    return load_run(
        ws,
        resolve_run_ref(ws, ref_text),
        outcome,
        single_cell=single_cell,
        include_simulated=include_simulated,
    )


def say_simulated(*runs: RunData) -> None:
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


def slug(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts))[:120]


def write_reports(report_obj: Report, out: Path, formats: str) -> None:
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
