"""The checks of a gate: one function per kind of threshold, all following one rule.

The rule (sample-size honesty) and each check's statistics are described in
:mod:`evals.analysis.gates`; this module computes them from a scope's tally
(:mod:`evals.analysis.tallies`) and paired counts (:mod:`evals.analysis.pairing`), however
those were collected (over TrialFacts, or in DuckDB over the typed columns). Every check
returns an :class:`evals.schema.GateCheck` holding its value, threshold, comparator, n,
interval, the cases needed when undecided, and the trials behind the number as a
selection (``evidence``: run, question and which trials, with their count), never as a
list of keys: a decision over any number of trials fits in one record of the views
(evals.store.record_sql.MAX_LINE_BYTES), and evals.analysis.evidence lists the keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evals import stats
from evals.analysis.pairing import PairCounts, paired_from_counts
from evals.analysis.rundata import LabelFacts
from evals.analysis.runstats import RateStat, handling_time, helpful_from_tally, rate_stat
from evals.analysis.tallies import Tally, mean_cost
from evals.schema import GateCheck, GateThresholds, TrialSelection

if TYPE_CHECKING:
    from evals.analysis.gates import GateSpec


@dataclass
class GateRun:
    """What the checks need of the run beyond a scope's tally: refs and human labels."""

    ref: str
    baseline_ref: str | None
    assisted: list[LabelFacts]
    unassisted: list[LabelFacts]
    run_id: str
    baseline_run_id: str | None


@dataclass
class ScopeInput:
    """One scope of a gate: its name, its tally and, with a baseline, its paired counts."""

    scope: str
    tally: Tally
    paired: PairCounts | None


def _evidence(run: GateRun, scope: str, where: str, count: int) -> list[TrialSelection]:
    question = None if scope == "overall" else scope
    return [TrialSelection(run_ref=run.ref, question=question, where=where, count=count)]  # type: ignore[arg-type]


def _rate_check(
    metric: str,
    scope: str,
    stat: RateStat,
    threshold: float,
    confidence: float,
    evidence: list[TrialSelection],
) -> GateCheck:
    """Rate thresholds, decided on the Wilson lower bound (see the module docstring)."""
    value = stat.low if metric == "helpful_lower_bound" else stat.rate
    common = dict(
        metric=metric,
        scope=scope,
        threshold=threshold,
        comparator=">=",
        n=stat.n,
        low=stat.low,
        high=stat.high,
        evidence=evidence,
        estimate=stat.rate if metric == "helpful_lower_bound" else None,
        simulated=stat.simulated,
    )
    if stat.rate is None:
        return GateCheck(value=None, outcome="undecided", detail="no data", **common)
    shown = (
        f"rate {stat.rate:.3f} ({stat.k}/{stat.n}), {confidence:.0%} interval "
        f"[{stat.low:.3f}, {stat.high:.3f}]"
    )
    if stat.low >= threshold:
        return GateCheck(value=value, outcome="pass", detail=shown, **common)
    if stat.rate < threshold:
        return GateCheck(
            value=value,
            outcome="fail",
            detail=f"{shown}: the rate itself is under {threshold}",
            **common,
        )
    n_needed = None
    if stat.rate > threshold:
        n_needed = stats.sample_size_one_proportion(
            stat.rate, threshold, alpha=(1 - confidence) / 2, power=0.8
        )
    return GateCheck(
        value=value,
        outcome="undecided",
        n_needed=n_needed,
        detail=f"{shown}: the rate clears {threshold} but its lower bound does "
        f"not yet; about {n_needed or '?'} units in all would decide",
        **common,
    )


def _max_check(
    metric: str,
    scope: str,
    value: float | None,
    threshold: float,
    n: int,
    evidence: list[TrialSelection],
    unit: str,
) -> GateCheck:
    """Measured maxima (cost, latency): pass or fail on the observed value."""
    common = dict(
        metric=metric,
        scope=scope,
        value=value,
        threshold=threshold,
        comparator="<=",
        n=n,
        evidence=evidence,
    )
    if value is None:
        return GateCheck(outcome="undecided", detail="no trials", **common)
    ok = value <= threshold
    return GateCheck(
        outcome="pass" if ok else "fail",
        detail=f"{value:.4g} {unit} {'<=' if ok else '>'} {threshold} {unit}",
        **common,
    )


def _scope_labels(run: GateRun, inp: ScopeInput) -> tuple[list[LabelFacts], list[LabelFacts]]:
    """The scope's (assisted, unassisted) labels: those on its labelled trials, and
    overall every control label attributed to the run (evals.analysis.rundata), per
    question those on the question's cases (a control label carries a case, not a trial)."""
    keys = {t.key for t in inp.tally.labelled}
    control = (
        run.unassisted
        if inp.scope == "overall"
        else [lb for lb in run.unassisted if lb.case_id in inp.tally.label_cases]
    )
    return [lb for lb in run.assisted if lb.trial_key in keys], control


