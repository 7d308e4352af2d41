"""The checks of a gate: one function per kind of threshold, all following one rule.

The rule (sample-size honesty) and each check's statistics are described in
:mod:`evals.analysis.gates`; this module computes them. Every check returns an
:class:`evals.schema.GateCheck` holding its value, threshold, comparator, n, interval,
the cases needed when undecided, and the trial keys behind the number.
"""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING

from evals import stats
from evals.analysis.compare import paired_outcomes, pairing_units
from evals.analysis.rundata import RunData, TrialFacts
from evals.analysis.runstats import RateStat, handling_time, helpful_stat, outcome_stat
from evals.schema import GateCheck, GateThresholds

if TYPE_CHECKING:
    from evals.analysis.gates import GateSpec

MAX_KEYS_PER_CHECK = 100_000
"""A check lists at most this many trial keys in the Decision. Above it the list is
left out (a million keys per check would make a decision hundreds of megabytes) and
the detail carries the count and a sha256 of the sorted keys, so the evidence can still
be re-derived from the run and verified."""


def _bounded_keys(check: GateCheck) -> GateCheck:
    keys = check.trial_keys
    if len(keys) <= MAX_KEYS_PER_CHECK:
        return check
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
    note = (
        f" [{len(keys)} trials: keys not listed above {MAX_KEYS_PER_CHECK}; "
        f"sha256 of the sorted keys {digest}]"
    )
    return check.model_copy(update={"trial_keys": [], "detail": check.detail + note})


def _rate_check(
    metric: str, scope: str, stat: RateStat, threshold: float, confidence: float
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
        trial_keys=stat.trial_keys,
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
    keys: list[str],
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
        trial_keys=keys,
    )
    if value is None:
        return GateCheck(outcome="undecided", detail="no trials", **common)
    ok = value <= threshold
    return GateCheck(
        outcome="pass" if ok else "fail",
        detail=f"{value:.4g} {unit} {'<=' if ok else '>'} {threshold} {unit}",
        **common,
    )


def _handling_check(
    scope: str, run: RunData, trials: list[TrialFacts], threshold: float, spec: GateSpec
) -> GateCheck:
    keys = {t.key for t in trials}
    # Overall: every control label attributed to the run (evals.analysis.rundata); per question:
    # those on the question's cases (a control label carries a case, not a trial).
    cases = {t.case_id for t in trials}
    control = (
        run.unassisted
        if scope == "overall"
        else [lb for lb in run.unassisted if lb.case_id in cases]
    )
    ht = handling_time(
        [lb for lb in run.assisted if lb.trial_key in keys],
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
            **common,
            detail="needs timed labels in both arms (assisted and unassisted)",
        )
    n = ht.n_assisted + ht.n_unassisted
    common.update(
        value=ht.ratio,
        n=n,
        low=ht.low,
        high=ht.high,
        trial_keys=ht.trial_keys,
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
    scope: str, cand: list[TrialFacts], base: list[TrialFacts], margin: float, spec: GateSpec
) -> GateCheck:
    paired = paired_outcomes(
        pairing_units(base, lambda t: t.outcome, spec.pair_by),
        pairing_units(cand, lambda t: t.outcome, spec.pair_by),
        [margin],
        spec.confidence,
    )
    ni = paired.noninferiority[0]
    common = dict(
        metric="noninferiority",
        scope=scope,
        threshold=-margin,
        comparator=">",
        n=paired.n,
        low=paired.low,
        high=paired.high,
        value=paired.diff,
        trial_keys=[k for ks in paired.cells.values() for k in ks],
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
    scope: str,
    th: GateThresholds,
    run: RunData,
    trials: list[TrialFacts],
    baseline: list[TrialFacts] | None,
    spec: GateSpec,
) -> list[GateCheck]:
    conf = spec.confidence
    checks: list[GateCheck] = []
    if th.min_helpful_lower_bound is not None:
        stat = helpful_stat(trials, run.assisted, spec.helpful_base, conf)
        checks.append(
            _rate_check("helpful_lower_bound", scope, stat, th.min_helpful_lower_bound, conf)
        )
    if th.min_judge_pass_rate is not None:
        checks.append(
            _rate_check(
                "judge_pass_rate", scope, outcome_stat(trials, conf), th.min_judge_pass_rate, conf
            )
        )
    if th.max_handling_time_ratio is not None:
        checks.append(_handling_check(scope, run, trials, th.max_handling_time_ratio, spec))
    keys = [t.key for t in trials]
    if th.max_cost_per_trial is not None:
        priced = [t for t in trials if t.cost_usd is not None]
        if priced or not trials:  # unknown costs are left out (Decision.caveats says so)
            cost = sum(t.cost_usd or 0.0 for t in priced) / len(priced) if priced else None
            checks.append(
                _max_check(
                    "cost_per_trial",
                    scope,
                    cost,
                    th.max_cost_per_trial,
                    len(priced),
                    [t.key for t in priced],
                    "USD",
                )
            )
    if th.max_p95_latency_s is not None:
        lat = [t.latency_s for t in trials if not (t.status == "error" and t.error_kind == "infra")]
        p95 = stats.p95(lat) if lat else None
        checks.append(
            _max_check("p95_latency_s", scope, p95, th.max_p95_latency_s, len(lat), keys, "s")
        )
    if th.noninferiority_margin is not None and baseline is not None:
        checks.append(
            _noninferiority_check(scope, trials, baseline, th.noninferiority_margin, spec)
        )
    return [_bounded_keys(c) for c in checks]
