"""Tests for evals.stats against reference implementations and published examples.

References used:
* statsmodels (proportion_confint, mcnemar, cohens_kappa, fleiss_kappa) and the
  ``krippendorff`` package: test-only dependencies, compared to 1e-6 or better.
* Fagerland, Lydersen & Laake (2017) *Statistical Analysis of Contingency Tables*,
  ch. 8, reproduced by the R package contingencytables (tests/testthat/test-ch8.R):
  Cavo et al. (2012) paired table [[59, 6], [16, 80]] -> estimate -0.0621, Tango
  95 % CI -0.1240 to -0.0054, Wald -0.1184 to -0.0058, exact McNemar P = 0.052479.
  Bentur et al. (2009) table [[1, 1], [7, 12]] -> Tango 0.026 to 0.517 (sign flipped).
* Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", sec. C: alpha =
  0.743; sec. A (binary, two observers): alpha = 0.095.
* Fleiss kappa example (Wikipedia, "Fleiss' kappa", 10 items x 14 raters): 0.210.
* Cohen's kappa example (Wikipedia, "Cohen's kappa", 20/5/10/15): 0.4.
"""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from scipy import optimize
from scipy import stats as st
from statsmodels.stats import inter_rater
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

from evals import stats as S

TOL = 1e-6


def paired_vectors(n11: int, b10: int, b01: int, n00: int) -> tuple[list[bool], list[bool]]:
    """Outcome vectors with the given 2x2 paired table (a = baseline, b = candidate)."""
    a = [True] * n11 + [True] * b10 + [False] * b01 + [False] * n00
    b = [True] * n11 + [False] * b10 + [True] * b01 + [False] * n00
    return a, b


# ------------------------------------------------------------------ proportions

