"""Cascade calibration on held-out splits, p-values pooled (``method="split"``; the
default is judges.cascade_ltt): Learn-then-Test (Angelopoulos et al. 2021) applied to
cascades as in Jung et al. 2024, "Trust or Escalate".

1. The labelled trials are split at random (seeded) into a *selection* part and a
   *test* part (default half each).
2. On the selection part a set of threshold tuples is built, from cautious to bold: for
   each per-stage risk level r on a grid, the stages are set in order, each to the
   lowest threshold whose decided trials (among those reaching it) disagree with people
   at most r of the time (counted as (wrong + 1) / (decided + 2), so that a handful of
   lucky agreements does not look error-free). Equal risk per stage keeps every stage's
   decisions as good as the cascade's promise.
3. The tuples are **ordered** before any test label is read: by the upper bound each
   would get on the test part if its disagreement there were the selection part's
   (the number of test trials it decides depends on the confidences only, not on the
   labels). Tuples most likely to pass, with enough decided trials to pass, come first.
4. On the test part the tuples are tested in that order as a *fixed sequence*: each
   tuple's binomial p-value (the chance of so few disagreements on the test trials it
   decides if its true disagreement were ``alpha``) is adjusted to the largest p-value
   of it and every tuple before it. Tuples deciding fewer test trials than could ever
   pass are left out (that depends on the confidences, not the labels). The order was
   fixed before any test label was read, so in one split the chance that a tuple whose
   true disagreement exceeds ``alpha`` gets an adjusted p-value <= u is at most u.
5. **Many splits, p-values pooled** (Meinshausen, Meier & Buehlmann 2009, "p-values for
   high-dimensional regression", Theorem 3.2): steps 1-4 run on 40 independent splits
   (seeded (s, 0), ..., (s, 39) for ``--seed s``). Thresholds are rounded up to a grid
   of 20 quantiles of each stage's confidences (label-free), so different splits
   propose the same tuples. A tuple's pooled p-value is the
   ``ceil(0.2 x 40)``-th smallest of its adjusted p-values over the splits (1 where a
   split did not test it) divided by 0.2; the tuples whose pooled p-value is at most
   ``1 - confidence`` pass, whatever the dependence between splits, with the chance that
   any passed tuple's true disagreement exceeds ``alpha`` at most ``1 - confidence``.
   Of them, the one deciding the most trials is chosen. A quantile over 40 splits is
   close to its limit over all possible splits, so the result barely depends on the
   seed.

Why (measured, docs/metrics.md): testing from the most cautious tuple first, stopping at
the first failure, made the first tests rest on a handful of test trials, where two
disagreements stopped the sequence, so the result hung on the seed (coverage 0% for 4 of
20 seeds and ~100% for the others, on the same 500 items). Keeping one split per seed
left coverage varying by about 11 points over 20 seeds on fail-only data; keeping the
median of ten splits (each at ``(1 - confidence) / 10``, the union bound) by 13-15
points where the promise is borderline; pooling 40 splits' p-values by 0-5 points on
synthetic data, but by 35-40 points on published data whose confidences crowd near 1
(the default procedure, which has no seed, replaced it). The report gives the spread of
coverage over 20 seeds, and **choosing a seed after seeing results voids the
guarantee**.

Agreement (per stage and overall, with Wilson intervals) is measured on the **test part
only**: the selection part chose the thresholds, so its agreement is optimistic. The
overall coverage is measured on every labelled trial (who is decided depends on the
confidences only, not on the labels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.stats as _st

from evals import stats
from judges.calibration import min_n_zero_errors
from judges.cascade_calibration import DecideMode, _Arrays, simulate, threshold_path

SPLITS = 40
"""Independent splits whose p-values are pooled: measured over 20 seeds on borderline
fail-only data, coverage varied by 0-5 points with 40 splits (the median of ten splits,
the method before, by 13-15; docs/metrics.md)."""


GRID = 20
"""Thresholds are rounded up to a grid of this many quantiles of each stage's
confidences over all labelled trials (label-free), so that splits propose the same
tuples and their p-values can be pooled (step 5 of the module doc). Quantiles, not fixed
steps: judges whose confidences crowd near 1 (0.998, 0.9998, ...) keep their
resolution. Measured: 40 quantiles left coverage varying by up to 8 points over seeds
(fewer tuples shared between splits), 20 by 0-4.4 (docs/metrics.md)."""

GAMMA = 0.2
"""Quantile of the splits' p-values that is pooled (Meinshausen et al. 2009): a tuple
passes when at least this share of the splits reject it at ``GAMMA x (1 - confidence)``.
Measured: 0.5 (the median) left bold tuples, which splits test late, short of half the
splits, and coverage varied by up to 40 points over seeds; 0.2 by 0-5 (docs/metrics.md)."""


def _grids(a: _Arrays) -> list[npt.NDArray[np.float64]]:
    """Per stage: the distinct GRID-quantiles of its confidences (who judged)."""
    out = []
    for k in range(a.codes.shape[1]):
        c = a.conf[:, k][np.isfinite(a.conf[:, k])]
        q = np.quantile(c, np.linspace(0, 1, GRID + 1), method="higher") if len(c) else c
        out.append(np.unique(q))
    return out


def _snap(t: float | None, grid: npt.NDArray[np.float64]) -> float | None:
    """`t` rounded up to the grid (a stricter threshold: it decides a subset); None
    when above every grid value (it would decide nothing)."""
    if t is None:
        return None
    i = int(np.searchsorted(grid, t, side="left"))
    return float(grid[i]) if i < len(grid) else None


def _order(
    a: _Arrays,
    sel: npt.NDArray[np.int64],
    test: npt.NDArray[np.int64],
    path: list[tuple[float | None, ...]],
    decide: DecideMode,
    confidence: float,
) -> list[int]:
    """Indexes of `path` in test order (step 3): by the test upper bound each tuple would
    get at its selection-part disagreement rate; uses no test label."""
    keys = []
    for i, tup in enumerate(path):
        _, sd, sa = simulate(a, sel, tup, decide)
        d_sel, wrong_sel = int(sd.sum()), int(sd.sum() - sa.sum())
        d_test = int(simulate(a, test, tup, decide)[1].sum())  # label-free: who is decided
        rate = (wrong_sel + 0.5) / (d_sel + 1.0)  # smoothed: no tuple looks error-free
        predicted = (
            stats.clopper_pearson_upper(round(rate * d_test), d_test, confidence) if d_test else 1.0
        )
        keys.append((predicted, -d_test, i))
    return [i for *_, i in sorted(keys)]


Tuple = tuple[float | None, ...]


@dataclass
class _Split:
    """One split's tests (steps 1-4 of the module doc)."""

    seed: tuple[int, int]
    test: npt.NDArray[np.int64]
    sizes: tuple[int, int]
    p: dict[Tuple, float]
    """The tuples tested, each with its fixed-sequence adjusted p-value (the largest
    binomial p-value of it and every tuple tested before it)."""
    counts: dict[Tuple, tuple[int, int]]
    """The tuples tested, each with (test trials decided, of them disagreed)."""
    path: list[Tuple]


