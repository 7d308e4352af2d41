"""The paired 2x2 table of two runs' outcomes as counts, and the analysis from them.

:func:`evals.analysis.compare.paired_outcomes` analyses two arms' pairing units held in
memory (with the trial keys of each cell); a gate over the typed columns
(:mod:`evals.analysis.runfacts`) gets the same table as counts from DuckDB.
:func:`paired_from_counts` turns either into the same
:class:`evals.analysis.compare.PairedOutcomes` (without keys), with the statistics of
:mod:`evals.stats`, which depend on the table's counts only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from evals import stats
from evals.analysis.compare import NonInferiority, PairedOutcomes, Unit


class PairCounts(NamedTuple):
    """The paired table of one scope, and the trials behind it."""

    both_pass: int
    baseline_only: int
    """Baseline passed, candidate failed (b10)."""
    candidate_only: int
    """Baseline failed, candidate passed (b01)."""
    both_fail: int
    unpaired_baseline: int
    unpaired_candidate: int
    changed_cases: int
    """Pairs whose case content hash differs between the runs."""
    baseline_trials: int = 0
    """Trials (with an outcome) of the baseline's paired units."""
    candidate_trials: int = 0
    """Trials (with an outcome) of the candidate's paired units."""

    @property
    def n(self) -> int:
        """Paired units."""
        return self.both_pass + self.baseline_only + self.candidate_only + self.both_fail


NO_PAIRS = PairCounts(0, 0, 0, 0, 0, 0, 0)


def pair_counts(base: dict[str, Unit], cand: dict[str, Unit]) -> PairCounts:
    """The counts of two arms' pairing units (evals.analysis.compare.pairing_units)."""
    common = base.keys() & cand.keys()
    cells = [0, 0, 0, 0]
    changed = 0
    for u in common:
        x, y = base[u][0], cand[u][0]
        cells[(0 if x else 2) + (0 if y else 1)] += 1
        changed += base[u][3] != cand[u][3]
    both_pass, baseline_only, candidate_only, both_fail = cells
    return PairCounts(
        both_pass,
        baseline_only,
        candidate_only,
        both_fail,
        unpaired_baseline=len(base.keys() - cand.keys()),
        unpaired_candidate=len(cand.keys() - base.keys()),
        changed_cases=changed,
        baseline_trials=sum(len(base[u][1]) for u in common),
        candidate_trials=sum(len(cand[u][1]) for u in common),
    )


def _noninferiority(
    a: list[bool], b: list[bool], margin: float, confidence: float
) -> NonInferiority:
    ni = stats.noninferiority_paired(a, b, margin, confidence=1.0 - (1.0 - confidence) / 2.0)
    return NonInferiority(
        margin=margin,
        verdict=ni.verdict,
        low=ni.low,
        high=ni.high,
        p_value=ni.p_value,
        n_needed=ni.n_needed if ni.verdict == "undecided" else None,
        n_more=max(ni.n_needed - ni.n, 0) if ni.verdict == "undecided" and ni.n_needed else None,
    )


def paired_from_counts(
    counts: PairCounts, margins: Sequence[float], confidence: float
) -> PairedOutcomes:
    """The paired analysis of a table of counts (as compare.paired_outcomes, no keys)."""
    c = counts
    # The statistics read the table's counts only: any order of the pairs gives them.
    a = [True] * (c.both_pass + c.baseline_only) + [False] * (c.candidate_only + c.both_fail)
    b = (
        [True] * c.both_pass
        + [False] * c.baseline_only
        + [True] * c.candidate_only
        + [False] * c.both_fail
    )
    diff = stats.paired_rate_difference(a, b, confidence)
    n = c.n
    return PairedOutcomes(
        n=n,
        both_pass=c.both_pass,
        baseline_only=diff.b10,
        candidate_only=diff.b01,
        both_fail=c.both_fail,
        baseline_rate=sum(a) / n if n else None,
        candidate_rate=sum(b) / n if n else None,
        diff=None if math.isnan(diff.diff) else diff.diff,
        low=diff.low,
        high=diff.high,
        confidence=confidence,
        mcnemar_p=stats.mcnemar_exact(diff.b01, diff.b10),
        noninferiority=[_noninferiority(a, b, m, confidence) for m in margins],
        unpaired_baseline=c.unpaired_baseline,
        unpaired_candidate=c.unpaired_candidate,
        changed_cases=c.changed_cases,
    )
