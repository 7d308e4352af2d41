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

Two procedures choose the thresholds:

- **default: deterministic, full sample, stage by stage** (judges.cascade_ltt): a
  label-free grid per stage, tested from cautious to bold as a fixed sequence on every
  labelled trial, the error split over stages (Bonferroni). No seed: the same labels
  always give the same thresholds (spread over seeds 0 by construction). Agreement is
  in-sample; the certified per-stage bound is the guarantee.
- **``method="split"``: held-out splits, p-values pooled** (judges.cascade_split):
  thresholds chosen on half the trials and tested on the other half, over 40 seeded
  splits. Its result moves with the seed (0% or 30% coverage on the same published
  500-pair data, docs/metrics.md), so the report lists the spread over 20 seeds.

Either way: with probability at least ``confidence`` the chosen thresholds' true
disagreement with people, on what the cascade decides, is at most ``alpha``.

This module holds what both share: the data, the cascade's walk (:func:`simulate`) and
the report models.

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


class StageReport(BaseModel):
    """One stage under the chosen thresholds, on the test part (every labelled trial for
    the default procedure and fixed thresholds)."""

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
    upper: float | None = None
    """Full-sample procedure: one-sided (Clopper-Pearson) upper bound of the stage's
    disagreement at the level it was tested at (1 - (1 - confidence) / stages tested)."""
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
    """Splits whose p-values are pooled."""
    split_seed: int = 0
    """Draw of the split whose p-value is the pooled one (its test part gives the
    figures above)."""
    deterministic: bool = False
    """No seed and no split (the default procedure): the same labels always give the
    same thresholds, so the spread over seeds is 0 by construction."""
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
    counting (wrong + 1) / (decided + 2) (judges.cascade_split's module doc, step 2)."""
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
    """Threshold tuples from cautious to bold, one per per-stage risk level (step 2 of
    judges.cascade_split's module doc)."""
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
