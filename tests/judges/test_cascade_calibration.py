"""Cascade calibration on synthetic judges whose right thresholds are known."""

from __future__ import annotations

import numpy as np
import pytest

from judges.cascade_calibration import (
    CascadeItem,
    StageObservation,
    calibrate_cascade,
    simulate,
)


def observe(
    rng: np.random.Generator, helpful: bool, cut: float, cost: float, useless: bool = False
) -> StageObservation:
    """A judge that is right 99% of the time at confidence >= cut, a coin below it
    (always a coin when useless)."""
    conf = float(rng.random())
    right = rng.random() < (0.99 if conf >= cut and not useless else 0.5)
    label = ("pass" if helpful else "fail") if right else ("fail" if helpful else "pass")
    return StageObservation(label, conf, cost, cost * 100)


def items(
    n: int, seed: int, cuts: tuple[float, ...], useless: tuple[bool, ...] = ()
) -> list[CascadeItem]:
    rng = np.random.default_rng(seed)
    costs = [0.0001 * 10**k for k in range(len(cuts))]
    out = []
    for i in range(n):
        helpful = bool(rng.random() < 0.5)
        obs = tuple(
            observe(rng, helpful, c, costs[k], k < len(useless) and useless[k])
            for k, c in enumerate(cuts)
        )
        out.append(CascadeItem(f"t{i}", helpful, obs))
    return out


def critical(cut: float, alpha: float) -> float:
    """Lowest threshold whose decided trials disagree at rate alpha, for a judge with
    uniform confidence that errs 1% above `cut` and 50% below: solve
    (0.01 (1 - cut) + 0.5 (cut - t)) / (1 - t) = alpha."""
    return (0.01 * (1 - cut) + 0.5 * cut - alpha) / (0.5 - alpha)


def test_two_stage_thresholds_match_the_planted_structure() -> None:
    data = items(20_000, 3, (0.8, 0.4))
    report = calibrate_cascade(
        data, ["cheap", "strong"], alpha=0.05, confidence=0.95, decide="pass_fail", seed=1
    )
    t1, t2 = report.thresholds
    assert t1 is not None and t2 is not None
    # Each stage is set to the same risk level on the selection half, so each threshold
    # sits near its own critical value (sampling noise of the half moves it a little
    # either way; the guarantee is on the cascade as a whole, checked below).
    assert abs(t1 - critical(0.8, 0.05)) <= 0.03
    assert abs(t2 - critical(0.4, 0.05)) <= 0.03
    assert report.test_upper is not None and report.test_upper < 0.05
    # The promise holds on fresh data from the same judges.
    fresh = items(100_000, 99, (0.8, 0.4))
    from judges.cascade_calibration import _arrays

    arr = _arrays(fresh, 2)
    _, decided, agreed = simulate(arr, np.arange(len(fresh)), report.thresholds, "pass_fail")
    # (The fixed-sequence test keeps the boldest tuple that passed, so its true
    # disagreement sits at or just under alpha; 0.003 is about 3.5 standard errors of
    # this 100k-trial estimate.)
    assert agreed.sum() / decided.sum() >= 0.95 - 0.003
    # Coverage and cost: stage 1 decides about 1 - t1 of everything, and the cascade costs
    # less than the strong judge on every trial.
    assert report.stages[0].coverage == pytest.approx(1 - t1, abs=0.02)
    assert report.expected_cost_usd < report.strongest_cost_usd
    assert report.stages[1].reached == report.n - report.stages[0].decided


def test_a_chance_level_stage_never_decides_alone() -> None:
    data = items(10_000, 5, (0.8, 0.4), useless=(True, False))
    report = calibrate_cascade(data, ["smol", "strong"], alpha=0.05, decide="pass_fail")
    assert report.thresholds[0] is None and report.stages[0].decided == 0
    assert report.thresholds[1] is not None
    assert abs(report.thresholds[1] - critical(0.4, 0.05)) <= 0.04


def test_fail_only_cascade_counts_fails_and_escalates_passes() -> None:
    data = items(10_000, 8, (0.5,))
    report = calibrate_cascade(data, ["judge"], alpha=0.05, decide="fail")
    stage = report.stages[0]
    assert stage.threshold is not None and stage.agreement is not None
    assert stage.agreement >= 0.95
    # Only fails decide: roughly half the trials are bad, and only confident ones count.
    assert stage.decided <= sum(1 for it in data if it.stages[0] and it.stages[0].label == "fail")


def test_too_little_data_decides_nothing() -> None:
    data = items(60, 2, (0.8, 0.4))
    report = calibrate_cascade(data, ["cheap", "strong"], alpha=0.05, decide="pass_fail")
    assert report.thresholds == [None, None] and report.coverage == 0.0
    assert "everything goes to people" in report.message


def test_missing_stage_verdicts_escalate() -> None:
    rng = np.random.default_rng(0)
    data = [CascadeItem(f"t{i}", True, (observe(rng, True, 0.0, 0.0), None)) for i in range(10)]
    from judges.cascade_calibration import _arrays

    reached, decided, _ = simulate(_arrays(data, 2), np.arange(10), [0.0, 0.0], "pass_fail")
    assert decided[1] == 0 and reached[1] == 10 - decided[0]
