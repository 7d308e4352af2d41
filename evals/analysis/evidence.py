"""The trial keys behind a gate check, found again from its evidence selections.

A Decision records each check's trials as selections (evals.schema.TrialSelection: run,
question, which trials, count), not as key lists, so a decision over any number of
trials fits in one record (evals.analysis.gate_checks). :func:`evidence_keys` lists the
keys of a check by loading the runs and applying the decision's own gate configuration
(outcome source, pairing, helpfulness base): the records as they are now, so a count that
differs from the selection's recorded count means the records changed since the decision.
"""

from __future__ import annotations

from evals.analysis.gates import GateSpec
from evals.analysis.pairing import pairing_units
from evals.analysis.rundata import RunData, TrialFacts, load_run, resolve_run_ref
from evals.analysis.runstats import helpful_by_trial
from evals.schema import Decision, GateCheck, TrialSelection
from evals.store.workspace import Workspace


def _in_scope(run: RunData, sel: TrialSelection) -> list[TrialFacts]:
    return [t for t in run.trials if sel.question in (None, t.question_id)]


def _selected(
    run: RunData, sel: TrialSelection, spec: GateSpec, other: RunData | None
) -> list[str]:
    trials = _in_scope(run, sel)
    if sel.where == "outcome":
        return [t.key for t in trials if t.outcome is not None]
    if sel.where == "priced":
        return [t.key for t in trials if t.cost_usd is not None]
    if sel.where == "reviewed":
        rated = helpful_by_trial(run.assisted)
        candidates = spec.helpful_base == "candidates"
        return [
            t.key for t in trials
            if t.key in rated or (candidates and t.cascade_label == "fail")
        ]
    if sel.where == "labels":
        keys = {t.key for t in trials}
        return sorted({
            lb.trial_key for lb in run.assisted
            if lb.trial_key in keys and lb.active_seconds is not None and lb.active_seconds > 0
        })
    if sel.where == "paired" and other is not None:
        mine = pairing_units(trials, lambda t: t.outcome, spec.pair_by)
        theirs = pairing_units(_in_scope(other, sel), lambda t: t.outcome, spec.pair_by)
        return [k for u in sorted(mine.keys() & theirs.keys()) for k in mine[u][1]]
    return [t.key for t in trials]


def evidence_keys(ws: Workspace, decision: Decision, check: GateCheck) -> list[str]:
    """The keys of the trials behind `check` (a check recorded with key lists: those)."""
    if not check.evidence:
        return list(check.trial_keys)
    spec = GateSpec.model_validate(decision.gate_config.get("spec") or {})
    runs = {
        sel.run_ref: load_run(
            ws, resolve_run_ref(ws, sel.run_ref), spec.outcome, include_simulated=check.simulated
        )
        for sel in check.evidence
    }
    keys: list[str] = []
    for sel in check.evidence:
        others = [runs[s.run_ref] for s in check.evidence if s.run_ref != sel.run_ref]
        keys += _selected(runs[sel.run_ref], sel, spec, others[0] if others else None)
    return keys
