"""evals.stats._dist (scipy.special, cheap to import) gives exactly what scipy.stats
gives for the distributions the statistics use, over their whole argument ranges."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import numpy as np
import pytest
from scipy import stats as st

from evals.stats import _dist

GRID = [0.0, 1e-12, 0.001, 0.025, 0.05, 0.2, 0.5, 0.8, 0.95, 0.975, 0.999, 1 - 1e-12, 1.0]


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("q", [*GRID, -0.1, 1.1])
def test_norm_ppf(q: float) -> None:
    assert same(_dist.norm_ppf(q), float(st.norm.ppf(q)))


@pytest.mark.parametrize("x", [-40.0, -3.2, -1.96, -0.3, 0.0, 0.7, 1.64, 5.0, 40.0, math.inf])
def test_norm_sf(x: float) -> None:
    assert same(_dist.norm_sf(x), float(st.norm.sf(x)))


def test_binom_cdf() -> None:
    rng = np.random.default_rng(0)
    for n in [1, 2, 5, 30, 101, 5000]:
        for k in [-1, 0, *rng.integers(0, n + 1, 8).tolist(), n - 1, n, n + 3]:
            for p in [0.0, 0.1, 0.5, 0.9, 1.0]:
                assert same(_dist.binom_cdf(k, n, p), float(st.binom.cdf(k, n, p))), (k, n, p)


GAVE_UP = {(1e-12, 0.5, 2.0)}
"""Where Boost's inverse incomplete beta (behind scipy's beta.ppf) gives up with a
RuntimeWarning and an inexact quantile (its CDF is 7e-14, not 1e-12): scipy.stats returns
the same value, warning alike. The statistics never ask there: their shapes are whole
numbers >= 1 (Clopper-Pearson), so the warning is expected here and nowhere else."""


def test_beta_ppf() -> None:
    for a in [0.0, 0.5, 1.0, 3.0, 250.0, 40001.0]:
        for b in [0.0, 1.0, 2.0, 77.0, 90000.0]:
            for q in GRID:
                expected: AbstractContextManager[object] = (
                    pytest.warns(RuntimeWarning, match="Root finding")
                    if (q, a, b) in GAVE_UP
                    else _no_warning()
                )
                with expected:
                    got, want = _dist.beta_ppf(q, a, b), float(st.beta.ppf(q, a, b))
                assert same(got, want), (q, a, b)


@contextmanager
def _no_warning() -> Iterator[None]:
    """Any warning is an error (a new inexact corner would show here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_the_statistics_do_not_import_scipy_stats() -> None:
    code = (
        "import sys, evals.stats; evals.stats.wilson_interval(3, 9); "
        "print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
