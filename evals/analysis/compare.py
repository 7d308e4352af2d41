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

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from evals import stats
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

PairBy = Literal["case", "case_repetition"]


class NonInferiority(BaseModel):
    """Non-inferiority of the candidate at one margin."""

    margin: float
    verdict: Literal["non-inferior", "inferior", "undecided"]
    low: float
    high: float
    p_value: float
    """One-sided score-test p-value against H0: p_b - p_a <= -margin."""
    n_needed: int | None
    """Total pairs needed (80 % power) when undecided; None if no n would do."""
    n_more: int | None
    """n_needed minus the pairs at hand."""


class PairedOutcomes(BaseModel):
    """The paired 2x2 table of one binary outcome and what follows from it."""

    n: int
    both_pass: int
    baseline_only: int
    """b10: baseline passed, candidate failed."""
    candidate_only: int
    """b01: baseline failed, candidate passed."""
    both_fail: int
    baseline_rate: float | None
    candidate_rate: float | None
    diff: float | None
    """p_candidate - p_baseline."""
    low: float
    high: float
    confidence: float
    mcnemar_p: float
    noninferiority: list[NonInferiority] = Field(default_factory=list)
    unpaired_baseline: int = 0
    unpaired_candidate: int = 0
    changed_cases: int = 0
    """Pairs whose case content hash differs between the runs."""
    cells: dict[str, list[str]] = Field(default_factory=dict)
    """Trial keys (both arms) behind each cell: both_pass, baseline_only, ... (at most
    ``Comparison.evidence_cap`` of them when that is set)."""
    cell_trials: dict[str, int] = Field(default_factory=dict)
    """How many trials (both arms) are behind each cell: the count of ``cells`` uncapped."""


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


Unit = tuple[bool, list[str], str, str]
"""(outcome, trial keys, question id, case hash) of one pairing unit."""


def pairing_units(
    trials: Sequence[TrialFacts], value: Callable[[TrialFacts], bool | None], pair_by: PairBy
) -> dict[str, Unit]:
    # One pass, one dict lookup a trial: [passes, keys, first trial] per unit.
    acc: dict[str, list[Any]] = {}
    by_case = pair_by == "case"
    for t in trials:
        v = value(t)
        if v is None:
            continue
        unit = t.case_id if by_case else f"{t.case_id}#{t.repetition}"
        a = acc.get(unit)
        if a is None:
            acc[unit] = [1 if v else 0, [t.key], t]
        else:
            a[0] += 1 if v else 0
            a[1].append(t.key)
    out: dict[str, Unit] = {}
    for unit, (passes, keys, first) in acc.items():
        out[unit] = (2 * passes > len(keys), keys, first.question_id, first.case_hash)
    return out


def noninferiority_of(
    a: list[bool], b: list[bool], margin: float, confidence: float
) -> NonInferiority:
    """The non-inferiority test of paired outcomes at one margin
    (evals.stats.noninferiority_paired), with the pairs still needed when undecided."""
    ni = stats.noninferiority_paired(a, b, margin, confidence=1.0 - (1.0 - confidence) / 2.0)
    return NonInferiority(
        margin=margin,
        verdict=ni.verdict,
        low=ni.low,
        high=ni.high,
        p_value=ni.p_value,
        n_needed=ni.n_needed if ni.verdict == "undecided" else None,
        n_more=max(ni.n_needed - ni.n, 0) if ni.verdict == "undecided" and ni.n_needed else None,
    )


def paired_outcomes(
    base: dict[str, Unit], cand: dict[str, Unit], margins: Sequence[float], confidence: float
) -> PairedOutcomes:
    """The paired analysis of two arms' units (see the module docstring)."""
    common = sorted(base.keys() & cand.keys())
    a = [base[u][0] for u in common]
    b = [cand[u][0] for u in common]
    cells: dict[str, list[str]] = {
        "both_pass": [],
        "baseline_only": [],
        "candidate_only": [],
        "both_fail": [],
    }
    cell_of = {
        (True, True): cells["both_pass"],
        (True, False): cells["baseline_only"],
        (False, True): cells["candidate_only"],
        (False, False): cells["both_fail"],
    }
    changed = 0
    for u, x, y in zip(common, a, b, strict=True):
        bu, cu = base[u], cand[u]
        cell = cell_of[(x, y)]
        cell += bu[1]
        cell += cu[1]
        changed += bu[3] != cu[3]
    diff = stats.paired_rate_difference(a, b, confidence)
    n = len(common)
    return PairedOutcomes(
        n=n,
        both_pass=sum(x and y for x, y in zip(a, b, strict=True)),
        baseline_only=diff.b10,
        candidate_only=diff.b01,
        both_fail=sum(not x and not y for x, y in zip(a, b, strict=True)),
        baseline_rate=sum(a) / n if n else None,
        candidate_rate=sum(b) / n if n else None,
        diff=None if math.isnan(diff.diff) else diff.diff,
        low=diff.low,
        high=diff.high,
        confidence=confidence,
        mcnemar_p=stats.mcnemar_exact(diff.b01, diff.b10),
        noninferiority=[noninferiority_of(a, b, m, confidence) for m in margins],
        unpaired_baseline=len(base.keys() - cand.keys()),
        unpaired_candidate=len(cand.keys() - base.keys()),
        changed_cases=changed,
        cells=cells,
        cell_trials={c: len(keys) for c, keys in cells.items()},
    )


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
    for m in margins:
        if not 0.0 <= m < 1.0:
            raise ValueError(f"margin must be in [0, 1), got {m}")
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
    return Comparison(
        baseline_ref=str(base.ref),
        candidate_ref=str(cand.ref),
        baseline_outcome_source=base.outcome_source,
        candidate_outcome_source=cand.outcome_source,
        pair_by=pair_by,
        margins=list(margins),
        confidence=confidence,
        overall=overall,
        questions=per_q,
        baseline_handling_time=_handling(base, confidence),
        candidate_handling_time=_handling(cand, confidence),
        simulated=base.simulated or cand.simulated,
        warnings=_warnings(base, cand, overall),
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
