"""Result types and argument checks shared by the statistics modules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from evals.stats import _dist

Verdict = Literal["non-inferior", "inferior", "undecided"]
PairedMethod = Literal["tango", "wald"]


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
    return float(_dist.norm_ppf(0.5 + confidence / 2.0))


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
