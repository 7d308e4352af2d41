"""`evals gate GATE --run RUN`: a gate's checks over a run, the decision recorded.

Exit codes of `evals gate` (docs/gate-compare-report.md): 0 ship, 1 error, 2 invalid gate
file, 3 gate failed, 4 undecided (more cases needed). `--no-fail` reports the outcome
but exits 0 (for demos and dashboards, never for CI).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.table import Table

from evals.cli.common import (
    DEFAULT_WORKSPACE,
    EXIT_GATE_FAILED,
    EXIT_OK,
    EXIT_UNDECIDED,
    WorkspaceOpt,
    console,
    fail,
)
from evals.tables import print_table

if TYPE_CHECKING:
    from evals.analysis.gates import Gate
    from evals.analysis.rundata import RunData
    from evals.analysis.runfacts import RunFacts
    from evals.schema import Decision
    from evals.store.workspace import Workspace


from evals.cli.common import open_workspace
from evals.cli.runs import (
    IncludeSimulatedOpt,
    out_console,
    say_simulated,
)

OUTCOME_EXIT = {"ship": EXIT_OK, "fail": EXIT_GATE_FAILED, "undecided": EXIT_UNDECIDED}
SYMBOL = {"pass": "[green]✓[/]", "fail": "[red]✗[/]", "undecided": "[yellow]?[/]"}
COLOUR = {"ship": "green", "fail": "red", "undecided": "yellow"}


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


def print_decision(decision: Decision, recorded: bool) -> None:
    print_table(out_console(), _gate_table(decision))
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


GateFileArg = Annotated[Path, typer.Argument(help="Gate YAML, e.g. gates/edd_demo.yaml.")]

CandidateOpt = Annotated[
    str, typer.Option("--run", help="Candidate: RUN[:MODEL[:PROMPT]] or 'latest'.")
]

BaselineOpt = Annotated[
    str | None,
    typer.Option(
        "--baseline",
        help="Baseline for non-inferiority: RUN[:MODEL[:PROMPT]], "
        "'last-accepted' (the last run a gate shipped), or 'none'.",
    ),
]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the Decision as JSON.")]

NoFailOpt = Annotated[
    bool, typer.Option("--no-fail", help="Exit 0 whatever the outcome (demos; never in CI).")
]

RecordOpt = Annotated[bool, typer.Option(help="Record the Decision in the workspace.")]

JunitOpt = Annotated[
    Path | None,
    typer.Option("--junit", help="Also write JUnit XML here: one test case per check."),
]


def gate(
    gate_file: GateFileArg,
    run: CandidateOpt,
    baseline: BaselineOpt = None,
    as_json: JsonOpt = False,
    no_fail: NoFailOpt = False,
    record: RecordOpt = True,
    junit: JunitOpt = None,
    include_simulated: IncludeSimulatedOpt = False,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Evaluate a gate on a run: exit 0 ship, 3 fail, 4 undecided (1 error, 2 bad gate file)."""
    from evals.analysis.gates import (
        load_gate,
        record_decision,
    )

    g = load_gate(gate_file)
    ws = open_workspace(workspace)
    if baseline is None and g.spec.needs_baseline():
        fail(
            f"{gate_file} sets noninferiority_margin: give --baseline RUN, "
            "--baseline last-accepted, or --baseline none"
        )
    decision, cand = _decide(ws, g, run, baseline, include_simulated)
    if record:
        record_decision(ws, decision)
        ws.close()
    if junit is not None:
        from evals.analysis.junit import decision_suite, write_junit

        write_junit(junit, [decision_suite(decision)])
    if as_json:
        typer.echo(decision.model_dump_json(indent=2))
    else:
        print_decision(decision, record)
        say_simulated(cast("RunData", cand))  # RunFacts: the same label attributes
    if no_fail and decision.outcome != "ship" and not as_json:
        console.print(f"(--no-fail: exit 0 instead of {OUTCOME_EXIT[decision.outcome]})")
    raise typer.Exit(EXIT_OK if no_fail else OUTCOME_EXIT[decision.outcome])


def _decide(
    ws: Workspace, g: Gate, run: str, baseline: str | None, include_simulated: bool
) -> tuple[Decision, RunFacts]:
    """The gate's decision on the candidate (against the baseline: a run, 'last-accepted'
    or 'none') in one connection: the runs' trials stay in DuckDB, the statistics come
    back as tallies."""
    from evals.analysis.gates import evaluate_gate_facts, last_accepted, run_scope
    from evals.analysis.runfacts import fact_session

    with fact_session(ws) as fs:
        cand_ref = fs.resolve(ws, run)
        base_ref = baseline
        if baseline == "last-accepted":
            scope = run_scope(fs.manifest(cand_ref))
            base_ref = last_accepted(ws, exclude=cand_ref, scope=scope, session=fs)
            if base_ref is None:
                fail(
                    f"no accepted run of suite {scope[0]!r} on golden set {scope[1]!r} yet (no "
                    "gate has shipped one): gate the first one with --baseline none, or name a "
                    "baseline run"
                )
        base_run = None if base_ref in (None, "none") else fs.resolve(ws, str(base_ref))
        fs.prefetch([r.run_id for r in (cand_ref, base_run) if r is not None])
        cand = fs.load(cand_ref, g.spec.outcome, single_cell=True,
                       include_simulated=include_simulated)
        base = None if base_run is None else fs.load(
            base_run, g.spec.outcome, single_cell=True, include_simulated=include_simulated
        )
        try:
            decision = evaluate_gate_facts(g, fs, cand, base)
        except ValueError as exc:
            fail(str(exc))
    return decision, cand


# --------------------------------------------------------------------------- compare


def register(app: typer.Typer) -> None:
    """Add `evals gate`."""
    app.command("gate")(gate)
