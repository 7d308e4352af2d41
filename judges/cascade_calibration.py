"""Calibrating a cascade: per-stage confidence thresholds so that, on the trials the
cascade decides on its own, it agrees with people at least ``1 - alpha`` of the time,
with probability ``confidence``, while deciding as many trials as possible.

Setting. Stages run cheapest first. Stage k *decides* a trial when its label is one of
the deciding labels (``fail`` only, as the harness's cascade does: a pass goes on and the
survivors go to people; or ``pass`` and ``fail`` for a cascade that also accepts) and
its confidence is at least the stage's threshold ``t_k`` (None: the stage never decides
alone). Otherwise the trial escalates to the next stage, and after the last to people.
A decision agrees with people when a fail is on an answer rated not helpful, a pass on
one rated helpful.

Method: **held-out split + Learn-then-Test** (Angelopoulos et al. 2021, applied to
cascades as in Jung et al. 2024, "Trust or Escalate").

1. The labelled trials are split at random (seeded) into a *selection* part and a
   *test* part (default half each).
2. On the selection part a set of threshold tuples is built, from cautious to bold: for
   each per-stage risk level r on a grid, the stages are set in order, each to the
   lowest threshold whose decided trials (among those reaching it) disagree with people
   at most r of the time (counted as (wrong + 1) / (decided + 2), so that a handful of
   lucky agreements does not look error-free). Equal risk per stage keeps every stage's
   decisions as good as the cascade's promise.
3. The tuples are **ordered** before any test label is read: by the upper bound each
   would get on the test part if its disagreement there were the selection part's
   (the number of test trials it decides depends on the confidences only, not on the
   labels). Tuples most likely to pass, with enough decided trials to pass, come first.
4. On the test part the tuples are tested in that order with the *fallback procedure*
   (Wiens 2003): the error budget ``1 - confidence`` is split over the tests (half to
   the first, the rest evenly); a tuple passes when the one-sided Clopper-Pearson upper
   bound of the cascade's disagreement on the test trials it decides, at its level, is
   below ``alpha``; a passed test hands its level on to the next, a failed one loses it
   but does not stop the sequence. Tuples deciding fewer test trials than could ever
   pass are left out (that depends on the confidences, not the labels). Of the tuples
   that passed, the one deciding the most test trials is chosen. The order and the
   levels were fixed before any test label was read, so the chance that any passed
   tuple's (so the chosen one's) true disagreement exceeds ``alpha`` is at most
   ``1 - confidence``.

5. Steps 1-4 run on ten splits (seeds s, s+1, ..., s+9 for ``--seed s``), each with the
   error budget ``(1 - confidence) / 10``; the split whose chosen tuple covers the
   (lower) median share of trials is kept. By the union bound every split's chosen
   tuple keeps the promise at once with probability ``confidence``, so keeping one of
   them is valid; the median does not hang on one lucky or unlucky split.

Why the order, the fallback and the median (measured, docs/metrics.md): testing from the most
cautious tuple first, stopping at the first failure, made the first tests rest on a
handful of test trials, where two disagreements stopped the sequence, so the result hung
on the seed (coverage 0% for 4 of 20 seeds and ~100% for the others, on the same 500
items); one split per seed left coverage varying by about 11 points over 20 seeds on
fail-only data, ten splits by about 4. The report gives the spread of coverage over 20
seeds, and **choosing a seed after seeing results voids the guarantee**.

Agreement (per stage and overall, with Wilson intervals) is measured on the **test part
only**: the selection part chose the thresholds, so its agreement is optimistic. The
overall coverage is measured on every labelled trial (who is decided depends on the
confidences only, not on the labels).

Trials a stage never saw (the recorded cascade stopped earlier, or the judge erred)
cannot be decided by it and escalate; for exact estimates, judge the calibration sample
with every stage. Costs: a stage's cost per trial is the mean over its verdicts; the
expected cost per trial is the sum over stages of that cost times the share of trials
reaching the stage, compared with running the last (strongest) stage on every trial.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from evals import stats
from judges.calibration import min_n_zero_errors

DecideMode = Literal["fail", "pass_fail"]
_CODES = {"pass": 1, "fail": 2, "abstain": 3}


@dataclass(frozen=True, slots=True)
class StageObservation:
    """One stage's verdict on one trial."""

    label: Literal["pass", "fail", "abstain"]
    confidence: float | None
    cost_usd: float = 0.0
    latency_s: float = 0.0


@dataclass(frozen=True, slots=True)
class CascadeItem:
    """A labelled trial and each stage's verdict on it (None: the stage did not judge it)."""

    trial_key: str
    helpful: bool
    stages: tuple[StageObservation | None, ...]


SPREAD_SEEDS = 20
"""Seeds whose coverage the report lists (its spread)."""

SPLITS = 10
"""Splits per calibration (each tested at 1 - (1 - confidence) / SPLITS; the median kept):
measured, one split per seed left coverage varying by 11 points over 20 seeds, ten by 4
(docs/metrics.md)."""


