"""The default cascade calibration: **deterministic, full-sample, stage by stage**
(Learn-then-Test, Angelopoulos et al. 2021, per stage as in Jung, Brahman & Choi 2024,
"Trust or Escalate"). No seed, no split: the same labels always give the same
thresholds, so its spread over seeds is 0 by construction.

For each stage, cheapest first, on the labelled trials earlier stages left:

1. **Grid, label-free.** The candidate thresholds are the distinct confidences of the
   stage's deciding verdicts (fails; fails and passes with ``pass_fail``) on those
   trials, highest first. The sequence starts at the highest threshold that decides
   ``n_start`` trials, the fewest at which a stage disagreeing with people half as
   often as the target allows passes its first test half the time (:func:`n_start`),
   and at least 10% of the stage's deciding verdicts. Above it a test rests on a
   handful of trials, where one or two disagreements would stop the sequence (the
   instability of the split procedure: docs/metrics.md). A stage with fewer deciding
   verdicts than that starts where it could pass with no disagreement at all
   (:func:`n_zero`): small samples can still certify a very good stage. The grid and
   its order use confidences only, never a label.
2. **Fixed-sequence test.** Going down the grid, each threshold's binomial p-value (the
   chance of so few disagreements among the trials it decides if its true disagreement
   were ``alpha``) is compared with ``delta / K``; the sequence stops at the first
   threshold that fails, and the stage's threshold is the last one that passed (None when
   the first fails: the stage never decides alone). A fixed sequence spends the whole
   ``delta / K`` on every test, because a test is only reached when all before it passed.
3. **Error split across stages (Bonferroni).** ``K`` counts the stages that could ever
   be tested (at least ``n_zero`` deciding verdicts among all trials, at ``delta`` split
   over every stage: label-free); the others are never tested. Each
   stage's chance of certifying a threshold whose true disagreement exceeds ``alpha`` is
   at most ``delta / K``, so the chance that any stage does is at most ``delta = 1 -
   confidence``. Every stage then disagrees at most ``alpha`` of the time on what it
   decides, and so does the cascade (its disagreement is a mixture of the stages').

Stage k is tested on the trials earlier stages left, which depends on their thresholds:
its test holds given them (as in Jung et al.'s per-stage procedure); the whole is checked
on draws from a known population in tests/judges/test_cascade_guarantee.py (0 of 40
draws over the target; docs/metrics.md). The thresholds were chosen and tested on the
same trials: agreement measured on them is in-sample (optimistic); what is certified is
the bound, stated per stage.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.stats as _st

from judges.cascade_calibration import DecideMode, _Arrays, _correct, _eligible

POWER = 0.5
"""Where a stage's sequence starts: at the fewest decided trials at which a stage whose
true disagreement is half the target passes its first test with this probability.
Measured (docs/metrics.md): 0.8 or 0.9, or a second sequence from there, covered less on
the published data and the synthetic regimes (a later start loses the cautious
thresholds, and earlier stages then take the items later stages would have decided)."""


@functools.lru_cache(maxsize=256)
def n_start(alpha: float, level: float, power: float = POWER, cap: int = 1 << 20) -> int:
    """Fewest decided trials n at which a stage disagreeing with people ``alpha / 2`` of
    the time passes the binomial test of 'disagreement >= alpha' at ``1 - level`` with
    probability `power` (label-free; at most `cap`). At fewer, passing needs next to no
    disagreement, and one or two unlucky disagreements at the top stop the sequence."""
    size = 256
    while True:  # widen the search until found: cheap for the usual few hundred
        n = np.arange(1, min(size, cap) + 1)
        k = _st.binom.ppf(1.0 - level, n, alpha)  # smallest k with cdf(k) >= 1 - level
        k = np.where(_st.binom.cdf(k, n, alpha) > 1.0 - level, k - 1, k)  # largest passing
        ok = np.flatnonzero(_st.binom.cdf(k, n, alpha / 2) >= power)
        if len(ok) or size >= cap:
            return int(n[ok[0]]) if len(ok) else cap
        size *= 4


def n_zero(alpha: float, level: float) -> int:
    """Fewest decided trials at which a stage could pass at all (with no disagreement:
    ``(1 - alpha)^n <= 1 - level``)."""
    n = max(1, math.floor(math.log(1.0 - level) / math.log(1.0 - alpha)))
    while (1.0 - alpha) ** n > 1.0 - level:
        n += 1
    return n


SHARE = 0.1
"""A sequence starts no higher than where the stage decides this share of its deciding
verdicts: with thousands of trials, a start at a hundred or so would rest on the very
top, where a few unlucky disagreements stop the sequence (label-free). Measured: no
change on 500 trials (docs/metrics.md)."""


@dataclass(frozen=True)
class StageTest:
    """One stage's fixed-sequence test."""

    threshold: float | None
    """The last threshold that passed (None: none did)."""
    tested: int
    """Thresholds tested (the one that stopped the sequence included)."""
    decided: int
    wrong: int
    """Trials the threshold decides among those reaching the stage, and of them
    disagreeing with people."""


def stage_test(
    conf: npt.NDArray[np.float64],
    ok: npt.NDArray[np.bool_],
    alpha: float,
    budget: float,
    start: int,
) -> StageTest:
    """Fixed-sequence test down the stage's grid (steps 1-2 of the module doc) at
    `budget`, over its deciding verdicts on the trials reaching it: `conf` their
    confidences, `ok` whether each agrees with people. It starts at the first grid point
    deciding at least max(`start`, SHARE of them) trials; when the stage has fewer, at
    the fewest that could pass at all (:func:`n_zero`)."""
    if len(conf) == 0:
        return StageTest(None, 0, 0, 0)
    order = np.argsort(-conf, kind="stable")
    c, wrong = conf[order], np.cumsum(~ok[order])
    count = np.arange(1, len(c) + 1)
    last_of_level = np.flatnonzero(np.r_[c[1:] != c[:-1], True])  # a threshold takes ties
    first = max(start, math.ceil(SHARE * len(c)))
    if first > len(c):  # too few to start there: from the fewest that could pass at all
        first = n_zero(alpha, 1.0 - budget)
    chosen: tuple[float | None, int, int] = (None, 0, 0)
    tested = 0
    for i in last_of_level[count[last_of_level] >= first]:
        tested += 1
        if _st.binom.cdf(wrong[i], count[i], alpha) > budget:
            break  # a fixed sequence stops at its first failure
        chosen = (float(c[i]), int(count[i]), int(wrong[i]))
    return StageTest(chosen[0], tested, chosen[1], chosen[2])


def calibrate_stages(
    a: _Arrays, alpha: float, confidence: float, decide: DecideMode
) -> tuple[list[StageTest], float]:
    """Each stage's test (the module doc) on every labelled trial; and the level
    ``1 - delta / K`` each stage was tested at."""
    eligible, correct = _eligible(a, decide), _correct(a)
    k_n = a.codes.shape[1]
    testable = eligible.sum(axis=0) >= n_zero(alpha, 1.0 - (1.0 - confidence) / max(k_n, 1))
    level = 1.0 - (1.0 - confidence) / max(1, int(testable.sum()))
    start = n_start(alpha, level)
    remaining = np.ones(len(a.helpful), bool)
    out = []
    for k in range(k_n):
        cand = remaining & eligible[:, k] & testable[k]  # untestable: never tested
        result = stage_test(a.conf[cand, k], correct[cand, k], alpha, 1.0 - level, start)
        out.append(result)
        if result.threshold is not None:
            remaining &= ~(cand & (a.conf[:, k] >= result.threshold))
    return out, level
