"""Paired proportions (baseline a vs candidate b on the same cases): Tango score interval,
exact McNemar, non-inferiority and its sample size."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy.typing as npt

from evals.stats import _dist
from evals.stats._base import (
    NonInferiorityResult,
    PairedDifference,
    PairedMethod,
    Verdict,
    _check_confidence,
    _discordant,
    _z_two_sided,
)

# ----------------------------------------------------------- paired proportions


def _restricted_p10(f01: float, f10: float, delta0: float) -> float:
    """Restricted MLE of P(a=1, b=0) under H0: p_b - p_a = delta0.

    ``f01 = b01/n`` and ``f10 = b10/n`` are the observed discordant proportions.
    Maximising ``b10 log q + b01 log(q + delta0) + (n - b01 - b10) log(1 - 2q - delta0)``
    gives ``A q^2 + B q + C = 0`` with::

        A = 2,  B = -(f10 + f01) + delta0 (2 + f10 - f01),  C = -f10 delta0 (1 - delta0)

    and q is the larger root (Tango 1998, with his b, c = our b01, b10; Nam 1997).
    """
    a_ = 2.0
    b_ = -(f10 + f01) + delta0 * (2.0 + f10 - f01)
    c_ = -f10 * delta0 * (1.0 - delta0)
    root = math.sqrt(max(b_ * b_ - 4.0 * a_ * c_, 0.0))
    # Two algebraically equal forms of the larger root; pick the one without cancellation.
    q = (-b_ + root) / (2.0 * a_) if b_ <= 0.0 else (2.0 * c_) / (-b_ - root)
    return min(max(q, 0.0), 1.0)


def tango_score_statistic(n: int, b01: int, b10: int, delta0: float) -> float:
    """Score statistic for H0: p_b - p_a = delta0 with paired binary data.

    ``T = ((b01 - b10)/n - delta0) / sqrt((2 q + delta0 (1 - delta0)) / n)`` where q is
    the restricted MLE of P(a=1, b=0) under H0 (:func:`_restricted_p10`). ``T`` is
    approximately N(0, 1) under H0 and decreases in ``delta0``. Reference: Tango, T.
    (1998) Stat Med 17:891-908; the same statistic as Nam, J.-M. (1997) Biometrics
    53:1422-1430. Returns ``+-inf`` when the null variance is 0 and the numerator is not.
    """
    if n <= 0:
        raise ValueError("need n > 0")
    if not -1.0 <= delta0 <= 1.0:
        raise ValueError(f"delta0 must be in [-1, 1], got {delta0!r}")
    num = (b01 - b10) / n - delta0
    q = _restricted_p10(b01 / n, b10 / n, delta0)
    var = (2.0 * q + delta0 * (1.0 - delta0)) / n
    if var <= 1e-300:
        if abs(num) <= 1e-15:
            return 0.0
        return math.inf if num > 0 else -math.inf
    return num / math.sqrt(var)


def _solve_decreasing(f_target: float, lo: float, hi: float, n: int, b01: int, b10: int) -> float:
    """Bisection for T(delta0) = f_target on [lo, hi], T decreasing, T(lo) >= f_target."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if tango_score_statistic(n, b01, b10, mid) > f_target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-15:
            break
    return 0.5 * (lo + hi)


def _tango_interval(n: int, b01: int, b10: int, z: float) -> tuple[float, float]:
    diff = (b01 - b10) / n
    low = -1.0 if diff <= -1.0 else _solve_decreasing(z, -1.0, diff, n, b01, b10)
    high = 1.0 if diff >= 1.0 else _solve_decreasing(-z, diff, 1.0, n, b01, b10)
    return low, high


