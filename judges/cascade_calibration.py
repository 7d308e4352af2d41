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

Method: **held-out split + fixed-sequence test** (Learn-then-Test, Angelopoulos et al.
2021, applied to cascades as in Jung et al. 2024, "Trust or Escalate").

1. The labelled trials are split at random (seeded) into a *selection* part and a
   *test* part (default half each).
2. On the selection part a path of threshold tuples is built, from cautious to bold: for
   each per-stage risk level r on a grid, the stages are set in order, each to the
   lowest threshold whose decided trials (among those reaching it) disagree with people
   at most r of the time. Equal risk per stage keeps every stage's decisions as good as
   the cascade's promise.
3. On the test part the tuples are tested in that order: the cascade's disagreement
   rate on the trials it decides must have a one-sided Clopper-Pearson upper bound below
   ``alpha``. The sequence stops at the first tuple that fails; the last that passed is
   chosen. Tuples deciding fewer test trials than could ever pass are skipped (that
   depends on the confidences, not the labels). Because the path was fixed before the
   test labels were looked at and the tests run in a fixed order, the chance that the
   chosen tuple's true disagreement exceeds ``alpha`` is at most ``1 - confidence``.

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


class StageReport(BaseModel):
    """One stage under the chosen thresholds, over all labelled trials."""

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
    mean_cost_usd: float
    mean_latency_s: float


class CascadeCalibration(BaseModel):
    """Per-stage thresholds with the agreement guarantee and what they buy."""

    alpha: float
    confidence: float
    decide: DecideMode
    method: str = "held-out split + fixed-sequence test"
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
    """Share of all labelled trials the cascade decides alone."""
    agreement: float | None
    """Agreement with people on those trials (all labelled trials)."""
    expected_cost_usd: float
    strongest_cost_usd: float
    """Cost per trial of running the last stage on every trial."""
    expected_latency_s: float
    strongest_latency_s: float
    tuples_tested: int
    message: str = ""
    path: list[list[float | None]] = Field(default_factory=list)


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
    """Lowest confidence whose decided trials (conf >= it) disagree at most `risk`."""
    if len(conf) == 0:
        return None
    order = np.argsort(-conf, kind="stable")
    c, wrong = conf[order], np.cumsum(~ok[order])
    count = np.arange(1, len(c) + 1)
    last_of_level = np.r_[c[1:] != c[:-1], True]  # a threshold takes every tie
    good = last_of_level & (wrong <= risk * count)
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


def calibrate_cascade(
    items: Sequence[CascadeItem],
    stage_names: Sequence[str],
    *,
    alpha: float = 0.05,
    confidence: float = 0.95,
    decide: DecideMode = "fail",
    select_fraction: float = 0.5,
    seed: int = 0,
) -> CascadeCalibration:
    """Choose per-stage thresholds (see the module doc) and report what they give."""
    k_n = len(stage_names)
    if any(len(it.stages) != k_n for it in items):
        raise ValueError("every item needs one observation slot per stage")
    a = _arrays(items, k_n)
    n = len(items)
    perm = np.random.default_rng(seed).permutation(n)
    n_sel = round(n * select_fraction)
    sel, test = np.sort(perm[:n_sel]), np.sort(perm[n_sel:])
    risks = np.linspace(0.0, min(1.0, 3.0 * alpha), 61)
    path = threshold_path(a, sel, decide, list(risks))
    n_min = min_n_zero_errors(alpha, confidence)
    chosen: tuple[float | None, ...] = (None,) * k_n
    tested, t_dec, t_dis, t_up = 0, 0, 0, None
    for tup in path:
        _, dec, agr = simulate(a, test, tup, decide)
        d, wrong = int(dec.sum()), int(dec.sum() - agr.sum())
        if d < n_min:
            continue
        tested += 1
        upper = stats.clopper_pearson_upper(wrong, d, confidence)
        if upper >= alpha:
            break
        chosen, t_dec, t_dis, t_up = tup, d, wrong, upper
    return _report(
        a,
        list(chosen),
        stage_names,
        alpha,
        confidence,
        decide,
        seed,
        (n_sel, n - n_sel),
        (t_dec, t_dis, t_up),
        tested,
        path,
    )


def _report(
    a: _Arrays,
    chosen: list[float | None],
    names: Sequence[str],
    alpha: float,
    confidence: float,
    decide: DecideMode,
    seed: int,
    sizes: tuple[int, int],
    test: tuple[int, int, float | None],
    tested: int,
    path: list[tuple[float | None, ...]],
) -> CascadeCalibration:
    n = len(a.helpful)
    reached, decided, agreed = simulate(a, np.arange(n), chosen, decide)
    share = reached / n if n else np.zeros(len(chosen))
    stages = [
        StageReport(
            stage=k,
            name=names[k],
            threshold=chosen[k],
            reached=int(reached[k]),
            decided=int(decided[k]),
            agreed=int(agreed[k]),
            coverage=float(decided[k] / n) if n else 0.0,
            agreement=float(agreed[k] / decided[k]) if decided[k] else None,
            mean_cost_usd=float(a.cost[k]),
            mean_latency_s=float(a.latency[k]),
        )
        for k in range(len(chosen))
    ]
    total_dec = int(decided.sum())
    report = CascadeCalibration(
        alpha=alpha,
        confidence=confidence,
        decide=decide,
        seed=seed,
        n=n,
        n_select=sizes[0],
        n_test=sizes[1],
        thresholds=chosen,
        stages=stages,
        test_decided=test[0],
        test_disagreed=test[1],
        test_upper=test[2],
        coverage=total_dec / n if n else 0.0,
        agreement=float(agreed.sum() / total_dec) if total_dec else None,
        expected_cost_usd=float((share * a.cost).sum()),
        strongest_cost_usd=float(a.cost[-1]) if len(a.cost) else 0.0,
        expected_latency_s=float((share * a.latency).sum()),
        strongest_latency_s=float(a.latency[-1]) if len(a.latency) else 0.0,
        tuples_tested=tested,
        path=[list(p) for p in path],
    )
    report.message = _message(report, min_n_zero_errors(alpha, confidence))
    return report


def _message(r: CascadeCalibration, n_min: int) -> str:
    promise = f"agreement >= {1 - r.alpha:.0%} with {r.confidence:.0%} confidence"
    if r.test_decided == 0:
        return (
            f"no stage may decide alone: no threshold tuple kept {promise} on the test "
            f"part ({r.n_test} trials; a tuple needs >= {n_min} decided test trials with "
            "next to no disagreement); everything goes to people"
        )
    return (
        f"the cascade decides {r.coverage:.0%} of trials alone with {promise} "
        f"(test part: {r.test_disagreed} of {r.test_decided} decided disagreed, upper "
        f"bound {r.test_upper:.1%}); expected cost per trial ${r.expected_cost_usd:.5f} "
        f"vs ${r.strongest_cost_usd:.5f} for the strongest judge on everything"
    )
