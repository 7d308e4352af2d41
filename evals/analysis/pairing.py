"""The paired 2x2 table of two runs' outcomes: pairing units, the table, its analysis.

Two arms' trials pair up by unit (``pair_by``: the case, or the (case, repetition); see
:mod:`evals.analysis.compare`). :func:`pairing_units` makes the units of trials held in
memory and :func:`tabulate` their table with the trial keys of each cell; a gate or a
comparison over the typed columns (:mod:`evals.analysis.runfacts`,
:mod:`evals.analysis.paired_sql`) gets the same table as counts from DuckDB
(:func:`paired_counts`). :func:`paired_from_counts` is the one constructor of
:class:`PairedOutcomes` from either, with the statistics of :mod:`evals.stats`, which
depend on the table's counts only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

import duckdb
from pydantic import BaseModel, Field

from evals import stats
from evals.analysis.rundata import TrialFacts

PairBy = Literal["case", "case_repetition"]

CELLS = ("both_pass", "baseline_only", "candidate_only", "both_fail")
"""The cells of the paired 2x2 table, in PairCounts' order."""


class NonInferiority(BaseModel):
    """Non-inferiority of the candidate at one margin."""

    margin: float
    verdict: Literal["non-inferior", "inferior", "undecided"]
    low: float
    high: float
    p_value: float
    """One-sided score-test p-value against H0: p_b - p_a <= -margin."""
    n_needed: int | None
    """Total pairs needed (80 % power) when undecided; None if no n would do."""
    n_more: int | None
    """n_needed minus the pairs at hand."""


class PairedOutcomes(BaseModel):
    """The paired 2x2 table of one binary outcome and what follows from it."""

    n: int
    both_pass: int
    baseline_only: int
    """b10: baseline passed, candidate failed."""
    candidate_only: int
    """b01: baseline failed, candidate passed."""
    both_fail: int
    baseline_rate: float | None
    candidate_rate: float | None
    diff: float | None
    """p_candidate - p_baseline."""
    low: float
    high: float
    confidence: float
    mcnemar_p: float
    noninferiority: list[NonInferiority] = Field(default_factory=list)
    unpaired_baseline: int = 0
    unpaired_candidate: int = 0
    changed_cases: int = 0
    """Pairs whose case content hash differs between the runs."""
    cells: dict[str, list[str]] = Field(default_factory=dict)
    """Trial keys (both arms) behind each cell: both_pass, baseline_only, ... (at most
    ``Comparison.evidence_cap`` of them when that is set)."""
    cell_trials: dict[str, int] = Field(default_factory=dict)
    """How many trials (both arms) are behind each cell: the count of ``cells`` uncapped."""


Unit = tuple[bool, list[str], str, str]
"""(outcome, trial keys, question id, case hash) of one pairing unit."""


def pairing_units(
    trials: Sequence[TrialFacts], value: Callable[[TrialFacts], bool | None], pair_by: PairBy
) -> dict[str, Unit]:
    # One pass, one dict lookup a trial: [passes, keys, first trial] per unit.
    acc: dict[str, list[Any]] = {}
    by_case = pair_by == "case"
    for t in trials:
        v = value(t)
        if v is None:
            continue
        unit = t.case_id if by_case else f"{t.case_id}#{t.repetition}"
        a = acc.get(unit)
        if a is None:
            acc[unit] = [1 if v else 0, [t.key], t]
        else:
            a[0] += 1 if v else 0
            a[1].append(t.key)
    out: dict[str, Unit] = {}
    for unit, (passes, keys, first) in acc.items():
        out[unit] = (2 * passes > len(keys), keys, first.question_id, first.case_hash)
    return out


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