def _one_split(
    a: _Arrays,
    alpha: float,
    level: float,
    decide: DecideMode,
    fraction: float,
    seed: tuple[int, int],
) -> _Split:
    """One seeded split: path on the selection part, its tuples tested on the test part
    in the label-free order (fixed sequence), skipping those deciding too few test trials
    to ever pass at `level`."""
    n = len(a.helpful)
    perm = np.random.default_rng(list(seed)).permutation(n)
    n_sel = round(n * fraction)
    sel, test = np.sort(perm[:n_sel]), np.sort(perm[n_sel:])
    risks = list(np.linspace(0.0, min(1.0, 3.0 * alpha), 61))
    grids = _grids(a)
    path = list(dict.fromkeys(tuple(_snap(t, g) for t, g in zip(tup, grids, strict=True))
                              for tup in threshold_path(a, sel, decide, risks)))  # fmt: skip
    n_min = min_n_zero_errors(alpha, level)
    p: dict[Tuple, float] = {}
    counts: dict[Tuple, tuple[int, int]] = {}
    running = 0.0
    for i in _order(a, sel, test, path, decide, level):
        _, dec, agr = simulate(a, test, path[i], decide)
        d, wrong = int(dec.sum()), int(dec.sum() - agr.sum())
        if d < n_min:  # could never pass (depends on the confidences, not the labels)
            continue
        running = max(running, float(_st.binom.cdf(wrong, d, alpha)))
        p[path[i]] = running
        counts[path[i]] = (d, wrong)
    return _Split(seed, test, (n_sel, n - n_sel), p, counts, path)


@dataclass
class _Pooled:
    """The tuple chosen from pooled splits, and the split that reports it."""

    chosen: Tuple
    kept: _Split
    q: float
    """Its pooled p-value (1 when nothing passed)."""
    coverage: float
    tested: int


def _pool(a: _Arrays, runs: list[_Split], delta: float, decide: DecideMode) -> _Pooled:
    """Step 5: each tuple's pooled p-value is the ceil(GAMMA B)-th smallest of its
    adjusted p-values over the B splits (1 where a split did not test it), divided by
    GAMMA; of the tuples at most ``delta``, the one deciding the most trials is chosen."""
    n, half = len(a.helpful), math.ceil(GAMMA * len(runs))
    every = np.arange(n)
    best: tuple[float, float, Tuple] | None = None
    for tup in dict.fromkeys(t for r in runs for t in r.p):
        q = min(1.0, sorted(r.p.get(tup, 1.0) for r in runs)[half - 1] / GAMMA)
        if q > delta:
            continue
        cov = float(simulate(a, every, tup, decide)[1].sum() / n) if n else 0.0
        if best is None or (cov, -q) > (best[0], -best[1]):
            best = (cov, q, tup)
    tested = len({t for r in runs for t in r.p})
    if best is None:
        return _Pooled((None,) * a.codes.shape[1], runs[0], 1.0, 0.0, tested)
    cov, q, tup = best
    # The split whose p-value is the pooled one reports the figures on its test part.
    kept = sorted((r for r in runs if tup in r.p), key=lambda r: (r.p[tup], r.seed))[half - 1]
    return _Pooled(tup, kept, q, cov, tested)
