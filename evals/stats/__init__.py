"""Statistics for evaluation decisions: intervals, paired tests, agreement, bootstrap.

Pure functions over plain Python / numpy data (numpy and scipy only). Every function
states its formula and a reference in its docstring; ``tests/evals/stats/test_stats.py``
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

Modules: ``proportions`` (one rate), ``paired`` (two arms on the same cases),
``timing`` (handling time), ``agreement`` (between raters); every public name is
re-exported here, so ``from evals import stats; stats.wilson_interval(...)`` is the API.
"""

from evals.stats._base import (
    GeometricMeanRatio,
    Interval,
    NonInferiorityResult,
    PairedDifference,
    PairedMethod,
    Verdict,
)
from evals.stats.agreement import cohens_kappa, fleiss_kappa, krippendorff_alpha_nominal
from evals.stats.paired import (
    mcnemar_exact,
    noninferiority_paired,
    paired_rate_difference,
    sample_size_noninferiority_paired,
    tango_score_statistic,
)
from evals.stats.proportions import (
    clopper_pearson_interval,
    clopper_pearson_upper,
    sample_size_one_proportion,
    wilson_interval,
)
from evals.stats.timing import geometric_mean_ratio, p95, percentile

__all__ = [
    "GeometricMeanRatio",
    "Interval",
    "NonInferiorityResult",
    "PairedDifference",
    "PairedMethod",
    "Verdict",
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
    "sample_size_one_proportion",
    "tango_score_statistic",
    "wilson_interval",
]
