"""Agreement between raters: Cohen's and Fleiss' kappa, Krippendorff's alpha (nominal)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence

import numpy as np
import numpy.typing as npt

# --------------------------------------------------------------------- agreement


def _label_order(observed: Sequence[Hashable]) -> list[Hashable]:
    distinct = list(dict.fromkeys(observed))
    try:
        return sorted(distinct)  # type: ignore[type-var]  # Hashable need not be orderable: caught below
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