GRID = [(x, n) for n in (1, 2, 5, 10, 37, 100, 1000) for x in sorted({0, 1, n // 3, n - 1, n})]


@pytest.mark.parametrize(("x", "n"), GRID)
@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_wilson_matches_statsmodels(x: int, n: int, confidence: float) -> None:
    got = S.wilson_interval(x, n, confidence)
    lo, hi = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    assert got.low == pytest.approx(max(lo, 0.0), abs=TOL)
    assert got.high == pytest.approx(min(hi, 1.0), abs=TOL)
    assert got.estimate == pytest.approx(x / n, abs=1e-15)
    assert 0.0 <= got.low <= got.estimate <= got.high <= 1.0


def test_wilson_published_value() -> None:
    # Newcombe (1998) Stat Med 17:857, Table II, 81/263: Wilson 0.2553 to 0.3662.
    got = S.wilson_interval(81, 263)
    assert (round(got.low, 4), round(got.high, 4)) == (0.2553, 0.3662)


@pytest.mark.parametrize(("x", "n"), GRID)
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_clopper_pearson_matches_statsmodels(x: int, n: int, confidence: float) -> None:
    got = S.clopper_pearson_interval(x, n, confidence)
    lo, hi = proportion_confint(x, n, alpha=1 - confidence, method="beta")
    assert got.low == pytest.approx(lo, abs=TOL)
    assert got.high == pytest.approx(hi, abs=TOL)
    assert got.estimate == pytest.approx(x / n)


@pytest.mark.parametrize(("x", "n"), GRID)
def test_clopper_pearson_upper_is_one_sided(x: int, n: int) -> None:
    upper = S.clopper_pearson_upper(x, n, 0.95)
    # One-sided 95 % bound = upper end of the two-sided 90 % interval.
    assert upper == pytest.approx(proportion_confint(x, n, alpha=0.10, method="beta")[1], abs=TOL)
    if x < n:  # Defining property: P(X <= x | n, upper) = 0.05.
        assert st.binom.cdf(x, n, upper) == pytest.approx(0.05, abs=TOL)


def test_clopper_pearson_upper_zero_failures_closed_form() -> None:
    for n in (1, 3, 30, 300):
        assert S.clopper_pearson_upper(0, n, 0.95) == pytest.approx(1 - 0.05 ** (1 / n), abs=1e-12)
    assert S.clopper_pearson_upper(0, 300, 0.95) < 3 / 300  # rule of three is an upper bound


def test_proportion_edge_cases() -> None:
    for fn in (S.wilson_interval, S.clopper_pearson_interval):
        lo, hi, est = fn(0, 0)
        assert (lo, hi) == (0.0, 1.0)
        assert math.isnan(est)
        assert fn(0, 10).low == 0.0
        assert fn(10, 10).high == 1.0
    assert S.clopper_pearson_upper(0, 0) == 1.0
    assert S.clopper_pearson_upper(5, 5) == 1.0
    with pytest.raises(ValueError):
        S.wilson_interval(3, 2)
    with pytest.raises(ValueError):
        S.clopper_pearson_interval(-1, 2)
    with pytest.raises(ValueError):
        S.clopper_pearson_upper(1, 2, confidence=1.0)


# --------------------------------------------------------------- paired differences

CAVO = paired_vectors(59, 16, 6, 80)  # published b is our a: diff = (6 - 16) / 161


def test_paired_difference_cavo_published() -> None:
    a, b = CAVO
    tango = S.paired_rate_difference(a, b)
    assert (tango.n, tango.b01, tango.b10) == (161, 6, 16)
    assert round(tango.diff, 4) == -0.0621
    assert (round(tango.low, 4), round(tango.high, 4)) == (-0.1240, -0.0054)
    wald = S.paired_rate_difference(a, b, method="wald")
    assert (round(wald.low, 4), round(wald.high, 4)) == (-0.1184, -0.0058)
    assert wald.diff == tango.diff


def test_paired_difference_bentur_published() -> None:
    # Bentur: b01 = 7, b10 = 1, n = 21; the book's Tango CI is -0.517 to -0.026 for a - b.
    got = S.paired_rate_difference(*paired_vectors(1, 1, 7, 12))
    assert (round(got.low, 3), round(got.high, 3)) == (0.026, 0.517)


def _reference_score(n: int, b01: int, b10: int, delta0: float) -> float:
    """Tango's statistic with the restricted MLE found numerically (no closed form)."""
    m = n - b01 - b10

    def negloglik(q: float) -> float:
        cells = [(b10, q), (b01, q + delta0), (m, 1 - 2 * q - delta0)]
        return -sum(k * math.log(p) for k, p in cells if k > 0)

    lo, hi = max(0.0, -delta0), (1 - delta0) / 2
    q = optimize.minimize_scalar(
        negloglik,
        bounds=(lo + 1e-13, hi - 1e-13),
        method="bounded",
        options={"xatol": 1e-13},
    ).x
    return ((b01 - b10) / n - delta0) / math.sqrt((2 * q + delta0 * (1 - delta0)) / n)


TABLES = [(161, 6, 16), (21, 7, 1), (50, 3, 9), (200, 30, 18), (40, 2, 0), (12, 5, 5)]


@pytest.mark.parametrize(("n", "b01", "b10"), TABLES)
def test_tango_statistic_matches_numerical_mle(n: int, b01: int, b10: int) -> None:
    for delta0 in (-0.3, -0.1, -0.02, 0.05, 0.2):
        ref = _reference_score(n, b01, b10, delta0)
        assert S.tango_score_statistic(n, b01, b10, delta0) == pytest.approx(ref, abs=1e-5)


@pytest.mark.parametrize(("n", "b01", "b10"), TABLES)
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_tango_interval_inverts_score_test(n: int, b01: int, b10: int, confidence: float) -> None:
    a, b = paired_vectors(n - b01 - b10, b10, b01, 0)
    got = S.paired_rate_difference(a, b, confidence)
    z = st.norm.ppf(0.5 + confidence / 2)
    assert _reference_score(n, b01, b10, got.low) == pytest.approx(z, abs=TOL)
    assert _reference_score(n, b01, b10, got.high) == pytest.approx(-z, abs=TOL)
    assert got.low < got.diff < got.high


def test_tango_statistic_decreases_in_delta0() -> None:
    grid = np.linspace(-0.999, 0.999, 2001)
    for n, b01, b10 in [*TABLES, (20, 0, 0), (10, 10, 0), (10, 0, 10)]:
        t = np.array([S.tango_score_statistic(n, b01, b10, d) for d in grid])
        assert np.all(np.diff(t) <= 1e-12)


def test_wald_formula() -> None:
    n, b01, b10 = 100, 12, 5
    got = S.paired_rate_difference(*paired_vectors(50, b10, b01, n - 50 - b01 - b10), 0.9)
    se = math.sqrt((b01 + b10) / n - ((b01 - b10) / n) ** 2) / math.sqrt(n)
    z = st.norm.ppf(0.95)
    assert got.diff == pytest.approx(0.07, abs=1e-15)
    # The default is Tango; the Wald interval must be asked for.
    assert got.method == "tango"
    wald = S.paired_rate_difference(
        *paired_vectors(50, b10, b01, n - 50 - b01 - b10), 0.9, method="wald"
    )
    assert (wald.low, wald.high) == pytest.approx((0.07 - z * se, 0.07 + z * se), abs=1e-12)


def test_paired_difference_edge_cases() -> None:
    empty = S.paired_rate_difference([], [])
    assert (empty.n, empty.low, empty.high) == (0, -1.0, 1.0)
    assert math.isnan(empty.diff)

    z = st.norm.ppf(0.975)
    agree = S.paired_rate_difference([True] * 15 + [False] * 5, [True] * 15 + [False] * 5)
    assert (agree.b01, agree.b10, agree.diff) == (0, 0, 0.0)
    assert agree.low == pytest.approx(-(z**2) / (20 + z**2), abs=1e-12)
    assert agree.high == pytest.approx(z**2 / (20 + z**2), abs=1e-12)
    wald_agree = S.paired_rate_difference([True] * 20, [True] * 20, method="wald")
    assert (wald_agree.low, wald_agree.high) == (0.0, 0.0)  # why Wald is not the default

    # All discordant in b's favour: closed form low = (n - z^2) / (n + z^2), high = 1.
    better = S.paired_rate_difference([False] * 10, [True] * 10)
    assert (better.b01, better.b10, better.diff, better.high) == (10, 0, 1.0, 1.0)
    assert better.low == pytest.approx((10 - z**2) / (10 + z**2), abs=1e-12)
    worse = S.paired_rate_difference([True] * 10, [False] * 10)
    assert (worse.diff, worse.low) == (-1.0, -1.0)
    assert worse.high == pytest.approx(-(10 - z**2) / (10 + z**2), abs=1e-12)

    assert S.paired_rate_difference(np.array([1, 0, 1]), np.array([1, 1, 1])).b01 == 1
    with pytest.raises(ValueError):
        S.paired_rate_difference([True], [True, False])
    with pytest.raises(ValueError):
        S.paired_rate_difference([2, 0], [1, 0])


@pytest.mark.parametrize(
    ("b01", "b10"), [(0, 0), (0, 1), (1, 0), (6, 16), (16, 6), (5, 5), (0, 12), (40, 61)]
)
def test_mcnemar_exact_matches_statsmodels(b01: int, b10: int) -> None:
    ref = mcnemar(np.array([[7, b10], [b01, 3]]), exact=True).pvalue
    assert S.mcnemar_exact(b01, b10) == pytest.approx(ref, abs=1e-12)


def test_mcnemar_exact_published_and_edges() -> None:
    assert round(S.mcnemar_exact(6, 16), 6) == 0.052479  # Cavo, Fagerland et al. ch. 8
    assert S.mcnemar_exact(0, 0) == 1.0
    assert S.mcnemar_exact(0, 10) == pytest.approx(2 * 0.5**10, abs=1e-15)
    with pytest.raises(ValueError):
        S.mcnemar_exact(-1, 2)


# --------------------------------------------------------------- non-inferiority


def test_noninferiority_verdicts() -> None:
    ni = S.noninferiority_paired(*paired_vectors(88, 2, 5, 5), margin=0.05)
    assert ni.verdict == "non-inferior"
    assert ni.low > -0.05
    assert ni.p_value < 0.05

    inferior = S.noninferiority_paired(*paired_vectors(150, 40, 2, 8), margin=0.05)
    assert inferior.verdict == "inferior"
    assert inferior.high < -0.05
    assert inferior.p_value > 0.95
    assert inferior.n_needed is None  # observed diff below -margin: no n would do

    small = S.noninferiority_paired(*paired_vectors(15, 2, 2, 1), margin=0.05)
    assert small.verdict == "undecided"
    assert small.low <= -0.05 <= small.high
    assert small.n_needed is not None and small.n_needed > small.n
    assert small.n_needed == S.sample_size_noninferiority_paired(4 / 20, 0.0, 0.05, 0.05, 0.8)


def test_noninferiority_uses_one_sided_interval_and_score_test() -> None:
    a, b = CAVO
    res = S.noninferiority_paired(b, a, margin=0.02, confidence=0.95)  # b better by 6.2 pts
    two_sided_90 = S.paired_rate_difference(b, a, confidence=0.90)
    assert (res.low, res.high) == (two_sided_90.low, two_sided_90.high)
    assert res.z == pytest.approx(_reference_score(161, 16, 6, -0.02), abs=1e-5)
    assert res.p_value == pytest.approx(st.norm.sf(res.z), abs=1e-15)
    assert res.verdict == "non-inferior"


def test_noninferiority_pvalue_agrees_with_interval() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(5, 300))
        b01, b10 = (int(v) for v in rng.multinomial(n, [0.1, 0.1, 0.8])[:2])
        margin = float(rng.choice([0.02, 0.05, 0.1]))
        a, b = paired_vectors(n - b01 - b10, b10, b01, 0)
        res = S.noninferiority_paired(a, b, margin, confidence=0.95)
        assert (res.p_value < 0.05) == (res.verdict == "non-inferior")


def test_noninferiority_edge_cases() -> None:
    empty = S.noninferiority_paired([], [], 0.05)
    assert (empty.verdict, empty.n, empty.p_value, empty.n_needed) == ("undecided", 0, 1.0, None)
    # 100 cases, all agree: lower bound -z^2/(n+z^2) at one-sided 95 %.
    agree = S.noninferiority_paired([True] * 80 + [False] * 20, [True] * 80 + [False] * 20, 0.05)
    z = st.norm.ppf(0.95)
    assert agree.low == pytest.approx(-(z**2) / (100 + z**2), abs=1e-12)
    assert agree.verdict == "non-inferior"
    worse = S.noninferiority_paired([True] * 30, [False] * 30, 0.05)
    assert (worse.verdict, worse.diff, worse.n_needed) == ("inferior", -1.0, None)
    # All pairs discordant against b: T(d0) = -sqrt(n (1 + d0) / (1 - d0)) in closed form.
    assert worse.z == pytest.approx(-math.sqrt(30 * 0.95 / 1.05), abs=1e-12)
    assert worse.p_value == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError):
        S.noninferiority_paired([True], [True], margin=-0.1)


# ----------------------------------------------------------------- sample size


@pytest.mark.parametrize(
    ("psi", "delta", "alpha", "power"),
    [(0.2, 0.05, 0.05, 0.8), (0.1, 0.02, 0.025, 0.9), (0.4, -0.1, 0.05, 0.8)],
)
def test_sample_size_margin_zero_is_connor(
    psi: float, delta: float, alpha: float, power: float
) -> None:
    if delta <= 0:
        with pytest.raises(ValueError):
            S.sample_size_noninferiority_paired(psi, delta, 0.0, alpha, power)
        return
    za, zb = st.norm.ppf(1 - alpha), st.norm.ppf(power)
    connor = (za * math.sqrt(psi) + zb * math.sqrt(psi - delta**2)) ** 2 / delta**2
    got = S.sample_size_noninferiority_paired(psi, delta, 0.0, alpha, power)
    assert got == math.ceil(connor)


def _asymptotic_power(n: int, psi: float, delta: float, margin: float, alpha: float) -> float:
    """Power of the score test from Nam's normal approximation, restricted MLE numerically."""
    p01, p10 = (psi + delta) / 2, (psi - delta) / 2
    d0 = -margin

    def negloglik(q: float) -> float:
        return -(p10 * math.log(q) + p01 * math.log(q + d0) + (1 - psi) * math.log(1 - 2 * q - d0))

    q = optimize.minimize_scalar(
        negloglik, bounds=(-d0 + 1e-12, (1 - d0) / 2 - 1e-12), method="bounded"
    ).x
    w0, w1 = 2 * q + d0 * (1 - d0), psi - delta**2
    za = st.norm.ppf(1 - alpha)
    return float(st.norm.cdf(((delta - d0) * math.sqrt(n) - za * math.sqrt(w0)) / math.sqrt(w1)))


@pytest.mark.parametrize(
    ("psi", "delta", "margin", "alpha", "power"),
    [(0.2, 0.0, 0.05, 0.05, 0.8), (0.3, 0.05, 0.1, 0.05, 0.8), (0.1, 0.0, 0.05, 0.025, 0.9)],
)
def test_sample_size_is_smallest_n_reaching_power(
    psi: float, delta: float, margin: float, alpha: float, power: float
) -> None:
    n = S.sample_size_noninferiority_paired(psi, delta, margin, alpha, power)
    assert _asymptotic_power(n, psi, delta, margin, alpha) >= power - 1e-6
    assert _asymptotic_power(n - 1, psi, delta, margin, alpha) < power


@pytest.mark.parametrize(
    ("psi", "delta", "margin", "alpha", "power"),
    [(0.2, 0.0, 0.05, 0.05, 0.8), (0.3, 0.05, 0.1, 0.05, 0.8), (0.1, 0.0, 0.05, 0.025, 0.9)],
)
def test_sample_size_simulated_power(
    psi: float, delta: float, margin: float, alpha: float, power: float
) -> None:
    """At n_needed the score test rejects about `power` of the time (4000 trials, seed 1)."""
    n = S.sample_size_noninferiority_paired(psi, delta, margin, alpha, power)
    rng = np.random.default_rng(1)
    draws = rng.multinomial(n, [(psi + delta) / 2, (psi - delta) / 2, 1 - psi], size=4000)
    z = st.norm.ppf(1 - alpha)
    hits = [S.tango_score_statistic(n, int(b01), int(b10), -margin) > z for b01, b10, _ in draws]
    assert abs(float(np.mean(hits)) - power) < 0.03  # MC s.e. <= 0.0065


def test_score_test_size_at_the_margin() -> None:
    n, psi, margin = 507, 0.2, 0.05
    rng = np.random.default_rng(2)
    draws = rng.multinomial(n, [(psi - margin) / 2, (psi + margin) / 2, 1 - psi], size=4000)
    z = st.norm.ppf(0.95)
    hits = [S.tango_score_statistic(n, int(b01), int(b10), -margin) > z for b01, b10, _ in draws]
    assert abs(float(np.mean(hits)) - 0.05) < 0.015


def test_sample_size_validation_and_monotonicity() -> None:
    assert S.sample_size_noninferiority_paired(0.2, 0.0, 0.1) < S.sample_size_noninferiority_paired(
        0.2, 0.0, 0.05
    )
    assert S.sample_size_noninferiority_paired(
        0.1, 0.0, 0.05
    ) < S.sample_size_noninferiority_paired(0.3, 0.0, 0.05)
    # No discordance expected: n = z_a^2 (1 - m) / m.
    assert S.sample_size_noninferiority_paired(0.0, 0.0, 0.05) == math.ceil(
        st.norm.ppf(0.95) ** 2 * 0.95 / 0.05
    )
    for bad in [(0.1, 0.2, 0.05), (1.2, 0.0, 0.05), (0.2, -0.06, 0.05), (0.2, 0.0, 1.0)]:
        with pytest.raises(ValueError):
            S.sample_size_noninferiority_paired(*bad)
    with pytest.raises(ValueError):
        S.sample_size_noninferiority_paired(0.2, 0.0, 0.05, alpha=0.6)
    with pytest.raises(ValueError):
        S.sample_size_noninferiority_paired(0.2, 0.0, 0.05, power=0.01)


# ------------------------------------------------------------ geometric mean ratio


def _reviewer_data(
    seed: int, reviewers: int = 12, benefit_sd: float = 0.35
) -> tuple[list[float], list[str], list[float], list[str]]:
    rng = np.random.default_rng(seed)
    ta: list[float] = []
    ca: list[str] = []
    tu: list[float] = []
    cu: list[str] = []
    for r in range(reviewers):
        speed = rng.normal(0, 0.6)
        benefit = rng.normal(math.log(0.7), benefit_sd)
        na, nu = int(rng.integers(5, 50)), int(rng.integers(5, 50))
        ta += list(np.exp(4 + speed + benefit + rng.normal(0, 0.3, na)))
        tu += list(np.exp(4 + speed + rng.normal(0, 0.3, nu)))
        ca += [f"r{r}"] * na
        cu += [f"r{r}"] * nu
    return ta, ca, tu, cu


def test_gmr_point_estimate_exact() -> None:
    res = S.geometric_mean_ratio([1.0, 4.0], ["x", "y"], [2.0, 8.0], ["x", "y"])
    assert res.ratio == pytest.approx(0.5, abs=1e-15)
    assert res.reduction == pytest.approx(0.5, abs=1e-15)
    ta, ca, tu, cu = _reviewer_data(7)
    res = S.geometric_mean_ratio(ta, ca, tu, cu)
    assert res.ratio == pytest.approx(st.gmean(ta) / st.gmean(tu), rel=1e-12)
    assert res.reduction == pytest.approx(1 - res.ratio, abs=1e-15)
    assert (res.n_assisted, res.n_unassisted, res.n_clusters) == (len(ta), len(tu), 12)
    assert res.low < res.ratio < res.high
    assert (res.reduction_low, res.reduction_high) == (1 - res.high, 1 - res.low)


def test_gmr_deterministic_for_a_seed() -> None:
    ta, ca, tu, cu = _reviewer_data(7)
    one = S.geometric_mean_ratio(ta, ca, tu, cu, n_boot=500, seed=11)
    assert one == S.geometric_mean_ratio(ta, ca, tu, cu, n_boot=500, seed=11)
    other = S.geometric_mean_ratio(ta, ca, tu, cu, n_boot=500, seed=12)
    assert other.ratio == one.ratio
    assert (other.low, other.high) != (one.low, one.high)


def test_gmr_bootstrap_matches_a_plain_loop() -> None:
    """The vectorised replicates equal a direct resample-and-recompute loop."""
    ta, ca, tu, cu = _reviewer_data(5, reviewers=6)
    res = S.geometric_mean_ratio(ta, ca, tu, cu, n_boot=300, seed=4, confidence=0.9)
    ids = list(dict.fromkeys([*ca, *cu]))
    rng = np.random.default_rng(4)
    log_ratios = []
    for _ in range(300):
        counts = rng.multinomial(len(ids), np.full(len(ids), 1 / len(ids)))
        la = [math.log(t) for t, c in zip(ta, ca, strict=True) for _ in range(counts[ids.index(c)])]
        lu = [math.log(t) for t, c in zip(tu, cu, strict=True) for _ in range(counts[ids.index(c)])]
        if la and lu:
            log_ratios.append(np.mean(la) - np.mean(lu))
    lo, hi = np.exp(np.quantile(log_ratios, [0.05, 0.95]))
    assert res.low == pytest.approx(lo, rel=1e-9)
    assert res.high == pytest.approx(hi, rel=1e-9)


def test_gmr_clustered_wider_than_naive_with_reviewer_effects() -> None:
    for seed in (7, 8, 9):
        ta, ca, tu, cu = _reviewer_data(seed)
        clustered = S.geometric_mean_ratio(ta, ca, tu, cu, seed=1)
        naive = S.geometric_mean_ratio(
            ta, list(range(len(ta))), tu, list(range(len(ta), len(ta) + len(tu))), seed=1
        )
        assert naive.ratio == clustered.ratio
        assert clustered.high - clustered.low > 1.5 * (naive.high - naive.low)


def test_gmr_edge_cases() -> None:
    single = S.geometric_mean_ratio([1.0, 2.0], ["r", "r"], [2.0, 4.0], ["r", "r"])
    assert single.ratio == pytest.approx(0.5)
    assert single.n_clusters == 1
    assert math.isnan(single.low) and math.isnan(single.high)
    # Reviewers that only work in one arm: replicates missing an arm are dropped.
    split = S.geometric_mean_ratio([1.0, 1.5], ["a", "b"], [2.0, 3.0], ["c", "d"], n_boot=200)
    assert split.low <= split.ratio <= split.high
    with pytest.raises(ValueError):
        S.geometric_mean_ratio([0.0], ["a"], [1.0], ["a"])
    with pytest.raises(ValueError):
        S.geometric_mean_ratio([], [], [1.0], ["a"])
    with pytest.raises(ValueError):
        S.geometric_mean_ratio([1.0], ["a", "b"], [1.0], ["a"])


def test_percentile_and_p95() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert S.percentile(values, 50) == 3.0
    assert S.percentile(values, 0) == 1.0
    assert S.percentile(values, 100) == 5.0
    assert S.p95(list(range(1, 101))) == pytest.approx(95.05, abs=1e-12)  # h = 99*0.95
    assert math.isnan(S.p95([]))
    with pytest.raises(ValueError):
        S.percentile(values, 101)


# --------------------------------------------------------------------- agreement


def _cohen_reference(r1: list[str], r2: list[str], labels: list[str]) -> float:
    table = np.zeros((len(labels), len(labels)))
    for x, y in zip(r1, r2, strict=True):
        table[labels.index(x), labels.index(y)] += 1
    return float(inter_rater.cohens_kappa(table).kappa)


def test_cohens_kappa_matches_statsmodels() -> None:
    rng = np.random.default_rng(0)
    labels = ["helpful", "partly", "unhelpful"]
    for _ in range(25):
        n = int(rng.integers(5, 200))
        r1 = list(rng.choice(labels, size=n, p=[0.5, 0.3, 0.2]))
        r2 = [x if rng.random() < 0.6 else str(rng.choice(labels)) for x in r1]
        assert S.cohens_kappa(r1, r2, labels) == pytest.approx(
            _cohen_reference(r1, r2, labels), abs=1e-12
        )
        assert S.cohens_kappa(r1, r2) == pytest.approx(S.cohens_kappa(r1, r2, labels), abs=1e-12)


def test_cohens_kappa_published_and_edges() -> None:
    # Wikipedia "Cohen's kappa" worked example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no.
    r1 = ["yes"] * 25 + ["no"] * 25
    r2 = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert S.cohens_kappa(r1, r2) == pytest.approx(0.4, abs=1e-12)
    assert S.cohens_kappa(["a", "b", "c"], ["a", "b", "c"]) == pytest.approx(1.0)
    assert S.cohens_kappa(["a", "b"], ["b", "a"]) == pytest.approx(-1.0)
    assert math.isnan(S.cohens_kappa([], []))
    assert math.isnan(S.cohens_kappa(["a"] * 5, ["a"] * 5))  # single category: undefined
    # An unused declared label changes nothing.
    assert S.cohens_kappa(r1, r2, ["yes", "no", "maybe"]) == pytest.approx(0.4, abs=1e-12)
    assert S.cohens_kappa([True, False, True], [True, True, True]) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        S.cohens_kappa(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        S.cohens_kappa(["a", "z"], ["a", "a"], labels=["a", "b"])


WIKI_FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_kappa_published_and_statsmodels() -> None:
    got = S.fleiss_kappa(WIKI_FLEISS)
    assert round(got, 3) == 0.210
    assert got == pytest.approx(inter_rater.fleiss_kappa(np.array(WIKI_FLEISS)), abs=1e-12)
    rng = np.random.default_rng(1)
    for _ in range(25):
        items, raters, cats = int(rng.integers(3, 60)), int(rng.integers(2, 7)), 3
        table = np.array([rng.multinomial(raters, rng.dirichlet([1, 1, 1])) for _ in range(items)])
        assert table.shape[1] == cats
        assert S.fleiss_kappa(table) == pytest.approx(
            inter_rater.fleiss_kappa(table, method="fleiss"), abs=1e-12
        )


def test_fleiss_kappa_edges() -> None:
    assert S.fleiss_kappa([[3, 0], [0, 3], [3, 0]]) == pytest.approx(1.0)
    assert math.isnan(S.fleiss_kappa([[4, 0], [4, 0]]))  # single category
    with pytest.raises(ValueError):
        S.fleiss_kappa([[2, 1], [1, 1]])  # unequal raters per item
    with pytest.raises(ValueError):
        S.fleiss_kappa([[1, 0], [0, 1]])  # one rater
    with pytest.raises(ValueError):
        S.fleiss_kappa([])


def _kripp_reference(coders: list[list[int | None]]) -> float:
    data = np.array([[np.nan if v is None else v for v in row] for row in coders], dtype=float)
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def _units(coders: list[list[int | None]]) -> list[list[int | None]]:
    return [list(unit) for unit in zip(*coders, strict=True)]


N = None
KRIPP_2011_C: list[list[int | None]] = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
KRIPP_2011_A: list[list[int | None]] = [
    [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
    [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
]


def test_krippendorff_published_examples() -> None:
    alpha_c = S.krippendorff_alpha_nominal(_units(KRIPP_2011_C))
    assert round(alpha_c, 3) == 0.743
    assert alpha_c == pytest.approx(_kripp_reference(KRIPP_2011_C), abs=1e-12)
    alpha_a = S.krippendorff_alpha_nominal(_units(KRIPP_2011_A))
    assert round(alpha_a, 3) == 0.095
    assert alpha_a == pytest.approx(_kripp_reference(KRIPP_2011_A), abs=1e-12)


def test_krippendorff_matches_package_with_missing_data() -> None:
    rng = np.random.default_rng(2)
    for _ in range(30):
        n_coders, n_units = int(rng.integers(2, 6)), int(rng.integers(5, 80))
        truth = rng.integers(0, 4, n_units)
        coders: list[list[int | None]] = []
        for _c in range(n_coders):
            row: list[int | None] = []
            for t in truth:
                if rng.random() < 0.25:
                    row.append(None)
                else:
                    row.append(int(t) if rng.random() < 0.7 else int(rng.integers(0, 4)))
            coders.append(row)
        assert S.krippendorff_alpha_nominal(_units(coders)) == pytest.approx(
            _kripp_reference(coders), abs=1e-9
        )


def test_krippendorff_edges() -> None:
    assert S.krippendorff_alpha_nominal([["a", "a"], ["b", "b"], ["c", "c", None]]) == 1.0
    assert math.isnan(S.krippendorff_alpha_nominal([["a", "a"], ["a", "a", "a"]]))  # one value
    assert math.isnan(S.krippendorff_alpha_nominal([]))
    assert math.isnan(S.krippendorff_alpha_nominal([["a", None], [None, "b"]]))  # unpairable
    # Unpairable units (one value) are ignored, as in the package.
    with_singletons = [*_units(KRIPP_2011_C), [7, N, N, N], [N, N, N, N]]
    assert S.krippendorff_alpha_nominal(with_singletons) == pytest.approx(
        S.krippendorff_alpha_nominal(_units(KRIPP_2011_C)), abs=1e-15
    )
    # Two coders, no missing data, systematic disagreement: alpha below 0.
    assert S.krippendorff_alpha_nominal([["x", "y"], ["y", "x"], ["x", "y"]]) < 0


# ------------------------------------------------- one-proportion sample size (gates)


@pytest.mark.parametrize(("p", "t"), [(0.9, 0.8), (0.96, 0.9), (0.7, 0.5), (0.3, 0.5)])
def test_one_proportion_sample_size_half_power_is_the_wilson_crossing(p: float, t: float) -> None:
    """power = 0.5: the n where the Wilson bound of a rate observed at p reaches t
    (statsmodels' Wilson interval and its one-sample normal power solver agree)."""
    from statsmodels.stats.power import NormalIndPower

    n = S.sample_size_one_proportion(p, t, alpha=0.025, power=0.5)
    side = 0 if p > t else 1  # lower bound must rise above t, or upper bound fall below
    bound_n = proportion_confint(p * n, n, alpha=0.05, method="wilson")[side]
    bound_before = proportion_confint(p * (n - 1), n - 1, alpha=0.05, method="wilson")[side]
    assert (bound_n - t) * (p - t) >= -1e-9
    assert (bound_before - t) * (p - t) < 0
    effect = abs(p - t) / math.sqrt(t * (1 - t))
    ref = NormalIndPower().solve_power(
        effect, alpha=0.025, power=0.5, ratio=0, alternative="larger"
    )
    assert n == math.ceil(ref - 1e-9)


@pytest.mark.parametrize(("p", "t", "power"), [(0.9, 0.8, 0.8), (0.96, 0.9, 0.9), (0.6, 0.5, 0.8)])
def test_one_proportion_sample_size_reaches_power(p: float, t: float, power: float) -> None:
    """Smallest n whose asymptotic power (solved independently with brentq) reaches `power`;
    the exact binomial power of the Wilson-bound rule at that n is close to it."""

    def asymptotic_power(n: float) -> float:
        za = st.norm.ppf(0.975)
        return float(
            st.norm.cdf(
                (math.sqrt(n) * (p - t) - za * math.sqrt(t * (1 - t))) / math.sqrt(p * (1 - p))
            )
        )

    n = S.sample_size_one_proportion(p, t, alpha=0.025, power=power)
    root = optimize.brentq(lambda x: asymptotic_power(x) - power, 1.0, 1e6)
    assert n == math.ceil(root - 1e-9)
    xs = np.arange(n + 1)
    lows = np.array([proportion_confint(int(x), n, alpha=0.05, method="wilson")[0] for x in xs])
    exact = float(st.binom.pmf(xs[lows > t], n, p).sum())
    assert abs(exact - power) < 0.06  # discreteness of the binomial


def test_one_proportion_sample_size_validation() -> None:
    for bad in [(0.5, 0.5), (0.9, 0.0), (1.2, 0.5), (0.9, 1.0)]:
        with pytest.raises(ValueError):
            S.sample_size_one_proportion(*bad)
    assert S.sample_size_one_proportion(0.99, 0.5) < S.sample_size_one_proportion(0.6, 0.5)
