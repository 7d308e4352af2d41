"""Descriptive statistics of a set of trials: rates with intervals, funnel, cost, time.

Shared by gates, comparisons and reports so that a number means the same everywhere.
Every statistic carries the trial keys it was computed from (``trial_keys``), so a
figure in a report can be traced to its evidence.

Units. The **judge pass rate** is over trials with an outcome (see
:mod:`evals.analysis.rundata`). **Helpfulness** is per reviewed trial, not per label: with
overlap several reviewers rate one answer, and their ratings are not independent
observations; a trial counts as helpful when more than half of its counted ratings say
so (a tie is not helpful). With ``base='candidates'`` the trials the cascade failed
are added as not helpful, so the rate speaks for everything the agent produced rather
than only for what reached humans. **Handling time** uses counted labels with a
positive active time; assisted against unassisted as a ratio of geometric means with a
bootstrap interval clustered by reviewer (:func:`evals.stats.geometric_mean_ratio`).
Labels are the counted ones (the store's ``counted_labels`` view, via
:mod:`evals.analysis.rundata`); simulated reviewers' labels count only when asked for, and every
statistic built on them carries ``simulated=True``. This module is the one definition of
the helpful rate and of handling time: the gates, comparisons, reports and the review
app's dashboard (labeling_app.metrics.dashboard) all call it.
**Latency** percentiles leave out trials lost to infrastructure errors: their wall time
measures the fault (a provider timeout, a rate-limit wait), not the agent.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from evals import stats
from evals.analysis.rundata import LabelFacts, TrialFacts
from evals.analysis.tallies import (
    Tally,
    finite,
    helpful_units,
    latency_percentiles,
    mean_cost,
    per_trial,
    tally_trials,
    total_cost,
)

HelpfulBase = Literal["reviewed", "candidates"]


class RateStat(BaseModel):
    """A proportion with its Wilson interval and the trials behind it."""

    k: int
    """Successes."""
    n: int
    """Units observed."""
    rate: float | None
    """k / n (None without data)."""
    low: float
    """Wilson lower bound."""
    high: float
    """Wilson upper bound."""
    confidence: float
    """Two-sided coverage of the interval."""
    trial_keys: list[str] = Field(default_factory=list)
    """Trials behind the rate."""
    simulated: bool = False
    """Built on simulated reviewers' labels (asked for with --include-simulated)."""


class Funnel(BaseModel):
    """Candidates -> judge fails -> survivors -> reviewed -> rated helpful."""

    candidates: int
    judge_fails: int
    survivors: int
    unjudged: int
    reviewed: int
    helpful: int
    fails_by_stage: dict[str, int] = Field(default_factory=dict)
    """Judge fails keyed by the cascade stage that failed them ('?' when not recorded)."""
    trial_keys: dict[str, list[str]] = Field(default_factory=dict)
    """Trials at each step of the funnel."""


class HandlingTime(BaseModel):
    """Active handling time, assisted against unassisted."""

    n_assisted: int
    n_unassisted: int
    reviewers: int
    geomean_assisted_s: float
    geomean_unassisted_s: float
    median_assisted_s: float
    median_unassisted_s: float
    ratio: float
    """Geometric mean assisted / unassisted (< 1: the agent saves time)."""
    low: float | None
    high: float | None
    reduction: float
    """1 - ratio."""
    confidence: float
    idle_threshold_s: list[float]
    """Idle thresholds the active times were computed with."""
    trial_keys: list[str] = Field(default_factory=list)
    """Trials of the assisted labels."""
    label_ids: list[str] = Field(default_factory=list)
    """Every label behind the figure (assisted and unassisted)."""
    assisted_s: list[float] = Field(default_factory=list)
    unassisted_s: list[float] = Field(default_factory=list)
    simulated: bool = False
    """Built on simulated reviewers' labels (asked for with --include-simulated)."""


class ArmStats(BaseModel):
    """Everything descriptive about one set of trials (a run cell, a question, ...)."""

    trials: int
    cases: int
    infra_errors: int
    agent_errors: int
    verdicts: dict[str, int]
    """Cascade verdict counts: pass, fail, abstain, none."""
    outcome: RateStat
    """Pass rate under the run's outcome source."""
    helpful: RateStat
    cost_total_usd: float | None
    """Over the trials with a known cost; None when no trial's cost is known."""
    cost_per_trial_usd: float | None
    """Mean over the trials with a known cost; None when none is known (not $0)."""
    cost_unknown_trials: int = 0
    """Trials whose source recorded no price (left out of the cost figures)."""
    input_tokens_per_trial: float | None
    cached_input_tokens_per_trial: float | None
    output_tokens_per_trial: float | None
    tool_calls_per_trial: float | None
    """The agent's tool calls."""
    user_tool_calls_per_trial: float | None = None
    """A simulated user's own tool calls (tau2-bench telecom), counted apart."""
    latency_p50_s: float | None
    latency_p95_s: float | None
    trial_keys: list[str] = Field(default_factory=list)


