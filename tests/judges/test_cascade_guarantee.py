"""The false-fail guarantee of cascade calibration, checked on many draws from a known
population: the chosen thresholds' true disagreement (measured on 400,000 fresh trials)
exceeds the target in at most about ``1 - confidence`` of the draws, with the default
(deterministic, full-sample) procedure and with ``method="split"``."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from judges.cascade_calibration import (
    CascadeItem,
    StageObservation,
    _Arrays,
    simulate,
    threshold_path,
)
from judges.cascade_report import Method, calibrate_cascade

SKILLS = (0.75, 0.85, 0.95)
"""Three judges of rising skill (bench.calibration_spread's "strong judges"), right with
probability rising with their confidence; 55% of answers helpful."""

ALPHA, CONFIDENCE, DRAWS, N = 0.2, 0.9, 40, 400


def population(n: int, seed: int) -> _Arrays:
    """n trials judged by the three judges, fail-only decisions in mind."""
    rng = np.random.default_rng(seed)
    helpful = rng.random(n) < 0.55
    conf = np.round(rng.beta(2, 2, (n, len(SKILLS))), 2)
    p_right = np.minimum(0.5 + (np.array(SKILLS) - 0.5) * (0.3 + 1.4 * conf), 0.99)
    right = rng.random(conf.shape) < p_right
    says_pass = np.where(right, helpful[:, None], ~helpful[:, None])
    codes = np.where(says_pass, 1, 2).astype(np.int8)
    zeros = np.zeros(len(SKILLS))
    return _Arrays(helpful, codes, conf.astype(float), zeros, zeros)


def as_items(a: _Arrays) -> list[CascadeItem]:
    return [
        CascadeItem(
            f"t{i}",
            bool(a.helpful[i]),
            tuple(
                StageObservation("pass" if a.codes[i, k] == 1 else "fail", float(a.conf[i, k]))
                for k in range(len(SKILLS))
            ),
        )
        for i in range(len(a.helpful))
    ]


def true_risk(big: _Arrays, thresholds: list[float | None] | tuple[float | None, ...]) -> float:
    """Share of the cascade's fails on helpful answers, over the big fresh population."""
    _, decided, agreed = simulate(big, np.arange(len(big.helpful)), thresholds, "fail")
    return float(1 - agreed.sum() / decided.sum()) if decided.sum() else 0.0


@pytest.mark.parametrize("method", ["full", "split"])
def test_false_fail_rate_exceeds_the_target_in_few_draws(method: Method) -> None:
    big = population(400_000, 12345)
    risks: list[float] = []
    naive: list[float] = []
    for d in range(DRAWS):
        a = population(N, 1000 + d)
        report = calibrate_cascade(
            as_items(a), ["a", "b", "c"], alpha=ALPHA, confidence=CONFIDENCE,
            decide="fail", method=method, spread_seeds=0,
        )  # fmt: skip
        risks.append(true_risk(big, report.thresholds))
        # Negative control: the boldest tuple whose own-sample disagreement is under
        # the target, with no held-out test, breaks the promise often; the check below
        # would catch a calibration that did the same.
        every: npt.NDArray[np.int64] = np.arange(N)
        naive.append(true_risk(big, threshold_path(a, every, "fail", [ALPHA])[-1]))
    exceed = sum(r > ALPHA for r in risks)
    # Valid at 90%: at most ~10% of draws exceed (4 of 40; 8 leaves room for chance,
    # P(Binomial(40, 0.1) > 8) < 5%).
    assert exceed <= 8, sorted(risks)
    # Not vacuous: the chosen thresholds decide something, and the control fails often.
    assert np.mean([r > 0 for r in risks]) > 0.9
    assert sum(r > ALPHA for r in naive) >= DRAWS // 4, sorted(naive)