class StageReport(BaseModel):
    """One stage under the chosen thresholds, on the test part."""

    stage: int
    name: str
    threshold: float | None
    """Decides alone at confidence >= threshold; None: never decides alone."""
    reached: int
    """Trials that reach this stage (not decided earlier)."""
    decided: int
    agreed: int
    coverage: float
    """Share of all trials decided at this stage."""
    agreement: float | None
    agreement_interval: list[float] | None = None
    """Wilson interval of the agreement at the report's confidence."""
    mean_cost_usd: float
    mean_latency_s: float


class CascadeCalibration(BaseModel):
    """Per-stage thresholds with the agreement guarantee and what they buy."""

    alpha: float
    confidence: float
    decide: DecideMode
    method: str = "held-out split + Learn-then-Test"
    seed: int
    n: int
    n_select: int
    n_test: int
    thresholds: list[float | None]
    stages: list[StageReport]
    test_decided: int
    """Trials of the test part the cascade decided with the chosen thresholds."""
    test_disagreed: int
    test_upper: float | None
    """One-sided upper bound of the disagreement rate on the test part."""
    coverage: float
    """Share of all labelled trials the cascade decides alone (label-free, so measured on
    all of them)."""
    coverage_interval: list[float] | None = None
    """Wilson interval of the coverage."""
    agreement: float | None
    """Agreement with people on the test trials it decides."""
    agreement_interval: list[float] | None = None
    """Wilson interval of the agreement."""
    expected_cost_usd: float
    strongest_cost_usd: float
    """Cost per trial of running the last stage on every trial."""
    expected_latency_s: float
    strongest_latency_s: float
    tuples_tested: int
    message: str = ""
    path: list[list[float | None]] = Field(default_factory=list)
    seed_coverage: list[float] = Field(default_factory=list)
    """Coverage with seeds 0, 1, ... (its spread; the chosen seed included)."""
    splits: int = 1
    """Splits tested (each at 1 - (1 - confidence) / splits); the median one is kept."""
    split_seed: int = 0
    """Seed of the split kept (its test part gives the figures above)."""
    unshadowed: list[int] = Field(default_factory=list)
    """Per stage: labelled trials it never judged although an earlier stage decided them
    (no shadow verdicts: the stage is scored only on what earlier stages passed)."""


@dataclass
class _Arrays:
    helpful: npt.NDArray[np.bool_]
    codes: npt.NDArray[np.int8]  # items x stages: 0 missing, 1 pass, 2 fail, 3 abstain
    conf: npt.NDArray[np.float64]  # items x stages; -inf where missing
    cost: npt.NDArray[np.float64]  # per stage mean
    latency: npt.NDArray[np.float64]


def _arrays(items: Sequence[CascadeItem], n_stages: int) -> _Arrays:
    n = len(items)
    codes = np.zeros((n, n_stages), np.int8)
    conf = np.full((n, n_stages), -np.inf)
    costs: list[list[float]] = [[] for _ in range(n_stages)]
    lats: list[list[float]] = [[] for _ in range(n_stages)]
    for i, it in enumerate(items):
        for k, obs in enumerate(it.stages):
            if obs is None:
                continue
            codes[i, k] = _CODES[obs.label]
            conf[i, k] = 1.0 if obs.confidence is None else obs.confidence
            costs[k].append(obs.cost_usd)
            lats[k].append(obs.latency_s)
    return _Arrays(
        np.array([it.helpful for it in items], bool),
        codes,
        conf,
        np.array([float(np.mean(c)) if c else 0.0 for c in costs]),
        np.array([float(np.mean(x)) if x else 0.0 for x in lats]),
    )


def _eligible(a: _Arrays, decide: DecideMode) -> npt.NDArray[np.bool_]:
    return (a.codes == 2) | ((a.codes == 1) if decide == "pass_fail" else False)


def _correct(a: _Arrays) -> npt.NDArray[np.bool_]:
    """Per item and stage: the stage's label agrees with people."""
    truth = np.where(a.helpful, 1, 2)[:, None]
    return a.codes == truth