_finite = finite


def rate_stat(k: int, n: int, keys: list[str], confidence: float = 0.95) -> RateStat:
    """A proportion with its Wilson interval."""
    iv = stats.wilson_interval(k, n, confidence)
    return RateStat(
        k=k,
        n=n,
        rate=_finite(iv.estimate),
        low=iv.low,
        high=iv.high,
        confidence=confidence,
        trial_keys=keys,
    )


def outcome_stat(trials: Sequence[TrialFacts], confidence: float = 0.95) -> RateStat:
    """Pass rate over trials that have an outcome."""
    judged = [t for t in trials if t.outcome is not None]
    return rate_stat(
        sum(1 for t in judged if t.outcome), len(judged), [t.key for t in judged], confidence
    )


def helpful_by_trial(labels: Iterable[LabelFacts]) -> dict[str, bool]:
    """Trial key -> helpful, by majority of its counted assisted ratings (tie: no)."""
    votes: dict[str, list[bool]] = defaultdict(list)
    for lb in labels:
        if lb.arm == "assisted" and lb.trial_key is not None and lb.helpful is not None:
            votes[lb.trial_key].append(lb.helpful)
    return {k: 2 * sum(v) > len(v) for k, v in votes.items()}


def helpful_stat(
    trials: Sequence[TrialFacts],
    labels: Iterable[LabelFacts],
    base: HelpfulBase = "reviewed",
    confidence: float = 0.95,
) -> RateStat:
    """Helpful rate over reviewed trials (or over candidates, judge fails counted as no)."""
    labels = list(labels)
    rated = helpful_by_trial(labels)
    units: dict[str, bool] = {}
    for t in trials:
        if t.key in rated:
            units[t.key] = rated[t.key]
        elif base == "candidates" and t.cascade_label == "fail":
            units[t.key] = False
    stat = rate_stat(sum(units.values()), len(units), list(units), confidence)
    stat.simulated = any(lb.simulated and lb.trial_key in rated for lb in labels)
    return stat


def funnel(trials: Sequence[TrialFacts], labels: Iterable[LabelFacts]) -> Funnel:
    """The review funnel of a set of trials."""
    rated = helpful_by_trial(labels)
    fails = [t for t in trials if t.cascade_label == "fail"]
    survivors = [t for t in trials if t.cascade_label in ("pass", "abstain")]
    unjudged = [t for t in trials if t.cascade_label is None]
    reviewed = [t for t in trials if t.key in rated]
    helpful = [t for t in reviewed if rated[t.key]]
    by_stage = Counter("?" if t.cascade_stage is None else str(t.cascade_stage) for t in fails)
    return Funnel(
        candidates=len(trials),
        judge_fails=len(fails),
        survivors=len(survivors),
        unjudged=len(unjudged),
        reviewed=len(reviewed),
        helpful=len(helpful),
        fails_by_stage=dict(sorted(by_stage.items())),
        trial_keys={
            "candidates": [t.key for t in trials],
            "judge_fails": [t.key for t in fails],
            "survivors": [t.key for t in survivors],
            "unjudged": [t.key for t in unjudged],
            "reviewed": [t.key for t in reviewed],
            "helpful": [t.key for t in helpful],
        },
    )


