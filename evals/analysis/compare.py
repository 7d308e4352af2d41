"""Paired comparison of two runs over the same cases (deprecations, prompt changes).

``a`` is the baseline (the model being deprecated, the current prompt), ``b`` the
candidate. Per question and overall: each arm's descriptive statistics
(:class:`evals.analysis.runstats.ArmStats`: pass rate, helpfulness, verdicts, cost, tokens with
cached input apart, latency p50/p95, tool calls per trial), and for the outcome and for
helpfulness the paired analysis: the 2x2 table, the difference ``p_b - p_a`` with its
Tango score interval, the exact McNemar p, and a non-inferiority verdict per margin
with the number of cases needed when the data cannot decide.

**Pairing** (``pair_by``):

* ``case`` (default): the unit is the case. With repetitions, a case passes in an arm
  when more than half of its repetitions with an outcome pass (a tie is a fail, in both
  arms alike). Repetitions of one case are not independent, so this keeps n honest.
* ``case_repetition``: the unit is (case, repetition), matched across the runs; use it
  when repetitions are meant as independent replicates (different seeds or samples).

A unit counts only when both arms have an outcome for it; the rest are reported as
unpaired. Pairs whose case content differs between the runs (``case_hash``) are still
paired by case id, and counted in a warning.

**Non-inferiority** at margin m is shown when the lower bound of the two-sided
``confidence`` interval of ``p_b - p_a`` is above ``-m`` (one-sided alpha =
``(1 - confidence)/2``, the usual regulatory convention), so the verdict can be read off
the interval the report prints. "inferior" when the upper bound is below ``-m``;
otherwise "undecided" with ``n_needed`` (total pairs for 80 % power at the observed
discordance and difference, :func:`evals.stats.sample_size_noninferiority_paired`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from pydantic import BaseModel, Field

from evals.analysis.pairing import (
    NonInferiority,
    PairBy,
    PairedOutcomes,
    Unit,
    paired_outcomes,
    pairing_units,
)
from evals.analysis.rundata import LabelFacts, RunData, TrialFacts, no_gc
from evals.analysis.runstats import (
    ArmStats,
    HandlingTime,
    HelpfulBase,
    arm_stats,
    handling_time,
    helpful_by_trial,
)
from evals.schema import utcnow

# The paired table lives in evals.analysis.pairing; these names stay importable from here.
__all__ = [
    "Comparison",
    "NonInferiority",
    "PairBy",
    "PairedOutcomes",
    "ScopeComparison",
    "Unit",
    "by_question",
    "check_margins",
    "compare_runs",
    "comparison_of",
    "in_question",
    "paired_outcomes",
    "pairing_units",
]

class ScopeComparison(BaseModel):
    """Baseline against candidate on one scope: 'overall' or a question id."""

    scope: str
    baseline: ArmStats
    candidate: ArmStats
    outcome: PairedOutcomes
    helpful: PairedOutcomes | None
    """Paired helpfulness over cases reviewed in both arms (None when there are none)."""


class Comparison(BaseModel):
    """`evals compare`: two runs, per question and overall."""

    baseline_ref: str
    candidate_ref: str
    baseline_outcome_source: str
    candidate_outcome_source: str
    pair_by: PairBy
    margins: list[float]
    confidence: float
    overall: ScopeComparison
    questions: list[ScopeComparison]
    baseline_handling_time: HandlingTime | None = None
    """Baseline's assisted vs unassisted handling time (evals.analysis.runstats.handling_time)."""
    candidate_handling_time: HandlingTime | None = None
    """Candidate's assisted vs unassisted handling time."""
    simulated: bool = False
    """Some human number here is built on simulated reviewers' labels (sim:*)."""
    warnings: list[str] = Field(default_factory=list)
    evidence_cap: int | None = None
    """Each list of trial keys holds at most this many (the first in the order question,
    case, repetition, key; a cell's, of its first units); None: every key."""
    evidence_query: str | None = None
    """SQL over the workspace's views listing every trial behind the figures."""
    created_at: str = Field(default_factory=lambda: utcnow().isoformat())


def in_question(question_id: str) -> Callable[[TrialFacts], bool]:
    """Filter for the trials of one question."""
    return lambda t: t.question_id == question_id


def by_question(trials: Sequence[TrialFacts]) -> dict[str, list[TrialFacts]]:
    """The trials of each question, in their order (one pass, not one per question)."""
    out: dict[str, list[TrialFacts]] = defaultdict(list)
    for t in trials:
        out[t.question_id].append(t)
    return out


def _helpful_value(labels: Sequence[LabelFacts]) -> Callable[[TrialFacts], bool | None]:
    rated = helpful_by_trial(labels)
    return lambda t: rated.get(t.key)


