"""Cascade calibration on synthetic judges whose right thresholds are known."""

from __future__ import annotations

import numpy as np
import pytest

from judges.cascade_calibration import (
    CascadeItem,
    StageObservation,
    simulate,
)
from judges.cascade_report import calibrate_cascade


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
        data,
        ["cheap", "strong"],
        alpha=0.05,
        confidence=0.95,
        decide="pass_fail",
    )
    t1, t2 = report.thresholds
    assert t1 is not None and t2 is not None
    # Each stage is certified on its own at disagreement <= alpha, so each threshold sits
    # near its own critical value (just above it: where the bound reaches alpha).
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
    # The default procedure has no split: every labelled trial chose and tested the
    # thresholds, so the figures are over all of them, with each stage's certified bound.
    assert report.deterministic and report.stages[0].reached == report.n_test == report.n
    assert report.stages[1].reached == report.n - report.stages[0].decided
    assert all(s.upper is not None and s.upper <= 0.05 for s in report.stages)


def test_a_chance_level_stage_never_decides_alone() -> None:
    data = items(10_000, 5, (0.8, 0.4), useless=(True, False))
    report = calibrate_cascade(
        data, ["smol", "strong"], alpha=0.05, decide="pass_fail", spread_seeds=0
    )
    assert report.thresholds[0] is None and report.stages[0].decided == 0
    assert report.thresholds[1] is not None
    # Just above the critical value (whose true disagreement is alpha exactly, so it
    # cannot be certified): the fixed sequence stops near where the bound reaches alpha.
    assert 0 < report.thresholds[1] - critical(0.4, 0.05) <= 0.06


def test_fail_only_cascade_counts_fails_and_escalates_passes() -> None:
    data = items(10_000, 8, (0.5,))
    report = calibrate_cascade(data, ["judge"], alpha=0.05, decide="fail", spread_seeds=0)
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


def preference_items(n: int = 500, seed: int = 7, helpful_share: float = 0.55) -> list[CascadeItem]:
    """Three judges of rising skill whose confidence is informative (right more often
    when confident), on n items of which 55% are helpful, as pairwise preference data
    judged by three judges looks."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        helpful = bool(rng.random() < helpful_share)
        obs = []
        for k, skill in enumerate((0.6, 0.75, 0.9)):
            conf = float(rng.beta(2, 2))
            right = rng.random() < min(0.5 + (skill - 0.5) * (0.3 + 1.4 * conf), 0.99)
            label = ("pass" if helpful else "fail") if right else ("fail" if helpful else "pass")
            obs.append(StageObservation(label, round(conf, 2), 0.0001 * 10**k, 0.1 * 10**k))
        out.append(CascadeItem(f"t{i}", helpful, tuple(obs)))
    return out


def test_split_procedure_is_stable_across_seeds_on_synthetic_data() -> None:
    """``method="split"``: the fixed-sequence test that started at the most cautious
    tuple covered 0% with some seeds and ~100% with others on this data (measured: 0% for
    4 of 20 seeds); ordered by what the selection part predicts, with the p-values of 40
    independent splits pooled, coverage over 20 seeds stays within 5 points here
    (pass/fail decisions, and a fail-only cascade: 70-82% before), and the report lists
    the spread. (Not on published data whose confidences crowd near 1: the default
    procedure has no seed; tests/judges/test_cascade_ltt.py.)"""
    report = calibrate_cascade(
        preference_items(), ["a", "b", "c"], alpha=0.2, decide="pass_fail", method="split"
    )
    spread = report.seed_coverage
    assert len(spread) == 20 and spread[0] == report.coverage
    assert max(spread) - min(spread) < 0.05
    assert "over 20 seeds" in report.message and "voids the guarantee" in report.message
    # Agreement is reported on the test part only, with its interval.
    assert report.stages[0].reached == report.n_test
    decided = sum(s.decided for s in report.stages)
    assert report.agreement == pytest.approx(sum(s.agreed for s in report.stages) / decided)
    assert report.agreement_interval is not None
    assert not report.deterministic and report.n_test == report.n - report.n_select
    fail_only = calibrate_cascade(
        preference_items(helpful_share=0.3), ["a", "b", "c"], alpha=0.2, decide="fail",
        method="split",
    )  # fmt: skip
    assert fail_only.coverage > 0.5
    assert max(fail_only.seed_coverage) - min(fail_only.seed_coverage) < 0.05


def test_fixed_thresholds_report_coverage_and_agreement_with_intervals() -> None:
    from statsmodels.stats.proportion import proportion_confint

    from judges.cascade_report import evaluate_thresholds

    data = preference_items(300, 11)
    thresholds = [0.9, 0.7, 0.3]
    report = evaluate_thresholds(data, ["a", "b", "c"], thresholds, decide="pass_fail")
    # Reference: walk each item through the stages by hand.
    decided = agreed = 0
    for it in data:
        for obs, t in zip(it.stages, thresholds, strict=True):
            assert obs is not None and obs.confidence is not None
            if obs.confidence >= t and obs.label in ("pass", "fail"):
                decided += 1
                agreed += (obs.label == "pass") == it.helpful
                break
    assert report.coverage == pytest.approx(decided / len(data))
    assert report.agreement == pytest.approx(agreed / decided)
    lo, hi = proportion_confint(decided, len(data), alpha=0.05, method="wilson")
    assert report.coverage_interval == pytest.approx([lo, hi])
    lo, hi = proportion_confint(agreed, decided, alpha=0.05, method="wilson")
    assert report.agreement_interval == pytest.approx([lo, hi])
    assert report.n_test == len(data) and report.n_select == 0
    assert "at the given thresholds" in report.message


def test_missing_shadow_verdicts_are_said() -> None:
    rng = np.random.default_rng(3)
    data = []
    for i in range(200):
        helpful = bool(rng.random() < 0.5)
        first = observe(rng, helpful, 0.3, 0.0)
        # The recorded cascade stopped at stage 1's fails: stage 2 never saw them.
        second = None if first.label == "fail" else observe(rng, helpful, 0.3, 0.0)
        data.append(CascadeItem(f"t{i}", helpful, (first, second)))
    report = calibrate_cascade(data, ["cheap", "strong"], alpha=0.2, spread_seeds=0)
    fails = sum(1 for it in data if it.stages[0] and it.stages[0].label == "fail")
    assert report.unshadowed == [0, fails]
    assert "no shadow verdicts" in report.message and "strong" in report.message