def paired_rate_difference(
    a: Sequence[bool] | npt.ArrayLike,
    b: Sequence[bool] | npt.ArrayLike,
    confidence: float = 0.95,
    method: PairedMethod = "tango",
) -> PairedDifference:
    """Difference ``p_b - p_a`` of two outcomes on the same cases, with an interval.

    ``diff = (b01 - b10) / n``. Two interval methods:

    * ``"tango"`` (default): the asymptotic score interval of Tango (1998, Stat Med
      17:891-908), ``{delta0 : |T(delta0)| <= z}`` with T from
      :func:`tango_score_statistic`, found by bisection. Chosen over the Wald interval
      because it stays inside [-1, 1], is not degenerate when there are no discordant
      pairs (all agree: ``low = -z^2/(n+z^2)``), has near-nominal coverage in small
      samples (Fagerland, Lydersen & Laake 2014, Stat Med 33:2850, recommend it), and it
      inverts the same score test used by :func:`noninferiority_paired`, so interval and
      p-value always agree. (Newcombe's 1998 method 10 performs similarly but does not
      invert a test.)
    * ``"wald"``: ``diff +- z * sqrt(b01 + b10 - (b01 - b10)^2/n) / n``, clipped to
      [-1, 1] (Agresti 2013, Categorical Data Analysis, sec. 11.1).

    Both reproduce Fagerland, Lydersen & Laake (2017), *Statistical Analysis of
    Contingency Tables*, ch. 8 (Cavo et al. 2012 example). ``n = 0`` gives ``[-1, 1]``
    and a ``nan`` difference.
    """
    _check_confidence(confidence)
    n, b01, b10 = _discordant(a, b)
    return _paired_difference_from_counts(n, b01, b10, confidence, method)


def _paired_difference_from_counts(
    n: int, b01: int, b10: int, confidence: float, method: PairedMethod
) -> PairedDifference:
    if n == 0:
        return PairedDifference(0, 0, 0, math.nan, -1.0, 1.0, confidence, method)
    diff = (b01 - b10) / n
    z = _z_two_sided(confidence)
    if method == "tango":
        low, high = _tango_interval(n, b01, b10, z)
    elif method == "wald":
        se = math.sqrt(max(b01 + b10 - (b01 - b10) ** 2 / n, 0.0)) / n
        low, high = max(-1.0, diff - z * se), min(1.0, diff + z * se)
    else:
        raise ValueError(f"unknown method {method!r}")
    return PairedDifference(n, b01, b10, diff, low, high, confidence, method)


def mcnemar_exact(b01: int, b10: int) -> float:
    """Two-sided exact McNemar p-value (conditional binomial test on discordant pairs).

    ``p = min(1, 2 * BinomCDF(min(b01, b10); b01 + b10, 1/2))``; 1 when there are no
    discordant pairs. Reference: McNemar (1947) Psychometrika 12:153; the exact version
    as in ``statsmodels.stats.contingency_tables.mcnemar(table, exact=True)``.
    """
    if b01 < 0 or b10 < 0:
        raise ValueError("discordant counts must be >= 0")
    m = b01 + b10
    if m == 0:
        return 1.0
    return float(min(1.0, 2.0 * _dist.binom_cdf(min(b01, b10), m, 0.5)))


