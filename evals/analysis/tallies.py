"""Tallies: the sums and counts of a set of trials that every descriptive statistic and
every gate check is computed from (issue 18: decisions over a million trials).

A :class:`Tally` is collected either in Python from a run's trials (:func:`tally_trials`,
what :func:`evals.analysis.runstats.arm_stats` does) or in DuckDB over the typed columns
(:mod:`evals.analysis.runfacts`, what `evals gate` and `evals report` do); the statistics
are then computed from it by one function (:func:`arm_stats_from_tally`,
:func:`funnel_from_tally`, :func:`helpful_from_tally`), so the two paths give the same
numbers by construction and a test compares them on the same records.

What a tally keeps per trial: nothing but the known costs and the latencies of answered
trials, in no particular order: a percentile sorts them, and costs are summed exactly
(math.fsum), so both are the same whichever order the trials come in. The
trials with a human label (a few thousand at most) are kept whole: helpfulness and
handling time are per labelled trial.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from evals import stats
from evals.analysis.rundata import TrialFacts

VERDICT_NAMES = ("pass", "fail", "abstain", "none")


@dataclass
class Tally:
    """What the statistics of one set of trials are computed from."""

    trials: int
    cases: int
    infra_errors: int
    agent_errors: int
    verdicts: dict[str, int]
    """Cascade verdict counts: pass, fail, abstain, none."""
    judged: int
    """Trials with an outcome."""
    passes: int
    """Trials whose outcome is a pass."""
    costs: list[float]
    """Known costs (summed exactly: any order)."""
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    tool_calls: int
    user_tool_calls: int
    latencies: list[float]
    """Latencies of the trials not lost to infrastructure errors (any order)."""
    fails_by_stage: dict[str, int] = field(default_factory=dict)
    """Judge fails keyed by the cascade stage that failed them ('?' when not recorded)."""
    labelled: list[TrialFacts] = field(default_factory=list)
    """The trials of this set that carry a counted assisted label."""
    label_cases: set[str] = field(default_factory=set)
    """The cases of this set that carry an unassisted (control) label."""


def is_infra(t: TrialFacts) -> bool:
    """A trial lost to an infrastructure error (no outcome, no latency)."""
    return t.status == "error" and t.error_kind == "infra"


def tally_trials(
    trials: Sequence[TrialFacts],
    labelled_keys: Iterable[str] = (),
    label_cases: Iterable[str] = (),
) -> Tally:
    """The tally of trials held in memory; `labelled_keys`: trials with an assisted label,
    `label_cases`: cases with a control label."""
    labelled = set(labelled_keys)
    control = set(label_cases)
    verdicts = Counter(t.cascade_label or "none" for t in trials)
    answered = [t for t in trials if not is_infra(t)]
    fails = [t for t in trials if t.cascade_label == "fail"]
    by_stage = Counter("?" if t.cascade_stage is None else str(t.cascade_stage) for t in fails)
    return Tally(
        trials=len(trials),
        cases=len({t.case_id for t in trials}),
        infra_errors=len(trials) - len(answered),
        agent_errors=sum(1 for t in trials if t.status == "error" and t.error_kind != "infra"),
        verdicts={k: verdicts.get(k, 0) for k in VERDICT_NAMES},
        judged=sum(1 for t in trials if t.outcome is not None),
        passes=sum(1 for t in trials if t.outcome),
        costs=[t.cost_usd for t in trials if t.cost_usd is not None],
        input_tokens=sum(t.input_tokens for t in trials),
        cached_input_tokens=sum(t.cached_input_tokens for t in trials),
        output_tokens=sum(t.output_tokens for t in trials),
        tool_calls=sum(t.tool_calls for t in trials),
        user_tool_calls=sum(t.user_tool_calls for t in trials),
        latencies=[t.latency_s for t in answered],
        fails_by_stage=dict(sorted(by_stage.items())),
        labelled=[t for t in trials if t.key in labelled] if labelled else [],
        label_cases={t.case_id for t in trials if t.case_id in control} if control else set(),
    )


def finite(x: float) -> float | None:
    """None for nan (no data), else x."""
    return None if math.isnan(x) else x


def per_trial(total: int, n: int) -> float | None:
    """A count per trial (as the mean of the per-trial floats: the sum is exact)."""
    return float(total) / n if n else None


def total_cost(costs: Sequence[float]) -> float | None:
    """Sum of the known costs, exactly rounded (math.fsum: the same whatever the order
    the trials come in); None when none is known."""
    return math.fsum(costs) if costs else None


def mean_cost(costs: Sequence[float]) -> float | None:
    """Mean of the known costs (their exactly rounded sum over their number); None when
    none is known."""
    return math.fsum(costs) / len(costs) if costs else None


def latency_percentiles(latencies: Sequence[float]) -> tuple[float | None, float | None]:
    """(p50, p95) of the answered trials' latencies (evals.stats.percentile)."""
    return finite(stats.percentile(latencies, 50.0)), finite(stats.p95(latencies))


def helpful_units(
    labelled: Sequence[TrialFacts], fails: int, rated: dict[str, bool], candidates: bool
) -> tuple[int, int]:
    """(helpful, units) of a scope: its rated trials, plus with base 'candidates' its judge
    fails that nobody rated, counted as not helpful (evals.analysis.runstats)."""
    units = [rated[t.key] for t in labelled if t.key in rated]
    n = len(units)
    if candidates:
        n += fails - sum(1 for t in labelled if t.key in rated and t.cascade_label == "fail")
    return sum(units), n


def merge_tallies(parts: Sequence[Tally], cases: int) -> Tally:
    """The tally of the union of disjoint sets of trials, `parts` in trial order (e.g.
    the questions of a run, sorted: their lists concatenate into the run's order);
    `cases`: distinct cases of the union (a case may recur across parts)."""
    stages: Counter[str] = Counter()
    for p in parts:
        stages.update(p.fails_by_stage)
    return Tally(
        trials=sum(p.trials for p in parts),
        cases=cases,
        infra_errors=sum(p.infra_errors for p in parts),
        agent_errors=sum(p.agent_errors for p in parts),
        verdicts={k: sum(p.verdicts[k] for p in parts) for k in VERDICT_NAMES},
        judged=sum(p.judged for p in parts),
        passes=sum(p.passes for p in parts),
        costs=[c for p in parts for c in p.costs],
        input_tokens=sum(p.input_tokens for p in parts),
        cached_input_tokens=sum(p.cached_input_tokens for p in parts),
        output_tokens=sum(p.output_tokens for p in parts),
        tool_calls=sum(p.tool_calls for p in parts),
        user_tool_calls=sum(p.user_tool_calls for p in parts),
        latencies=[x for p in parts for x in p.latencies],
        fails_by_stage=dict(sorted(stages.items())),
        labelled=[t for p in parts for t in p.labelled],
        label_cases={c for p in parts for c in p.label_cases},
    )
