"""The default cascade calibration (judges.cascade_ltt): deterministic, full-sample,
stage by stage. Checked against a brute-force fixed-sequence computation written here
from the definition (exact binomial sums, plain loops), and for having no seed: the same
labels give the same thresholds whatever the seed or the order of the trials, on data
shaped like the published 500-pair release (confidences crowded near 1)."""

from __future__ import annotations

import functools
import math
from typing import Literal

import numpy as np
import pytest

from judges.cascade_calibration import CascadeItem, DecideMode, StageObservation
from judges.cascade_ltt import POWER, SHARE, n_start, n_zero
from judges.cascade_report import calibrate_cascade

Label = Literal["pass", "fail", "abstain"]


@functools.cache
def cdf(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) <= k), summed term by term from the definition."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def ref_start(alpha: float, level: float) -> int:
    """Fewest n where a stage erring alpha/2 of the time passes with probability POWER."""
    n = 1
    while True:
        passing = [k for k in range(n + 1) if cdf(k, n, alpha) <= 1 - level]
        if passing and cdf(max(passing), n, alpha / 2) >= POWER:
            return n
        n += 1


def ref_zero(alpha: float, level: float) -> int:
    """Fewest n at which no disagreement at all passes."""
    n = 1
    while cdf(0, n, alpha) > 1 - level:
        n += 1
    return n


def reference(
    items: list[CascadeItem], alpha: float, confidence: float, decide: DecideMode
) -> list[float | None]:
    """The procedure from its definition: per stage, on the trials earlier stages left,
    thresholds = distinct confidences of deciding verdicts, highest first, from the first
    deciding >= max(start, 10%) of them (or, with fewer, the fewest that could pass);
    stop at the first binomial p-value > delta / K."""
    labels = ("fail", "pass") if decide == "pass_fail" else ("fail",)
    k_n = len(items[0].stages)

    def verdict(it: CascadeItem, k: int) -> tuple[str, float]:
        obs = it.stages[k]
        return ("missing", 0.0) if obs is None else (obs.label, obs.confidence or 0.0)

    def deciding(it: CascadeItem, k: int) -> bool:
        return verdict(it, k)[0] in labels

    could_pass = ref_zero(alpha, 1 - (1 - confidence) / k_n)
    testable = [sum(deciding(it, k) for it in items) >= could_pass for k in range(k_n)]
    level = 1 - (1 - confidence) / max(1, sum(testable))
    start = ref_start(alpha, level)
    left = list(items)
    out: list[float | None] = []
    for k in range(k_n):
        verdicts = [it for it in left if deciding(it, k)] if testable[k] else []
        chosen: float | None = None
        first = max(start, math.ceil(SHARE * len(verdicts)))
        if first > len(verdicts):
            first = ref_zero(alpha, level)
        for t in sorted({verdict(it, k)[1] for it in verdicts}, reverse=True):
            decided = [it for it in verdicts if verdict(it, k)[1] >= t]
            if len(decided) < first:
                continue
            wrong = sum((verdict(it, k)[0] == "pass") != it.helpful for it in decided)
            if cdf(wrong, len(decided), alpha) > 1 - level:
                break
            chosen = t
        out.append(chosen)
        if chosen is not None:
            cut = chosen
            left = [it for it in left if not (deciding(it, k) and verdict(it, k)[1] >= cut)]
    return out


def tiny(seed: int, n: int = 120, k_n: int = 3) -> list[CascadeItem]:
    """Judges right more often when confident, confidences on a coarse grid (ties), some
    verdicts missing or abstaining."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        helpful = bool(rng.random() < 0.5)
        obs: list[StageObservation | None] = []
        for k in range(k_n):
            u = rng.random()
            if u < 0.05:
                obs.append(None)
                continue
            conf = round(float(rng.random()), 1)
            right = rng.random() < 0.5 + 0.1 * k + 0.4 * conf
            says_pass = helpful == right
            label: Label = "abstain" if u > 0.95 else ("pass" if says_pass else "fail")
            obs.append(StageObservation(label, conf))
        out.append(CascadeItem(f"t{i}", helpful, tuple(obs)))
    return out


def test_n_start_matches_the_exact_binomial_search() -> None:
    for alpha, level in [(0.2, 0.95), (0.15, 0.9), (0.3, 0.8), (0.1, 0.975)]:
        assert n_start(alpha, level) == ref_start(alpha, level)
        assert n_zero(alpha, level) == ref_zero(alpha, level)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("decide", ["pass_fail", "fail"])
def test_thresholds_match_a_brute_force_fixed_sequence(seed: int, decide: DecideMode) -> None:
    items = tiny(seed)
    alpha, confidence = 0.3, 0.8
    report = calibrate_cascade(items, ["a", "b", "c"], alpha=alpha, confidence=confidence,
                               decide=decide)  # fmt: skip
    assert report.thresholds == reference(items, alpha, confidence, decide)
    assert report.deterministic and report.seed_coverage == []


def test_some_tiny_examples_certify_something() -> None:
    """The brute-force comparison above is not vacuous: it covers thresholds chosen."""
    chosen = [
        t
        for seed in range(6)
        for t in reference(tiny(seed), 0.3, 0.8, "pass_fail")
        if t is not None
    ]
    assert len(chosen) >= 3


def crowded(n: int = 500, seed: int = 3) -> list[CascadeItem]:
    """Three pairwise-style judges whose confidences crowd near 1 (0.99, 0.9998, ...),
    right more often the closer to 1: the shape of the published 500-pair release."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        helpful = bool(rng.random() < 0.48)
        obs = []
        for k, skill in enumerate((0.6, 0.65, 0.7)):
            digits = float(rng.uniform(0.3, 4.5))  # conf = 1 - 10^-digits
            conf = float(1 - 10**-digits)
            right = rng.random() < min(skill + 0.06 * digits, 0.97)
            verdict: Label = "pass" if helpful == right else "fail"
            obs.append(StageObservation(verdict, conf, 0.001 * 10**k))
        out.append(CascadeItem(f"p{i}", helpful, tuple(obs)))
    return out


def test_seeds_and_trial_order_do_not_change_the_result() -> None:
    data = crowded()
    names = ["small", "medium", "large"]
    first = calibrate_cascade(data, names, alpha=0.2, confidence=0.9, decide="pass_fail")
    # Something is certified, by more than one stage: the check is not vacuous.
    assert first.coverage > 0.3 and sum(s.decided > 0 for s in first.stages) >= 2
    for seed in range(1, 20):
        again = calibrate_cascade(
            data, names, alpha=0.2, confidence=0.9, decide="pass_fail", seed=seed
        )
        assert again.model_dump() == first.model_dump()
    shuffled = [data[i] for i in np.random.default_rng(1).permutation(len(data))]
    reordered = calibrate_cascade(shuffled, names, alpha=0.2, confidence=0.9, decide="pass_fail")
    assert reordered.thresholds == first.thresholds and reordered.coverage == first.coverage
    assert "0 by construction" in first.message and "in-sample" in first.message
    # Every stage that decides is certified: its bound is under the target.
    for stage in first.stages:
        assert (stage.threshold is None) == (stage.upper is None)
        assert stage.upper is None or stage.upper <= 0.2
