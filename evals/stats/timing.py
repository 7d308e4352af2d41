"""Handling time: geometric-mean ratio with a cluster bootstrap, and percentiles."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from evals.stats._base import GeometricMeanRatio, _check_confidence

# Bootstrap replicates are drawn in blocks of this many rows, so memory stays bounded
# for many clusters; fixed, so a seed always gives the same draws.
_BOOT_BLOCK = 256

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
    ta, tu = _times(assisted_times, assisted_clusters, unassisted_times, unassisted_clusters)
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
        low, high = _bootstrap_interval((sum_a, cnt_a, sum_u, cnt_u), n_boot, seed, confidence)
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


FloatArray = npt.NDArray[np.float64]


def _times(
    assisted_times: Sequence[float] | npt.ArrayLike,
    assisted_clusters: Sequence[Hashable],
    unassisted_times: Sequence[float] | npt.ArrayLike,
    unassisted_clusters: Sequence[Hashable],
) -> tuple[FloatArray, FloatArray]:
    """Both arms' times as arrays, checked: one cluster each, some in each arm, > 0."""
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
    return ta, tu


def _bootstrap_interval(
    clusters: tuple[npt.NDArray[Any], ...],
    n_boot: int,
    seed: int,
    confidence: float,
) -> tuple[float, float]:
    """The percentile interval of the ratio over clusters resampled with replacement;
    ``clusters``: per cluster the sum of log times and the count, assisted then
    unassisted (see geometric_mean_ratio)."""
    sum_a, cnt_a, sum_u, cnt_u = clusters
    k = sum_a.size
    rng = np.random.default_rng(seed)
    probs = np.full(k, 1.0 / k)
    reps: list[FloatArray] = []
    for start in range(0, n_boot, _BOOT_BLOCK):
        rows = min(_BOOT_BLOCK, n_boot - start)
        w = rng.multinomial(k, probs, size=rows).astype(float)  # times each cluster drawn
        na, nu = w @ cnt_a, w @ cnt_u
        ok = (na > 0) & (nu > 0)
        reps.append((w[ok] @ sum_a) / na[ok] - (w[ok] @ sum_u) / nu[ok])
    log_ratios = np.concatenate(reps)
    if not log_ratios.size:
        return math.nan, math.nan
    alpha = 1.0 - confidence
    q_low, q_high = np.quantile(log_ratios, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(np.exp(q_low)), float(np.exp(q_high))


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
