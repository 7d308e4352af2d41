"""Caveats a report shows under its decision box, computed from data it already has.

Each is one :class:`reports.model.Caveat` per kind: missing cost (trials that used tokens
but carry no price), simulated labels (reviewers named ``sim:*``), too few cases (a
question under :data:`MIN_CASES` cases, few human labels, or a gate that needs more),
and errors (trials without an outcome). Code that knows more (a provenance flag on a
metric) adds or replaces a caveat of the same kind with :func:`reports.model.add_caveat`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from evals.analysis.compare import Comparison
from evals.analysis.paired_arms import CostFacts
from evals.analysis.rundata import LabelFacts, RunData, TrialFacts
from evals.schema import Decision
from reports.model import Caveat

if TYPE_CHECKING:
    from reports.summary_facts import SummaryFacts

MIN_CASES = 30
"""Below this many cases (or labels), intervals are wide enough to say so (a 95% Wilson
interval at 30 cases and a rate near 80% spans about ±15 points)."""

SIMULATED_PREFIX = "sim:"
"""Reviewer ids of simulated reviewers (the demo's label simulator)."""


def missing_cost(trials: Sequence[TrialFacts]) -> Caveat | None:
    """Trials that used tokens but have no cost (no price for the model), if any."""
    used = [t for t in trials if t.input_tokens + t.output_tokens > 0]
    unpriced = [t for t in used if not t.cost_usd]
    return missing_cost_of(
        CostFacts(len(used), len(unpriced), sorted({t.model_alias for t in unpriced}))
    )


def missing_cost_of(cost: CostFacts) -> Caveat | None:
    """The missing-cost caveat from counts (evals.analysis.paired_arms.cost_facts)."""
    if not cost.unpriced:
        return None
    models = ", ".join(cost.models)
    share = "none" if cost.unpriced == cost.used else f"{cost.used - cost.unpriced}"
    return Caveat(
        kind="missing_cost",
        text=f"Cost is missing: {cost.unpriced} of {cost.used} trials that used tokens have "
        f"no recorded cost ({models}; {share} priced). Their cost is not recorded (unknown, "
        "not zero): cost totals leave it out, and a cost threshold cannot fail on them.",
    )


def simulated_labels(labels: Sequence[LabelFacts]) -> Caveat | None:
    """Labels from simulated reviewers counted in the report's numbers, if any."""
    sim = [lab for lab in labels if lab.reviewer.startswith(SIMULATED_PREFIX)]
    if not sim:
        return None
    return Caveat(
        kind="simulated_labels",
        text=f"Simulated labels: {len(sim)} of {len(labels)} labels come from simulated "
        f"reviewers ({SIMULATED_PREFIX}*), not people; helpfulness and handling time "
        "include them.",
    )


def too_few_cases(
    trials: Sequence[TrialFacts], labels: Sequence[LabelFacts], decision: Decision | None = None
) -> Caveat | None:
    """Questions under MIN_CASES cases, few helpful labels, or a gate needing more cases."""
    cases = Counter(q for q, _ in {(t.question_id, t.case_id) for t in trials})
    return too_few_cases_of(cases, labels, decision)


def too_few_cases_of(
    cases: Mapping[str, int], labels: Sequence[LabelFacts], decision: Decision | None = None
) -> Caveat | None:
    """too_few_cases from the number of cases of each question."""
    parts = []
    small = sorted(q for q, n in cases.items() if n < MIN_CASES)
    if small:
        listed = ", ".join(f"{q} ({cases[q]})" for q in small[:6])
        more = f" and {len(small) - 6} more" if len(small) > 6 else ""
        parts.append(
            f"{len(small)} of {len(cases)} question(s) have fewer than {MIN_CASES} cases: "
            f"{listed}{more}; their intervals are wide."
        )
    rated = sum(1 for lab in labels if lab.helpful is not None)
    if 0 < rated < MIN_CASES:
        parts.append(f"Only {rated} helpfulness labels.")
    if decision is not None and decision.n_more_needed:
        parts.append(f"The gate needs about {decision.n_more_needed} more cases to decide.")
    if not parts:
        return None
    return Caveat(kind="too_few_cases", text="Too few cases: " + " ".join(parts))


def errors(trials: Sequence[TrialFacts]) -> Caveat | None:
    """Trials lost to infrastructure errors (no outcome), if any."""
    return errors_of(sum(1 for t in trials if t.error_kind == "infra"), len(trials))


def errors_of(infra: int, trials: int) -> Caveat | None:
    """errors from its counts."""
    if not infra:
        return None
    return Caveat(
        kind="errors",
        text=f"{infra} of {trials} trials failed on infrastructure and have no "
        "outcome; they are left out of the rates (rerun the suite to retry them).",
    )


def run_caveats(run: RunData | SummaryFacts, decision: Decision | None = None) -> list[Caveat]:
    """Every caveat that applies to one run's numbers."""
    if isinstance(run, RunData):
        from reports.summary_facts import from_run

        run = from_run(run)
    labels = [*run.assisted, *run.unassisted]
    found = [
        missing_cost_of(CostFacts(run.used_tokens, run.unpriced, list(run.unpriced_models))),
        simulated_labels(labels),
        too_few_cases_of(run.question_cases, run.assisted, decision),
        errors_of(run.infra_errors, run.trials),
    ]
    return [c for c in found if c is not None]


def comparison_caveats(
    cmp: Comparison, runs: Sequence[RunData] = (), counted: CostFacts | None = None
) -> list[Caveat]:
    """Caveats of a comparison; ``runs`` (baseline, candidate) adds the label caveats;
    ``counted``: their trials' cost counts, when the runs hold no trials (computed in
    the store, evals.analysis.paired_sql)."""
    out: list[Caveat] = []
    trials = [t for r in runs for t in r.trials]
    if counted is not None:
        cost = missing_cost_of(counted)
    else:
        cost = missing_cost(trials) if trials else None
    if cost is None and not trials and counted is None:
        arms = (cmp.overall.baseline, cmp.overall.candidate)
        if any(a.trials and not a.cost_total_usd for a in arms):
            cost = Caveat(
                kind="missing_cost",
                text="Cost is missing for at least one run (no cost was recorded for its "
                "trials): the cost comparison is not meaningful.",
            )
    labels = [lab for r in runs for lab in (*r.assisted, *r.unassisted)]
    out += [c for c in (cost, simulated_labels(labels)) if c is not None]
    n = cmp.overall.outcome.n
    if n < MIN_CASES:
        out.append(
            Caveat(
                kind="too_few_cases",
                text=f"Too few cases: only {n} paired cases (fewer than {MIN_CASES}); "
                "differences of a few points cannot be told from chance.",
            )
        )
    if cmp.warnings:
        out.append(Caveat(kind="warnings", text=" ".join(cmp.warnings)))
    return out