def _handling_check(
    run: GateRun, inp: ScopeInput, threshold: float, spec: GateSpec
) -> GateCheck:
    scope = inp.scope
    assisted, control = _scope_labels(run, inp)
    timed = {lb.trial_key for lb in assisted if lb.active_seconds and lb.active_seconds > 0}
    ht = handling_time(
        assisted,
        control,
        spec.confidence,
        spec.bootstrap_samples,
        spec.seed,
    )
    common = dict(metric="handling_time_ratio", scope=scope, threshold=threshold, comparator="<=")
    if ht is None:
        return GateCheck(
            value=None,
            outcome="undecided",
            n=0,
            evidence=_evidence(run, scope, "labels", len(timed)),
            **common,
            detail="needs timed labels in both arms (assisted and unassisted)",
        )
    n = ht.n_assisted + ht.n_unassisted
    common.update(
        value=ht.ratio,
        n=n,
        low=ht.low,
        high=ht.high,
        evidence=_evidence(run, scope, "labels", len(ht.trial_keys)),
        simulated=ht.simulated,
    )
    shown = (
        f"ratio {ht.ratio:.3f} (reduction {ht.reduction:.1%}), interval "
        f"[{ht.low if ht.low is None else round(ht.low, 3)}, "
        f"{ht.high if ht.high is None else round(ht.high, 3)}], {ht.n_assisted} assisted "
        f"/ {ht.n_unassisted} unassisted labels, {ht.reviewers} reviewers"
    )
    if ht.ratio > threshold:
        return GateCheck(outcome="fail", detail=f"{shown}: over {threshold}", **common)
    if ht.high is not None and ht.high <= threshold:
        return GateCheck(outcome="pass", detail=shown, **common)
    n_needed = None
    if ht.high is not None and ht.ratio < threshold:
        scale = math.log(ht.high / ht.ratio) / math.log(threshold / ht.ratio)
        n_needed = math.ceil(n * scale * scale)
    why = "fewer than 2 reviewers: no interval" if ht.high is None else "upper bound over it"
    return GateCheck(
        outcome="undecided",
        n_needed=n_needed,
        **common,
        detail=f"{shown}: ratio within {threshold} but {why}; about "
        f"{n_needed or '?'} labels in all would decide",
    )


def _noninferiority_check(
    run: GateRun, scope: str, counts: PairCounts, margin: float, spec: GateSpec
) -> GateCheck:
    paired = paired_from_counts(counts, [margin], spec.confidence)
    ni = paired.noninferiority[0]
    evidence = _evidence(run, scope, "paired", counts.candidate_trials)
    if run.baseline_ref is not None:
        evidence += [
            e.model_copy(update={"run_ref": run.baseline_ref, "count": counts.baseline_trials})
            for e in evidence
        ]
    common = dict(
        metric="noninferiority",
        scope=scope,
        threshold=-margin,
        comparator=">",
        n=paired.n,
        low=paired.low,
        high=paired.high,
        value=paired.diff,
        evidence=evidence,
    )
    if paired.diff is None:
        return GateCheck(outcome="undecided", detail="no cases paired with the baseline", **common)
    shown = (
        f"difference {paired.diff:+.3f} over {paired.n} paired cases, "
        f"{spec.confidence:.0%} interval [{paired.low:+.3f}, {paired.high:+.3f}], "
        f"McNemar p={paired.mcnemar_p:.3g}"
    )
    if ni.verdict == "non-inferior":
        return GateCheck(outcome="pass", detail=f"{shown}: non-inferior at {margin}", **common)
    if paired.diff <= -margin or ni.verdict == "inferior":
        return GateCheck(
            outcome="fail", detail=f"{shown}: worse than the margin {margin}", **common
        )
    return GateCheck(
        outcome="undecided",
        n_needed=ni.n_needed,
        **common,
        detail=f"{shown}: interval straddles -{margin}; about "
        f"{ni.n_needed or '?'} paired cases in all would decide",
    )


def scope_checks(
    th: GateThresholds, run: GateRun, inp: ScopeInput, spec: GateSpec
) -> list[GateCheck]:
    """The checks of one scope's thresholds (non-inferiority only with paired counts)."""
    conf, scope, tally = spec.confidence, inp.scope, inp.tally
    checks: list[GateCheck] = []
    if th.min_helpful_lower_bound is not None:
        stat = helpful_from_tally(tally, run.assisted, spec.helpful_base, conf)
        checks.append(
            _rate_check(
                "helpful_lower_bound", scope, stat, th.min_helpful_lower_bound, conf,
                _evidence(run, scope, "reviewed", stat.n),
            )
        )
    if th.min_judge_pass_rate is not None:
        stat = rate_stat(tally.passes, tally.judged, [], conf)
        checks.append(
            _rate_check(
                "judge_pass_rate", scope, stat, th.min_judge_pass_rate, conf,
                _evidence(run, scope, "outcome", stat.n),
            )
        )
    if th.max_handling_time_ratio is not None:
        checks.append(_handling_check(run, inp, th.max_handling_time_ratio, spec))
    if th.max_cost_per_trial is not None:
        costs = tally.costs
        if costs or not tally.trials:  # unknown costs are left out (Decision.caveats says so)
            checks.append(
                _max_check(
                    "cost_per_trial",
                    scope,
                    mean_cost(costs),
                    th.max_cost_per_trial,
                    len(costs),
                    _evidence(run, scope, "priced", len(costs)),
                    "USD",
                )
            )
    if th.max_p95_latency_s is not None:
        lat = tally.latencies
        checks.append(
            _max_check(
                "p95_latency_s", scope, stats.p95(lat) if lat else None, th.max_p95_latency_s,
                len(lat), _evidence(run, scope, "all", tally.trials), "s",
            )
        )
    if th.noninferiority_margin is not None and inp.paired is not None:
        checks.append(
            _noninferiority_check(run, scope, inp.paired, th.noninferiority_margin, spec)
        )
    return checks