def noninferiority_paired(
    a: Sequence[bool] | npt.ArrayLike,
    b: Sequence[bool] | npt.ArrayLike,
    margin: float,
    confidence: float = 0.95,
) -> NonInferiorityResult:
    """Paired non-inferiority of b (candidate) to a (baseline) with margin ``margin``.

    H0: ``p_b - p_a <= -margin`` against H1: ``p_b - p_a > -margin``, at one-sided level
    ``alpha = 1 - confidence``. The interval is Tango's score interval at two-sided level
    ``1 - 2*alpha`` (each bound one-sided ``confidence``). Verdict:

    * ``"non-inferior"`` if ``low > -margin`` (H0 rejected);
    * ``"inferior"`` if ``high < -margin`` (b is worse by more than the margin);
    * ``"undecided"`` otherwise: too few cases; see ``n_needed``.

    ``z = T(-margin)`` (:func:`tango_score_statistic`) and ``p_value = 1 - Phi(z)``;
    because T decreases in delta0, ``p_value < alpha`` exactly when ``low > -margin``.
    ``n_needed`` comes from :func:`sample_size_noninferiority_paired` with the observed
    discordance rate and difference, this alpha and power 0.8.

    References: Nam (1997) Biometrics 53:1422-1430; Tango (1998) Stat Med 17:891-908.
    """
    _check_confidence(confidence)
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin must be in [0, 1), got {margin!r}")
    n, b01, b10 = _discordant(a, b)
    alpha = 1.0 - confidence
    if n == 0:
        return NonInferiorityResult(
            "undecided", margin, confidence, 0, 0, 0, math.nan, -1.0, 1.0, 0.0, 1.0, None
        )
    interval = _paired_difference_from_counts(n, b01, b10, 1.0 - 2.0 * alpha, "tango")
    z = tango_score_statistic(n, b01, b10, -margin)
    p_value = float(_dist.norm_sf(z))
    verdict: Verdict
    if interval.low > -margin:
        verdict = "non-inferior"
    elif interval.high < -margin:
        verdict = "inferior"
    else:
        verdict = "undecided"
    diff = interval.diff
    n_needed: int | None = None
    if diff > -margin:
        n_needed = sample_size_noninferiority_paired(
            (b01 + b10) / n, diff, margin, alpha=alpha, power=0.8
        )
    return NonInferiorityResult(
        verdict,
        margin,
        confidence,
        n,
        b01,
        b10,
        diff,
        interval.low,
        interval.high,
        z,
        p_value,
        n_needed,
    )


def sample_size_noninferiority_paired(
    discordance_rate: float,
    expected_diff: float,
    margin: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int:
    """Pairs needed for a paired binary non-inferiority test (Nam 1997 score test).

    With discordance ``psi = P(a != b)``, expected difference ``delta = p_b - p_a``,
    ``delta0 = -margin`` and one-sided ``alpha``::

        n = ceil( (z_{1-alpha} sqrt(w0) + z_{power} sqrt(w1))^2 / (delta - delta0)^2 )
        w1 = psi - delta^2                        (variance of b - a under H1)
        w0 = 2 q0 + delta0 (1 - delta0)           (variance under H0, restricted)

    where q0 is the restricted MLE of P(a=1, b=0) under H0 evaluated at the expected
    cell probabilities ``p10 = (psi - delta)/2``, ``p01 = (psi + delta)/2``.

    Reference: Nam, J.-M. (1997) "Establishing equivalence of two treatments and sample
    size requirements in matched-pairs design", Biometrics 53:1422-1430 (formula for
    the score test of Tango 1998). With ``margin = 0`` it is Connor's (1987, Biometrics
    43:207-211) formula ``(z_a sqrt(psi) + z_b sqrt(psi - delta^2))^2 / delta^2``.
    """
    if not 0.0 <= discordance_rate <= 1.0:
        raise ValueError("discordance_rate must be in [0, 1]")
    if abs(expected_diff) > discordance_rate + 1e-12:
        raise ValueError("|expected_diff| cannot exceed the discordance rate")
    if not 0.0 <= margin < 1.0:
        raise ValueError("margin must be in [0, 1)")
    if not 0.0 < alpha < 0.5:
        raise ValueError("alpha (one-sided) must be in (0, 0.5)")
    if not alpha < power < 1.0:
        raise ValueError("power must be in (alpha, 1)")
    delta0 = -margin
    if expected_diff <= delta0:
        raise ValueError("expected_diff must exceed -margin: non-inferiority cannot be shown")
    psi = discordance_rate
    p10 = max((psi - expected_diff) / 2.0, 0.0)
    p01 = max((psi + expected_diff) / 2.0, 0.0)
    q0 = _restricted_p10(p01, p10, delta0)
    w0 = max(2.0 * q0 + delta0 * (1.0 - delta0), 0.0)
    w1 = max(psi - expected_diff**2, 0.0)
    za = float(_dist.norm_ppf(1.0 - alpha))
    zb = float(_dist.norm_ppf(power))
    n = (za * math.sqrt(w0) + zb * math.sqrt(w1)) ** 2 / (expected_diff - delta0) ** 2
    # Guard against 17.000000000001 -> 18 from rounding.
    return max(1, math.ceil(n - 1e-9))
