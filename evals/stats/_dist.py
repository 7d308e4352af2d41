"""The few distribution functions the statistics need, from scipy.special.

scipy.stats took 1-2 s to import (its docstring machinery builds every distribution),
paid by every `evals gate` and `evals report` process before any work; scipy.special
loads in a tenth of that. Each function is what scipy.stats evaluates for these
distributions (the same special function, the same support and argument rules), so the
values are identical: tests/evals/test_stats_dist.py compares them with scipy.stats.
"""

from __future__ import annotations

import math

from scipy.special import _ufuncs, ndtr, ndtri


def norm_ppf(q: float) -> float:
    """Standard normal quantile (scipy.stats.norm.ppf)."""
    if not 0.0 <= q <= 1.0:
        return math.nan
    if q == 0.0:
        return -math.inf
    if q == 1.0:
        return math.inf
    return float(ndtri(q))


def norm_sf(x: float) -> float:
    """Standard normal survival function (scipy.stats.norm.sf)."""
    return float(ndtr(-x))


def binom_cdf(k: float, n: int, p: float) -> float:
    """Binomial cumulative distribution (scipy.stats.binom.cdf)."""
    k = math.floor(k)
    if n < 0 or not 0.0 <= p <= 1.0:
        return math.nan
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return float(_ufuncs._binom_cdf(k, n, p))


def beta_ppf(q: float, a: float, b: float) -> float:
    """Beta quantile (scipy.stats.beta.ppf)."""
    if a <= 0 or b <= 0 or not 0.0 <= q <= 1.0:
        return math.nan
    if q == 0.0:
        return 0.0
    if q == 1.0:
        return 1.0
    return float(_ufuncs._beta_ppf(q, a, b))