def handling_time(
    assisted: Iterable[LabelFacts],
    unassisted: Iterable[LabelFacts],
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> HandlingTime | None:
    """Assisted/unassisted ratio of geometric means; None when an arm has no timed label."""
    # Ordered by reviewer: the bootstrap numbers clusters in order of appearance, so a
    # decision must not depend on the order the store returns labels in.
    a = sorted(
        (lb for lb in assisted if lb.active_seconds is not None and lb.active_seconds > 0),
        key=lambda lb: (lb.reviewer, lb.id),
    )
    u = sorted(
        (lb for lb in unassisted if lb.active_seconds is not None and lb.active_seconds > 0),
        key=lambda lb: (lb.reviewer, lb.id),
    )
    if not a or not u:
        return None
    ta = [float(lb.active_seconds or 0) for lb in a]
    tu = [float(lb.active_seconds or 0) for lb in u]
    g = stats.geometric_mean_ratio(
        ta,
        [lb.reviewer for lb in a],
        tu,
        [lb.reviewer for lb in u],
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
    )
    return HandlingTime(
        n_assisted=len(a),
        n_unassisted=len(u),
        reviewers=g.n_clusters,
        geomean_assisted_s=statistics.geometric_mean(ta),
        geomean_unassisted_s=statistics.geometric_mean(tu),
        median_assisted_s=statistics.median(ta),
        median_unassisted_s=statistics.median(tu),
        ratio=g.ratio,
        low=_finite(g.low),
        high=_finite(g.high),
        reduction=g.reduction,
        confidence=confidence,
        idle_threshold_s=sorted(
            {lb.idle_threshold_s for lb in (*a, *u) if lb.idle_threshold_s is not None}
        ),
        trial_keys=sorted({lb.trial_key for lb in a if lb.trial_key}),
        label_ids=[lb.id for lb in (*a, *u)],
        assisted_s=ta,
        unassisted_s=tu,
        simulated=any(lb.simulated for lb in (*a, *u)),
    )


def known_costs(trials: Sequence[TrialFacts]) -> list[float]:
    """Costs of the trials whose cost is known (an import without prices is unknown)."""
    return [t.cost_usd for t in trials if t.cost_usd is not None]


def arm_stats(
    trials: Sequence[TrialFacts],
    labels: Iterable[LabelFacts],
    confidence: float = 0.95,
    helpful_base: HelpfulBase = "reviewed",
) -> ArmStats:
    """Descriptive statistics of a set of trials and the labels on them (with the trial
    keys behind each figure)."""
    labels = list(labels)
    out = arm_stats_from_tally(tally_trials(trials), labels, confidence, helpful_base)
    out.outcome = outcome_stat(trials, confidence)
    out.helpful = helpful_stat(trials, labels, helpful_base, confidence)
    out.trial_keys = [t.key for t in trials]
    return out


def arm_stats_from_tally(
    tally: Tally,
    labels: Iterable[LabelFacts],
    confidence: float = 0.95,
    helpful_base: HelpfulBase = "reviewed",
) -> ArmStats:
    """Descriptive statistics from a tally (evals.analysis.tallies); no trial keys: the
    evidence is the selection the tally was taken over."""
    p50, p95 = latency_percentiles(tally.latencies)
    n = tally.trials
    return ArmStats(
        trials=n,
        cases=tally.cases,
        infra_errors=tally.infra_errors,
        agent_errors=tally.agent_errors,
        verdicts=dict(tally.verdicts),
        outcome=rate_stat(tally.passes, tally.judged, [], confidence),
        helpful=helpful_from_tally(tally, labels, helpful_base, confidence),
        cost_total_usd=total_cost(tally.costs),
        cost_per_trial_usd=mean_cost(tally.costs),
        cost_unknown_trials=n - len(tally.costs),
        input_tokens_per_trial=per_trial(tally.input_tokens, n),
        cached_input_tokens_per_trial=per_trial(tally.cached_input_tokens, n),
        output_tokens_per_trial=per_trial(tally.output_tokens, n),
        tool_calls_per_trial=per_trial(tally.tool_calls, n),
        user_tool_calls_per_trial=per_trial(tally.user_tool_calls, n),
        latency_p50_s=p50,
        latency_p95_s=p95,
    )


def helpful_from_tally(
    tally: Tally,
    labels: Iterable[LabelFacts],
    base: HelpfulBase = "reviewed",
    confidence: float = 0.95,
) -> RateStat:
    """helpful_stat over a tally (its labelled trials and its judge fails)."""
    labels = list(labels)
    rated = helpful_by_trial(labels)
    k, n = helpful_units(tally.labelled, tally.verdicts["fail"], rated, base == "candidates")
    stat = rate_stat(k, n, [], confidence)
    stat.simulated = any(lb.simulated and lb.trial_key in rated for lb in labels)
    return stat


def funnel_from_tally(tally: Tally, labels: Iterable[LabelFacts]) -> Funnel:
    """The review funnel from a tally (no trial keys)."""
    rated = helpful_by_trial(labels)
    reviewed = [t for t in tally.labelled if t.key in rated]
    v = tally.verdicts
    return Funnel(
        candidates=tally.trials,
        judge_fails=v["fail"],
        survivors=v["pass"] + v["abstain"],
        unjudged=v["none"],
        reviewed=len(reviewed),
        helpful=sum(1 for t in reviewed if rated[t.key]),
        fails_by_stage=dict(tally.fails_by_stage),
    )