def tabulate(
    base: dict[str, Unit], cand: dict[str, Unit]
) -> tuple[PairCounts, dict[str, list[str]]]:
    """The paired table of two arms' pairing units, and the trial keys (both arms) behind
    each cell, units in id order."""
    common = sorted(base.keys() & cand.keys())
    counts = [0, 0, 0, 0]
    cells: dict[str, list[str]] = {c: [] for c in CELLS}
    changed = 0
    for u in common:
        bu, cu = base[u], cand[u]
        i = (0 if bu[0] else 2) + (0 if cu[0] else 1)
        counts[i] += 1
        cell = cells[CELLS[i]]
        cell += bu[1]
        cell += cu[1]
        changed += bu[3] != cu[3]
    both_pass, baseline_only, candidate_only, both_fail = counts
    table = PairCounts(
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
    return table, cells


def pair_counts(base: dict[str, Unit], cand: dict[str, Unit]) -> PairCounts:
    """The counts of two arms' pairing units (:func:`pairing_units`)."""
    return tabulate(base, cand)[0]


def noninferiority_of(
    a: list[bool], b: list[bool], margin: float, confidence: float
) -> NonInferiority:
    """The non-inferiority test of paired outcomes at one margin
    (evals.stats.noninferiority_paired), with the pairs still needed when undecided."""
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
    counts: PairCounts,
    margins: Sequence[float],
    confidence: float,
    cells: dict[str, list[str]] | None = None,
    cell_trials: dict[str, int] | None = None,
) -> PairedOutcomes:
    """The paired analysis of a 2x2 table: the one constructor of PairedOutcomes, for
    units paired in memory (:func:`paired_outcomes`) and tables counted in DuckDB.
    ``cells``/``cell_trials``: the trial keys behind each cell and their number, when the
    caller has them."""
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
        baseline_rate=(c.both_pass + c.baseline_only) / n if n else None,
        candidate_rate=(c.both_pass + c.candidate_only) / n if n else None,
        diff=None if math.isnan(diff.diff) else diff.diff,
        low=diff.low,
        high=diff.high,
        confidence=confidence,
        mcnemar_p=stats.mcnemar_exact(diff.b01, diff.b10),
        noninferiority=[noninferiority_of(a, b, m, confidence) for m in margins],
        unpaired_baseline=c.unpaired_baseline,
        unpaired_candidate=c.unpaired_candidate,
        changed_cases=c.changed_cases,
        cells=cells if cells is not None else {},
        cell_trials=cell_trials if cell_trials is not None else {},
    )


def paired_outcomes(
    base: dict[str, Unit], cand: dict[str, Unit], margins: Sequence[float], confidence: float
) -> PairedOutcomes:
    """The paired analysis of two arms' units, with the trial keys behind each cell."""
    table, cells = tabulate(base, cand)
    return paired_from_counts(
        table, margins, confidence, cells, {c: len(keys) for c, keys in cells.items()}
    )


# --------------------------------------------------------------------------- in DuckDB

_COUNTS = (
    "SELECT q, count(*) FILTER (bok AND cok), count(*) FILTER (bok AND NOT cok), "
    "count(*) FILTER (NOT bok AND cok), count(*) FILTER (NOT bok AND NOT cok), "
    "count(*) FILTER (cu IS NULL), count(*) FILTER (bu IS NULL), "
    "count(*) FILTER (changed), sum(bn) FILTER (cu IS NOT NULL), "
    "sum(cn) FILTER (bu IS NOT NULL) FROM ({rows}) GROUP BY ALL"
)
"""The PairCounts of each scope q from joined unit rows (bu/cu: the unit in each run)."""

_JOINED = (
    "SELECT b.q AS bq, c.q AS cq, b.u AS bu, c.u AS cu, b.n AS bn, c.n AS cn, "
    "2 * b.p > b.n AS bok, 2 * c.p > c.n AS cok, b.h <> c.h AS changed "
    "FROM ({b}) b FULL JOIN ({c}) c ON b.u = c.u{on_q}"
)