def _scope(
    name: str,
    base: RunData,
    cand: RunData,
    trials: tuple[list[TrialFacts], list[TrialFacts]],
    margins: Sequence[float],
    confidence: float,
    pair_by: PairBy,
    helpful_base: HelpfulBase,
) -> ScopeComparison:
    bt, ct = trials
    outcome = paired_outcomes(
        pairing_units(bt, lambda t: t.outcome, pair_by),
        pairing_units(ct, lambda t: t.outcome, pair_by),
        margins,
        confidence,
    )
    helpful = None
    if base.assisted and cand.assisted:  # else no pair: n = 0, no helpful comparison
        helpful = paired_outcomes(
            pairing_units(bt, _helpful_value(base.assisted), pair_by),
            pairing_units(ct, _helpful_value(cand.assisted), pair_by),
            margins,
            confidence,
        )
    return ScopeComparison(
        scope=name,
        baseline=arm_stats(bt, base.assisted, confidence, helpful_base),
        candidate=arm_stats(ct, cand.assisted, confidence, helpful_base),
        outcome=outcome,
        helpful=helpful if helpful is not None and helpful.n else None,
    )


def compare_runs(
    base: RunData,
    cand: RunData,
    margins: Sequence[float] = (0.05,),
    confidence: float = 0.95,
    pair_by: PairBy = "case",
    helpful_base: HelpfulBase = "reviewed",
) -> Comparison:
    """Compare a candidate run with its baseline, overall and per question."""
    check_margins(margins)
    with no_gc():
        return _compare_runs(base, cand, margins, confidence, pair_by, helpful_base)


def _compare_runs(
    base: RunData,
    cand: RunData,
    margins: Sequence[float],
    confidence: float,
    pair_by: PairBy,
    helpful_base: HelpfulBase,
) -> Comparison:
    questions = sorted(set(base.questions()) | set(cand.questions()))
    overall = _scope(
        "overall", base, cand, (base.trials, cand.trials), margins, confidence, pair_by,
        helpful_base,
    )
    bq, cq = by_question(base.trials), by_question(cand.trials)
    per_q = [
        _scope(q, base, cand, (bq.get(q, []), cq.get(q, [])), margins, confidence, pair_by,
               helpful_base)
        for q in questions
    ]
    return comparison_of((base, cand), [overall, *per_q], pair_by, margins, confidence)


def check_margins(margins: Sequence[float]) -> None:
    """Every non-inferiority margin is in [0, 1)."""
    for m in margins:
        if not 0.0 <= m < 1.0:
            raise ValueError(f"margin must be in [0, 1), got {m}")


def comparison_of(
    runs: tuple[RunData, RunData],
    scopes: list[ScopeComparison],
    pair_by: PairBy,
    margins: Sequence[float],
    confidence: float,
    evidence_cap: int | None = None,
    evidence_query: str | None = None,
) -> Comparison:
    """The Comparison of baseline and candidate from their scopes (overall first, then
    each question), with handling times and warnings: the one builder for the Python
    path and the store path (evals.analysis.paired_sql)."""
    base, cand = runs
    overall = scopes[0]
    return Comparison(
        baseline_ref=str(base.ref),
        candidate_ref=str(cand.ref),
        baseline_outcome_source=base.outcome_source,
        candidate_outcome_source=cand.outcome_source,
        pair_by=pair_by,
        margins=list(margins),
        confidence=confidence,
        overall=overall,
        questions=scopes[1:],
        baseline_handling_time=_handling(base, confidence),
        candidate_handling_time=_handling(cand, confidence),
        simulated=base.simulated or cand.simulated,
        warnings=_warnings(base, cand, overall),
        evidence_cap=evidence_cap,
        evidence_query=evidence_query,
    )


def _handling(run: RunData, confidence: float) -> HandlingTime | None:
    ht = handling_time(run.assisted, run.unassisted, confidence)
    return None if ht is None else ht.model_copy(update={"label_ids": []})


def _warnings(base: RunData, cand: RunData, overall: ScopeComparison) -> list[str]:
    out = []
    if base.manifest.get("dataset_hash") != cand.manifest.get("dataset_hash"):
        out.append(
            "the runs used different versions of the golden set "
            f"({base.manifest.get('dataset')}@{base.manifest.get('dataset_hash')} vs "
            f"{cand.manifest.get('dataset')}@{cand.manifest.get('dataset_hash')})"
        )
    o = overall.outcome
    if o.changed_cases:
        out.append(f"{o.changed_cases} paired case(s) changed content between the runs")
    if o.unpaired_baseline or o.unpaired_candidate:
        out.append(
            f"unpaired units left out: {o.unpaired_baseline} baseline-only, "
            f"{o.unpaired_candidate} candidate-only (no outcome in the other run)"
        )
    if base.simulated or cand.simulated:
        out.append(
            "SIMULATED: helpfulness and handling time include simulated reviewers' labels "
            "(sim:*), demo data, not measurements of people"
        )
    if base.outcome_source != cand.outcome_source:
        out.append(
            f"outcome sources differ: baseline {base.outcome_source}, candidate "
            f"{cand.outcome_source}"
        )
    for arm, stats_ in (("baseline", overall.baseline), ("candidate", overall.candidate)):
        missing = stats_.trials - stats_.outcome.n
        if missing:
            out.append(
                f"{arm}: {missing} trial(s) without an outcome "
                f"({stats_.infra_errors} infra errors, the rest unjudged)"
            )
    return out
