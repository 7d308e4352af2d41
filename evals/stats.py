"""Statistics for evaluation decisions: intervals, paired tests, agreement, bootstrap.

Pure functions over plain Python / numpy data (numpy and scipy only). Every function
states its formula and a reference in its docstring; ``tests/evals/test_stats.py``
checks each one against a reference implementation (statsmodels, krippendorff) or a
published worked example.

Conventions
-----------
* ``confidence`` is the two-sided coverage of an interval (0.95 -> 95 %), except in
  :func:`clopper_pearson_upper` and :func:`noninferiority_paired`, which are one-sided
  (see their docstrings).
* No data is not an error: an empty sample gives the widest interval ([0, 1] for a
  proportion, [-1, 1] for a difference) and ``nan`` as the point estimate. An
  undefined agreement coefficient (a single category, nothing pairable) is ``nan``, so
  that any ``>=`` threshold on it fails.
* In paired comparisons ``a`` is the baseline (current model / prompt) and ``b`` the
  candidate; ``b01`` counts cases where a failed and b passed, ``b10`` where a passed
  and b failed; the difference is ``p_b - p_a = (b01 - b10) / n``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import stats as _st

__all__ = [
    "GeometricMeanRatio",
    "Interval",
    "NonInferiorityResult",
    "PairedDifference",
    "clopper_pearson_interval",
    "clopper_pearson_upper",
    "cohens_kappa",
    "fleiss_kappa",
    "geometric_mean_ratio",
    "krippendorff_alpha_nominal",
    "mcnemar_exact",
    "noninferiority_paired",
    "p95",
    "paired_rate_difference",
    "percentile",
    "sample_size_noninferiority_paired",
    "tango_score_statistic",
    "wilson_interval",
]

Verdict = Literal["non-inferior", "inferior", "undecided"]
PairedMethod = Literal["tango", "wald"]

# Bootstrap replicates are drawn in blocks of this many rows, so memory stays bounded
# for many clusters; fixed, so a seed always gives the same draws.
_BOOT_BLOCK = 256


# --------------------------------------------------------------------------- results


class Interval(NamedTuple):
    """A confidence interval for a proportion and its point estimate."""

    low: float
    high: float
    estimate: float


@dataclass(frozen=True, slots=True)
class PairedDifference:
    """Difference of two paired proportions, ``p_b - p_a``, with its interval."""

    n: int
    b01: int  # a failed, b passed
    b10: int  # a passed, b failed
    diff: float
    low: float
    high: float
    confidence: float
    method: PairedMethod


@dataclass(frozen=True, slots=True)
class NonInferiorityResult:
    """Outcome of a paired non-inferiority test of b against a (H0: p_b - p_a <= -margin).

    ``low``/``high`` is the two-sided ``1 - 2*alpha`` Tango interval (alpha = 1 -
    confidence), i.e. each bound is a one-sided ``confidence`` bound. ``z`` and
    ``p_value`` are the one-sided score test against ``-margin``. ``n_needed`` is the
    number of pairs (total, not additional) needed for 80 % power at this alpha with the
    observed discordance rate and difference as planning values; ``None`` when no
    sample size would do (observed difference at or below ``-margin``, or no data).
    """

    verdict: Verdict
    margin: float
    confidence: float
    n: int
    b01: int
    b10: int
    diff: float
    low: float
    high: float
    z: float
    p_value: float
    n_needed: int | None


@dataclass(frozen=True, slots=True)
class GeometricMeanRatio:
    """Ratio of geometric means (assisted / unassisted) with a cluster-bootstrap interval."""

    ratio: float
    low: float
    high: float
    reduction: float  # 1 - ratio: the fraction of handling time saved
    n_assisted: int
    n_unassisted: int
    n_clusters: int
    n_boot: int
    confidence: float

    @property
    def reduction_low(self) -> float:
        """Lower bound of the reduction (``1 - high``)."""
        return 1.0 - self.high

    @property
    def reduction_high(self) -> float:
        """Upper bound of the reduction (``1 - low``)."""
        return 1.0 - self.low


# --------------------------------------------------------------------------- helpers


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")


def _z_two_sided(confidence: float) -> float:
    return float(_st.norm.ppf(0.5 + confidence / 2.0))


def _as_binary(values: Sequence[bool] | npt.ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if arr.size and not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name} must hold booleans (or 0/1)")
    return arr.astype(bool)


def _discordant(
    a: Sequence[bool] | npt.ArrayLike, b: Sequence[bool] | npt.ArrayLike
) -> tuple[int, int, int]:
    """Return ``(n, b01, b10)`` for two paired binary outcome vectors."""
    aa = _as_binary(a, "a")
    bb = _as_binary(b, "b")
    if aa.shape != bb.shape:
        raise ValueError(f"a and b must pair up: {aa.size} vs {bb.size} cases")
    b01 = int(np.count_nonzero(~aa & bb))
    b10 = int(np.count_nonzero(aa & ~bb))
    return int(aa.size), b01, b10


# ------------------------------------------------------------- single proportions


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a binomial proportion.

    With ``p = x/n`` and ``z = Phi^-1(1 - alpha/2)``::

        centre = (p + z^2/(2n)) / (1 + z^2/n)
        half   = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/(4 n^2))

    Reference: Wilson, E. B. (1927) JASA 22:209-212; Newcombe (1998) Stat Med 17:857,
    method 3. Matches ``statsmodels.stats.proportion.proportion_confint(method="wilson")``.
    ``n = 0`` gives ``(0, 1)`` with a ``nan`` estimate.
    """
    _check_counts(successes, n)
    _check_confidence(confidence)
    if n == 0:
        return Interval(0.0, 1.0, math.nan)
    z = _z_two_sided(confidence)
    p = successes / n
    z2n = z * z / n
    denom = 1.0 + z2n
    centre = (p + z2n / 2.0) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(low, high, p)


