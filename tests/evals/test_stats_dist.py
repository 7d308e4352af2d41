"""evals.stats._dist (scipy.special, cheap to import) gives exactly what scipy.stats
gives for the distributions the statistics use, over their whole argument ranges."""

from __future__ import annotations

import math
import subprocess
import sys

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


def test_beta_ppf() -> None:
    for a in [0.0, 0.5, 1.0, 3.0, 250.0, 40001.0]:
        for b in [0.0, 1.0, 2.0, 77.0, 90000.0]:
            for q in GRID:
                assert same(_dist.beta_ppf(q, a, b), float(st.beta.ppf(q, a, b))), (q, a, b)


def test_the_statistics_do_not_import_scipy_stats() -> None:
    code = (
        "import sys, evals.stats; evals.stats.wilson_interval(3, 9); "
        "print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
