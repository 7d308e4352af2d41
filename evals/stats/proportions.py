"""One proportion: Wilson and Clopper-Pearson intervals, and the sample size a gate needs."""

from __future__ import annotations

import math

from evals.stats import _dist
from evals.stats._base import Interval, _check_confidence, _check_counts, _z_two_sided

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
    low = 0.0 if x == 0 else float(_dist.beta_ppf(alpha / 2.0, x, n - x + 1))
    high = 1.0 if x == n else float(_dist.beta_ppf(1.0 - alpha / 2.0, x + 1, n - x))
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
    return float(_dist.beta_ppf(confidence, successes + 1, n - successes))


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
    za = float(_dist.norm_ppf(1.0 - alpha))
    zb = float(_dist.norm_ppf(power))
    spread = za * math.sqrt(threshold * (1.0 - threshold)) + zb * math.sqrt(
        expected * (1.0 - expected)
    )
    n = max(spread, 0.0) ** 2 / (expected - threshold) ** 2
    return max(1, math.ceil(n - 1e-9))