def clopper_pearson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Clopper-Pearson ("exact") two-sided interval for a binomial proportion.

    ``low = Beta^-1(alpha/2; x, n-x+1)`` (0 when x = 0) and
    ``high = Beta^-1(1-alpha/2; x+1, n-x)`` (1 when x = n).

    Reference: Clopper, C. J. & Pearson, E. S. (1934) Biometrika 26:404-413. Matches
    ``statsmodels.stats.proportion.proportion_confint(method="beta")``. ``n = 0`` gives
    ``(0, 1)`` with a ``nan`` estimate.
    """
    _check_counts(successes, n)
    _check_confidence(confidence)
    if n == 0:
        return Interval(0.0, 1.0, math.nan)
    alpha = 1.0 - confidence
    x = successes
    low = 0.0 if x == 0 else float(_st.beta.ppf(alpha / 2.0, x, n - x + 1))
    high = 1.0 if x == n else float(_st.beta.ppf(1.0 - alpha / 2.0, x + 1, n - x))
    return Interval(low, high, x / n)


def clopper_pearson_upper(successes: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper confidence bound for a binomial proportion.

    ``upper = Beta^-1(confidence; x+1, n-x)``, and 1 when x = n (or n = 0). It is the
    largest p with ``P(X <= x | n, p) >= 1 - confidence``. With x = 0 it reduces to
    ``1 - (1 - confidence)^(1/n)`` (the exact form of the "rule of three").

    Used as the bound on a judge's false-fail rate: the judge may fail trials on its own
    only while this bound stays under target. Reference: Clopper & Pearson (1934);
    equals the upper end of the two-sided interval at level ``2*confidence - 1``.
    """
    _check_counts(successes, n)
    _check_confidence(confidence)
    if successes == n:
        return 1.0
    return float(_st.beta.ppf(confidence, successes + 1, n - successes))


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
    return float(min(1.0, 2.0 * _st.binom.cdf(min(b01, b10), m, 0.5)))


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
    p_value = float(_st.norm.sf(z))
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
    za = float(_st.norm.ppf(1.0 - alpha))
    zb = float(_st.norm.ppf(power))
    n = (za * math.sqrt(w0) + zb * math.sqrt(w1)) ** 2 / (expected_diff - delta0) ** 2
    # Guard against 17.000000000001 -> 18 from rounding.
    return max(1, math.ceil(n - 1e-9))


# ------------------------------------------------------------- handling time


