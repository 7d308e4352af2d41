"""The end of `evals run`: apply the suite's gates and write JUnit XML.

Exit codes follow `evals gate` (docs): 0 every decision ships, 3 a check failed in
any decision, 4 none failed but one is undecided; 1 for an error (unknown baseline, no
accepted run yet for ``baseline: last-accepted``). A run with trials not recorded or
lost to infrastructure errors is not gated at all (a partial run must not be marked
accepted) and `evals run` exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evals.cli.common import EXIT_ERROR, EXIT_GATE_FAILED, EXIT_OK, EXIT_UNDECIDED, console, fail

if TYPE_CHECKING:
    from evals.analysis.rundata import OutcomeSpec
    from evals.analysis.runfacts import FactSession, RunFacts
    from evals.analysis.suite_gates import SuiteGate
    from evals.schema import Decision
    from evals.store.workspace import Workspace


def outcome_exit(decisions: list[Decision]) -> int:
    """3 if any decision failed, else 4 if any is undecided, else 0 (also for none)."""
    outcomes = {d.outcome for d in decisions}
    if "fail" in outcomes:
        return EXIT_GATE_FAILED
    return EXIT_UNDECIDED if "undecided" in outcomes else EXIT_OK


def _last_accepted_elsewhere(ws: Workspace, run_id: str) -> str | None:
    """The newest shipped run other than this one (a resumed run must not be its own
    baseline, nor one of its cells another's)."""
    from evals.store.query import query

    rows = query(
        ws,
        "SELECT run_ref, run_id FROM decisions WHERE outcome = 'ship' AND run_id <> ? "
        "AND run_id IN (SELECT run_id FROM runs) ORDER BY created_at DESC, recorded_at DESC",
        [run_id],
    )
    return str(rows[0]["run_ref"] or rows[0]["run_id"]) if rows else None


def _baseline(
    ws: Workspace, fs: FactSession, text: str | None, cand: RunFacts, outcome: OutcomeSpec
) -> RunFacts | None:
    from evals.analysis.rundata import RunRef, RunSelectionError

    if text in (None, "none"):
        return None
    if text == "last-accepted":
        found = _last_accepted_elsewhere(ws, cand.ref.run_id)
        if found is None:
            fail(
                "suite gate: no accepted run yet for baseline: last-accepted (gate the "
                "first run with baseline: none, or name a run)"
            )
        text = found
    try:
        ref = fs.resolve(ws, str(text))
        if ref.model is None and ref.prompt is None:  # a whole run: the same cell of it
            ref = RunRef(ref.run_id, cand.ref.model, cand.ref.prompt)
        return fs.load(ref, outcome, single_cell=True)
    except RunSelectionError as exc:
        fail(f"suite gate baseline: {exc}")


def _decide_cells(ws: Workspace, fs: FactSession, run_id: str, sg: SuiteGate) -> list[Decision]:
    """One suite gate on every cell it names, each decision recorded and printed."""
    from evals.analysis.gates import evaluate_gate_facts, record_decision
    from evals.analysis.rundata import RunRef
    from evals.cli.gate import print_decision

    outcome = sg.gate.spec.outcome
    decisions = []
    for model, prompt in sg.cells or fs.load(RunRef(run_id), outcome).cells:
        cand = fs.load(RunRef(run_id, model, prompt), outcome, single_cell=True)
        base = _baseline(ws, fs, sg.entry.baseline, cand, outcome)
        try:
            decision = evaluate_gate_facts(sg.gate, fs, cand, base)
        except ValueError as exc:
            fail(f"suite gate {sg.entry.gate}: {exc}")
        record_decision(ws, decision)
        print_decision(decision, recorded=True)
        decisions.append(decision)
    return decisions


def apply_suite_gates(ws: Workspace, run_id: str, gates: list[SuiteGate]) -> list[Decision]:
    """Evaluate, record and print every gate on every cell it names, over the typed
    columns as `evals gate` does (evals.analysis.runfacts: the trials stay in DuckDB)."""
    from evals.analysis.runfacts import fact_session

    decisions = []
    with fact_session(ws) as fs:
        fs.prefetch([run_id])
        for sg in gates:
            decisions += _decide_cells(ws, fs, run_id, sg)
    if decisions:
        counts = {
            o: sum(1 for d in decisions if d.outcome == o) for o in ("ship", "fail", "undecided")
        }
        console.print(
            f"suite gates: {len(decisions)} decision(s): {counts['ship']} ship, "
            f"{counts['fail']} fail, {counts['undecided']} undecided",
            highlight=False,
        )
    return decisions


def write_run_junit(ws: Workspace, run_id: str, decisions: list[Decision], path: Path) -> None:
    """JUnit XML of the run (a test case per question and cell) and of each decision."""
    from evals.analysis.junit import decision_suite, run_suite_facts, write_junit
    from evals.analysis.rundata import RunRef
    from evals.analysis.runfacts import fact_session

    with fact_session(ws) as fs:  # the run's trials stay in DuckDB
        suite = run_suite_facts(fs, fs.load(RunRef(run_id)), decisions)
    write_junit(path, [suite, *(decision_suite(d) for d in decisions)])
    console.print(f"wrote {path}", highlight=False, soft_wrap=True)


def finish_run(
    ws: Workspace, run_id: str, gates: list[SuiteGate], junit: Path | None, pending: int
) -> int | None:
    """Gates and JUnit at the end of `evals run`; the exit code when there are gates.

    ``pending``: trials not recorded or lost to infrastructure errors. Such a run is
    not final (a rerun retries them), so its gates are not applied (a 'ship' would mark
    a partial run accepted) and the exit code is 1."""
    if gates and pending:
        console.print(
            f"suite gates not applied: {pending} trial(s) not recorded or failed on "
            "infrastructure (rerun the same command to finish the run)",
            highlight=False,
        )
    decisions = apply_suite_gates(ws, run_id, gates) if gates and not pending else []
    if junit is not None:
        write_run_junit(ws, run_id, decisions, junit)
    if not gates:
        return None
    return EXIT_ERROR if pending else outcome_exit(decisions)