def _units(con: duckdb.DuckDBPyConnection, name: str, table: str, unit: str) -> bool:
    """Each unit's trials with an outcome, passes and case hash (its first trial's) as
    temp table units_<name>; False when a unit spans several questions."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE units_{name} AS SELECT {unit} AS u, min(question_id) "
        "AS q, max(question_id) AS q_max, count(*) AS n, count(*) FILTER (outcome) AS p, "
        "min(case_hash) AS h, max(case_hash) AS h_max "
        f"FROM {table} WHERE outcome IS NOT NULL GROUP BY u"
    )
    mixed = con.execute(
        f"SELECT count(*) FILTER (q <> q_max), count(*) FILTER (h <> h_max) FROM units_{name}"
    ).fetchall()[0]
    if mixed[1]:
        # A unit whose trials disagree on the case hash (the case changed between its
        # repetitions: rare) takes its first trial's; a struct per trial for every unit
        # cost more than the rest of the pairing.
        con.execute(
            f"UPDATE units_{name} SET h = f.h FROM (SELECT {unit} AS u, arg_min(case_hash, "
            "struct_pack(question_id, case_id, repetition, key)) AS h FROM "
            f"{table} WHERE outcome IS NOT NULL AND ({unit}) IN (SELECT u FROM units_{name} "
            f"WHERE h <> h_max) GROUP BY ALL) f WHERE units_{name}.u = f.u"
        )
    return not mixed[0]


def paired_counts(
    con: duckdb.DuckDBPyConnection, base: str, cand: str, pair_by: str
) -> dict[str | None, PairCounts]:
    """PairCounts per scope (None: overall, else a question) of two tables of trials with
    an ``outcome`` column, paired as pair_counts over compare.pairing_units pairs them."""
    unit = "case_id" if pair_by == "case" else "case_id || '#' || repetition"
    simple = _units(con, "b", base, unit) & _units(con, "c", cand, unit)
    if simple:
        # Every unit within one question: one join on the unit; per question, a pair
        # whose two units sit in different questions is unpaired in each.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE joined AS "
            + _JOINED.format(b="SELECT * FROM units_b", c="SELECT * FROM units_c", on_q="")
        )
        per_q = (
            "SELECT bq AS q, bu, cu, bn, cn, bok, cok, changed FROM joined WHERE bq = cq "
            "UNION ALL SELECT bq, bu, NULL, bn, NULL, bok, NULL, NULL FROM joined "
            "WHERE bq IS NOT NULL AND cq IS DISTINCT FROM bq "
            "UNION ALL SELECT cq, NULL, cu, NULL, cn, NULL, cok, NULL FROM joined "
            "WHERE cq IS NOT NULL AND bq IS DISTINCT FROM cq"
        )
        overall = "SELECT NULL AS q, bu, cu, bn, cn, bok, cok, changed FROM joined"
        rows = f"{overall} UNION ALL {per_q}"
    else:
        rows = _general(con, base, cand, unit)
    out: dict[str | None, PairCounts] = {}
    for q, *r in con.execute(_COUNTS.format(rows=rows)).fetchall():
        out[q] = PairCounts(*(int(x or 0) for x in r))
    return out


def _general(con: duckdb.DuckDBPyConnection, base: str, cand: str, unit: str) -> str:
    """Joined unit rows when some unit spans questions: units per (question, unit), and
    overall their union (the case hash of its first question's first trial)."""
    first = "struct_pack(repetition, key)"
    for name, table in (("b", base), ("c", cand)):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE qunits_{name} AS SELECT question_id AS q, "
            f"{unit} AS u, count(*) AS n, count(*) FILTER (outcome) AS p, "
            f"arg_min(case_hash, {first}) AS h FROM {table} WHERE outcome IS NOT NULL "
            "GROUP BY ALL"
        )
    overall = (
        "SELECT NULL AS q, u, sum(n) AS n, sum(p) AS p, arg_min(h, q) AS h "
        "FROM qunits_{x} GROUP BY u"
    )
    per_q = "SELECT q, u, n, p, h FROM qunits_{x}"
    parts = [
        "SELECT coalesce(bq, cq) AS q, * EXCLUDE (bq, cq) FROM ("
        + _JOINED.format(b=sql.format(x="b"), c=sql.format(x="c"), on_q=on_q)
        + ")"
        for sql, on_q in ((overall, ""), (per_q, " AND b.q = c.q"))
    ]
    return " UNION ALL ".join(parts)