def geometric_mean_ratio(
    assisted_times: Sequence[float] | npt.ArrayLike,
    assisted_clusters: Sequence[Hashable],
    unassisted_times: Sequence[float] | npt.ArrayLike,
    unassisted_clusters: Sequence[Hashable],
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> GeometricMeanRatio:
    """Ratio of geometric mean handling times, assisted / unassisted, cluster bootstrap.

    Point estimate: ``ratio = exp(mean(log t_assisted) - mean(log t_unassisted))``;
    ``reduction = 1 - ratio`` (0.3 = 30 % less time). Times are right-skewed, so the
    comparison is made on the log scale (a ratio of geometric means).

    Interval: percentile bootstrap resampling *clusters* (reviewers) with replacement;
    a drawn reviewer brings all of their observations in both arms, so the between-
    reviewer variation and the pairing of a reviewer's assisted and unassisted times are
    kept. (A reviewer's own speed largely cancels when they work in both arms; what the
    clustering adds is reviewer-to-reviewer variation in the benefit and in how many
    items each reviewer contributes per arm, which an observation-level bootstrap would
    miss.) Each replicate recomputes the ratio; the interval is the ``alpha/2`` and
    ``1 - alpha/2`` quantiles of the replicates. Replicates that happen to hold no
    observation in one arm (possible only when some reviewers work in one arm) are
    dropped. With fewer than two clusters there is no between-cluster variation to
    resample and ``low``/``high`` are ``nan``. Deterministic for a given ``seed``.

    References: Efron & Tibshirani (1993) An Introduction to the Bootstrap, ch. 13
    (percentile interval); Davison & Hinkley (1997) Bootstrap Methods and their
    Application, sec. 3.8 (resampling clusters, "strategy 1").
    """
    _check_confidence(confidence)
    if n_boot < 1:
        raise ValueError("n_boot must be >= 1")
    ta = np.asarray(assisted_times, dtype=float)
    tu = np.asarray(unassisted_times, dtype=float)
    if ta.ndim != 1 or tu.ndim != 1:
        raise ValueError("times must be one-dimensional")
    if ta.size != len(assisted_clusters) or tu.size != len(unassisted_clusters):
        raise ValueError("each time needs exactly one cluster label")
    if ta.size == 0 or tu.size == 0:
        raise ValueError("both arms need at least one observation")
    if not (np.all(np.isfinite(ta)) and np.all(np.isfinite(tu))):
        raise ValueError("times must be finite")
    if np.any(ta <= 0) or np.any(tu <= 0):
        raise ValueError("times must be > 0 (they are log-transformed)")
    la, lu = np.log(ta), np.log(tu)
    ratio = float(np.exp(la.mean() - lu.mean()))

    index: dict[Hashable, int] = {}
    for c in (*assisted_clusters, *unassisted_clusters):
        index.setdefault(c, len(index))
    k = len(index)
    ca = np.fromiter((index[c] for c in assisted_clusters), dtype=np.intp, count=ta.size)
    cu = np.fromiter((index[c] for c in unassisted_clusters), dtype=np.intp, count=tu.size)
    # Per-cluster sufficient statistics: sum of log times and count, per arm.
    sum_a = np.bincount(ca, weights=la, minlength=k)
    cnt_a = np.bincount(ca, minlength=k).astype(float)
    sum_u = np.bincount(cu, weights=lu, minlength=k)
    cnt_u = np.bincount(cu, minlength=k).astype(float)

    low = high = math.nan
    if k >= 2:
        rng = np.random.default_rng(seed)
        probs = np.full(k, 1.0 / k)
        reps: list[npt.NDArray[np.float64]] = []
        for start in range(0, n_boot, _BOOT_BLOCK):
            rows = min(_BOOT_BLOCK, n_boot - start)
            w = rng.multinomial(k, probs, size=rows).astype(float)  # times each cluster drawn
            na, nu = w @ cnt_a, w @ cnt_u
            ok = (na > 0) & (nu > 0)
            reps.append((w[ok] @ sum_a) / na[ok] - (w[ok] @ sum_u) / nu[ok])
        log_ratios = np.concatenate(reps)
        if log_ratios.size:
            alpha = 1.0 - confidence
            q_low, q_high = np.quantile(log_ratios, [alpha / 2.0, 1.0 - alpha / 2.0])
            low, high = float(np.exp(q_low)), float(np.exp(q_high))
    return GeometricMeanRatio(
        ratio=ratio,
        low=low,
        high=high,
        reduction=1.0 - ratio,
        n_assisted=int(ta.size),
        n_unassisted=int(tu.size),
        n_clusters=k,
        n_boot=n_boot,
        confidence=confidence,
    )


def percentile(values: Sequence[float] | npt.ArrayLike, q: float) -> float:
    """The q-th percentile (0 <= q <= 100), linear interpolation between order statistics.

    ``x_(h)`` with ``h = (n - 1) q / 100`` interpolated linearly (Hyndman & Fan 1996,
    definition 7; numpy's default). ``nan`` for no values.
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError("q must be in [0, 100]")
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return math.nan
    return float(np.percentile(arr, q))


def p95(values: Sequence[float] | npt.ArrayLike) -> float:
    """95th percentile, as :func:`percentile` with ``q = 95``."""
    return percentile(values, 95.0)


# --------------------------------------------------------------------- agreement


def _label_order(observed: Sequence[Hashable]) -> list[Hashable]:
    distinct = list(dict.fromkeys(observed))
    try:
        return sorted(distinct)  # type: ignore[type-var]
    except TypeError:  # mixed, unorderable label types: first-seen order
        return distinct


def cohens_kappa(
    r1: Sequence[Hashable],
    r2: Sequence[Hashable],
    labels: Sequence[Hashable] | None = None,
) -> float:
    """Cohen's kappa for two raters labelling the same items (nominal, unweighted).

    ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o = sum_i n_ii / n`` (observed
    agreement) and ``p_e = sum_i n_i+ n_+i / n^2`` (chance agreement from the margins).
    ``labels`` fixes the category set (a label outside it is an error); by default it
    is the labels seen. ``nan`` when there are no items or ``p_e = 1`` (both raters used
    one and the same category: kappa is undefined).

    Reference: Cohen, J. (1960) Educ Psychol Meas 20:37-46. Matches
    ``statsmodels.stats.inter_rater.cohens_kappa`` on the contingency table.
    """
    if len(r1) != len(r2):
        raise ValueError(f"raters must label the same items: {len(r1)} vs {len(r2)}")
    cats = list(labels) if labels is not None else _label_order([*r1, *r2])
    pos = {c: i for i, c in enumerate(cats)}
    if len(pos) != len(cats):
        raise ValueError("labels must be distinct")
    n = len(r1)
    if n == 0:
        return math.nan
    table = np.zeros((len(cats), len(cats)))
    for x, y in zip(r1, r2, strict=True):
        if x not in pos or y not in pos:
            raise ValueError(f"label not in labels: {x if x not in pos else y!r}")
        table[pos[x], pos[y]] += 1
    p_o = float(np.trace(table)) / n
    p_e = float(table.sum(axis=1) @ table.sum(axis=0)) / (n * n)
    if p_e >= 1.0 - 1e-15:
        return math.nan
    return (p_o - p_e) / (1.0 - p_e)


def fleiss_kappa(ratings_matrix: Sequence[Sequence[int]] | npt.ArrayLike) -> float:
    """Fleiss' kappa for m raters per item; input is items x categories counts.

    ``n_ij`` = raters who put item i in category j, every row summing to m >= 2::

        P_i   = (sum_j n_ij^2 - m) / (m (m - 1))      agreement on item i
        P_bar = mean_i P_i;   p_j = sum_i n_ij / (N m);   P_e = sum_j p_j^2
        kappa = (P_bar - P_e) / (1 - P_e)

    ``nan`` when ``P_e = 1`` (a single category used). Reference: Fleiss, J. L. (1971)
    Psychol Bull 76:378-382. Matches ``statsmodels.stats.inter_rater.fleiss_kappa``.
    """
    table = np.asarray(ratings_matrix, dtype=float)
    if table.ndim != 2 or table.shape[0] == 0 or table.shape[1] == 0:
        raise ValueError("ratings_matrix must be a non-empty items x categories matrix")
    if np.any(table < 0) or np.any(table != np.round(table)):
        raise ValueError("ratings_matrix must hold non-negative integer counts")
    m = table.sum(axis=1)
    if not np.all(m == m[0]):
        raise ValueError("every item must be rated by the same number of raters")
    raters = float(m[0])
    if raters < 2:
        raise ValueError("need at least two ratings per item")
    n_items = table.shape[0]
    p_i = ((table * table).sum(axis=1) - raters) / (raters * (raters - 1.0))
    p_bar = float(p_i.mean())
    p_j = table.sum(axis=0) / (n_items * raters)
    p_e = float(p_j @ p_j)
    if p_e >= 1.0 - 1e-15:
        return math.nan
    return (p_bar - p_e) / (1.0 - p_e)


def krippendorff_alpha_nominal(units: Sequence[Sequence[Hashable | None]]) -> float:
    """Krippendorff's alpha for nominal data with any number of coders and missing values.

    ``units[u]`` holds the values given to unit u (one entry per coder; ``None`` =
    missing; only the multiset of values matters). Units with fewer than two values
    are not pairable and are ignored. With ``n_uc`` = number of values c in unit u and
    ``m_u`` = values in unit u, the coincidence matrix and marginals are::

        o_ck = sum_u n_uc (n_uk - [c == k]) / (m_u - 1);   n_c = sum_k o_ck;   n = sum_c n_c
        alpha = 1 - (n - 1) (n - sum_c o_cc) / (n^2 - sum_c n_c^2)

    (that is ``1 - D_o / D_e`` for the nominal metric). ``nan`` when fewer than two
    pairable values exist or only one category occurs (no variation: alpha undefined).

    Reference: Krippendorff, K. (2011) "Computing Krippendorff's Alpha-Reliability",
    Annenberg School for Communication, sec. C (nominal example: alpha = 0.743).
    Matches ``krippendorff.alpha(..., level_of_measurement="nominal")``.
    """
    diag: defaultdict[Hashable, float] = defaultdict(float)  # o_cc
    marg: defaultdict[Hashable, int] = defaultdict(int)  # n_c
    for unit in units:
        counts = Counter(v for v in unit if v is not None)
        m_u = sum(counts.values())
        if m_u < 2:
            continue
        for c, n_uc in counts.items():
            diag[c] += n_uc * (n_uc - 1) / (m_u - 1)
            marg[c] += n_uc
    n = float(sum(marg.values()))
    if n < 2:
        return math.nan
    expected = n * n - float(sum(v * v for v in marg.values()))
    if expected <= 0.0:
        return math.nan
    observed = n - float(sum(diag.values()))
    return 1.0 - (n - 1.0) * observed / expected


# ------------------------------------------------- one-proportion sample size (gates)


def sample_size_one_proportion(
    expected: float, threshold: float, alpha: float = 0.025, power: float = 0.8
) -> int:
    """Cases needed for a one-sample score test of a proportion to clear a threshold.

    One-sided test of H0: ``p = threshold`` against ``p > threshold`` (or ``p <
    threshold`` when ``expected`` is below it) at level ``alpha``, planned with the rate
    ``expected``::

        n = ceil( (z_{1-alpha} sqrt(t (1 - t)) + z_{power} sqrt(p (1 - p)))^2 / (p - t)^2 )

    The score test inverts the Wilson interval, so with ``alpha = (1 - confidence)/2``
    this is the n at which the Wilson lower (upper) bound is expected to clear ``t``;
    ``power = 0.5`` gives the n at which a rate observed at exactly ``expected`` puts the
    bound on ``t`` (``n = z^2 t (1 - t) / (p - t)^2``). Used by gates to say how many
    cases an undecided rate check needs.

    Reference: Fleiss, Levin & Paik (2003) Statistical Methods for Rates and
    Proportions, 3rd ed., sec. 2.5.1 (one-sample score test sample size); Chow, Shao &
    Wang (2008) Sample Size Calculations in Clinical Research, sec. 4.1.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError("threshold must be in (0, 1)")
    if not 0.0 <= expected <= 1.0 or expected == threshold:
        raise ValueError("expected must be in [0, 1] and differ from the threshold")
    if not 0.0 < alpha < 0.5:
        raise ValueError("alpha (one-sided) must be in (0, 0.5)")
    if not 0.0 < power < 1.0:
        raise ValueError("power must be in (0, 1)")
    za = float(_st.norm.ppf(1.0 - alpha))
    zb = float(_st.norm.ppf(power))
    spread = za * math.sqrt(threshold * (1.0 - threshold)) + zb * math.sqrt(
        expected * (1.0 - expected)
    )
    n = max(spread, 0.0) ** 2 / (expected - threshold) ** 2
    return max(1, math.ceil(n - 1e-9))


__all__ += ["sample_size_one_proportion"]