def simulate(
    a: _Arrays, rows: npt.NDArray[np.int64], thresholds: Sequence[float | None], decide: DecideMode
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per stage: trials reaching it, decided at it, agreeing with people."""
    eligible, correct = _eligible(a, decide)[rows], _correct(a)[rows]
    conf = a.conf[rows]
    remaining = np.ones(len(rows), bool)
    k_n = len(thresholds)
    reached, decided, agreed = (np.zeros(k_n, np.int64) for _ in range(3))
    for k, t in enumerate(thresholds):
        reached[k] = remaining.sum()
        here = remaining & eligible[:, k] & (conf[:, k] >= (np.inf if t is None else t))
        decided[k], agreed[k] = here.sum(), (here & correct[:, k]).sum()
        remaining &= ~here
    return reached, decided, agreed


def _stage_threshold(
    conf: npt.NDArray[np.float64], ok: npt.NDArray[np.bool_], risk: float
) -> float | None:
    """Lowest confidence whose decided trials (conf >= it) disagree at most `risk`,
    counting (wrong + 1) / (decided + 2) (see the module doc, step 2)."""
    if len(conf) == 0:
        return None
    order = np.argsort(-conf, kind="stable")
    c, wrong = conf[order], np.cumsum(~ok[order])
    count = np.arange(1, len(c) + 1)
    last_of_level = np.r_[c[1:] != c[:-1], True]  # a threshold takes every tie
    good = last_of_level & (wrong + 1 <= risk * (count + 2))
    idx = np.flatnonzero(good)
    return float(c[idx[-1]]) if len(idx) else None


def threshold_path(
    a: _Arrays, rows: npt.NDArray[np.int64], decide: DecideMode, risks: Sequence[float]
) -> list[tuple[float | None, ...]]:
    """Threshold tuples from cautious to bold, one per per-stage risk level (step 2)."""
    eligible, correct = _eligible(a, decide)[rows], _correct(a)[rows]
    conf = a.conf[rows]
    path: list[tuple[float | None, ...]] = []
    for r in risks:
        remaining = np.ones(len(rows), bool)
        tup: list[float | None] = []
        for k in range(a.codes.shape[1]):
            cand = remaining & eligible[:, k]
            t = _stage_threshold(conf[cand, k], correct[cand, k], r)
            tup.append(t)
            if t is not None:
                remaining &= ~(cand & (conf[:, k] >= t))
        if not path or tuple(tup) != path[-1]:
            path.append(tuple(tup))
    return path


FIRST_WEIGHT = 0.5
"""Share of the error budget (1 - confidence) given to the first tuple tested; the rest
is spread evenly over the others (fallback procedure)."""


def _weight(j: int, m: int) -> float:
    """Share of the error budget of the j-th of m tests (they sum to 1)."""
    if m == 1:
        return 1.0
    return FIRST_WEIGHT if j == 0 else (1.0 - FIRST_WEIGHT) / (m - 1)


def _order(
    a: _Arrays,
    sel: npt.NDArray[np.int64],
    test: npt.NDArray[np.int64],
    path: list[tuple[float | None, ...]],
    decide: DecideMode,
    confidence: float,
) -> list[int]:
    """Indexes of `path` in test order (step 3): by the test upper bound each tuple would
    get at its selection-part disagreement rate; uses no test label."""
    keys = []
    for i, tup in enumerate(path):
        _, sd, sa = simulate(a, sel, tup, decide)
        d_sel, wrong_sel = int(sd.sum()), int(sd.sum() - sa.sum())
        d_test = int(simulate(a, test, tup, decide)[1].sum())  # label-free: who is decided
        rate = (wrong_sel + 0.5) / (d_sel + 1.0)  # smoothed: no tuple looks error-free
        predicted = (
            stats.clopper_pearson_upper(round(rate * d_test), d_test, confidence) if d_test else 1.0
        )
        keys.append((predicted, -d_test, i))
    return [i for *_, i in sorted(keys)]


@dataclass
class _Split:
    """One split's Learn-then-Test result (step 1-4 of the module doc)."""

    seed: int
    test: npt.NDArray[np.int64]
    sizes: tuple[int, int]
    chosen: tuple[float | None, ...]
    outcome: tuple[int, int, float | None]
    """(test trials decided, of them disagreed, upper bound at the split's level)."""
    tested: int
    path: list[tuple[float | None, ...]]
    coverage: float
    """Share of all labelled trials the chosen tuple decides (label-free)."""


def _one_split(
    a: _Arrays, alpha: float, level: float, decide: DecideMode, fraction: float, seed: int
) -> _Split:
    """Learn-then-Test on one seeded split, the error budget being 1 - `level`."""
    n, k_n = len(a.helpful), a.codes.shape[1]
    perm = np.random.default_rng(seed).permutation(n)
    n_sel = round(n * fraction)
    sel, test = np.sort(perm[:n_sel]), np.sort(perm[n_sel:])
    path = threshold_path(a, sel, decide, list(np.linspace(0.0, min(1.0, 3.0 * alpha), 61)))
    n_min = min_n_zero_errors(alpha, level)
    chosen: tuple[float | None, ...] = (None,) * k_n
    tested = 0
    best: tuple[int, int, float | None] = (0, 0, None)
    order = [i for i in _order(a, sel, test, path, decide, level)
             if simulate(a, test, path[i], decide)[1].sum() >= n_min]  # fmt: skip
    delta, carried = 1.0 - level, 0.0
    for j, i in enumerate(order):
        _, dec, agr = simulate(a, test, path[i], decide)
        d, wrong = int(dec.sum()), int(dec.sum() - agr.sum())
        at = carried + delta * _weight(j, len(order))
        tested += 1
        upper = stats.clopper_pearson_upper(wrong, d, 1.0 - at)
        if upper >= alpha:
            carried = 0.0  # a failed test's level is spent; the next keeps its own
            continue
        carried = at  # a passed test hands its level on (fallback procedure)
        if d > best[0]:
            chosen, best = path[i], (d, wrong, upper)
    every = simulate(a, np.arange(n), chosen, decide)[1]
    coverage = float(every.sum() / n) if n else 0.0
    return _Split(seed, test, (n_sel, n - n_sel), chosen, best, tested, path, coverage)
