"""`evals compare` in the store: the same Comparison as :func:`evals.analysis.compare.compare_runs`,
with the per-trial work done by DuckDB over the typed columns (``trial_facts``).

At a million trial records, loading both runs as Python objects and pairing them in
Python took most of a comparison's 29 s. Here both runs' trials go into DuckDB temporary
tables in one scan of ``trial_facts`` (with each trial's outcome computed in SQL, as
:func:`evals.analysis.rundata.trial_outcome`), and Python receives only aggregates:

* per arm and scope (overall, each question): counts, verdicts, token and tool-call
  sums (:mod:`evals.analysis.paired_arms` turns them into :class:`ArmStats`);
* per scope, the paired 2x2 table (units paired by case or by (case, repetition), a
  unit passing when more than half of its trials with an outcome pass) with the
  unpaired and changed-content counts. The statistics stay in :mod:`evals.stats`: they
  are called with outcome vectors rebuilt from the four cells, which determine them.

Percentiles of latency and the cost total are computed in Python from the fetched
column (NumPy arrays, not objects), in the trials' order, so every figure equals the
Python path's. Human labels are few; they are attributed and counted as in
:mod:`evals.analysis.rundata`, with the labelled trials fetched as :class:`TrialFacts`.

**Evidence.** Each list of trial keys holds at most ``EVIDENCE_CAP`` keys (the first in
the order question, case, repetition, key; for the paired cells, the first units by
id); the counts beside them stay complete (``PairedOutcomes.cell_trials``, ``n``,
``trials``), and ``Comparison.evidence_query`` says how to list every key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import duckdb

from evals.analysis.compare import Comparison, ScopeComparison, check_margins, comparison_of
from evals.analysis.paired_arms import (
    ArmAggregates,
    CostFacts,
    arm_aggregates,
    arm_stats_from,
    attribute_labels,
    cost_facts,
    labelled_trials,
)
from evals.analysis.paired_queries import (
    ALL_UNITS_SQL,
    CELL_KEYS_SQL,
    FACTS_SQL,
    MIXED_SQL,
    OVERALL_UNITS_SQL,
    TABLE_SQL,
    UNITS_SQL,
    evidence_query,
)
from evals.analysis.pairing import (
    CELLS,
    PairBy,
    PairCounts,
    PairedOutcomes,
    paired_from_counts,
    paired_outcomes,
    pairing_units,
)
from evals.analysis.rundata import (
    LabelFacts,
    OutcomeSpec,
    RunData,
    RunRef,
    RunSelectionError,
    TrialFacts,
    check_cells,
    counted,
    no_gc,
    parse_run_ref,
)
from evals.analysis.runfacts import cell_where, outcome_sql
from evals.analysis.runstats import helpful_by_trial
from evals.analysis.trial_sql import LABELS_SQL
from evals.store.query import connect, run_members_sql
from evals.store.rows import fetch_dicts, rows_as
from evals.store.workspace import Workspace

EVIDENCE_CAP = 200
"""Trial keys kept in each evidence list (the counts stay complete)."""

@dataclass
class StoreComparison:
    """A comparison computed in the store, and what its report's caveats need."""

    comparison: Comparison
    runs: tuple[RunData, RunData]
    """Baseline and candidate with their manifests and labels; no trials (``trials=[]``)."""
    cost: CostFacts
    """Trials that used tokens and those of them without a price, both arms."""


def _unit_sql(pair_by: PairBy, alias: str = "") -> str:
    p = f"{alias}." if alias else ""
    if pair_by == "case":
        return f"{p}case_id"
    return f"{p}case_id || '#' || CAST({p}repetition AS VARCHAR)"


def _resolve(con: duckdb.DuckDBPyConnection, ref: RunRef | str) -> RunRef:
    """evals.analysis.rundata.resolve_run_ref over this connection (each connection
    defines the workspace's views again: a second and third cost 0.4 s of CPU at 1M)."""
    if isinstance(ref, RunRef):
        return ref
    runs = [
        str(r[0])
        for r in con.execute("SELECT run_id FROM runs ORDER BY started_at, recorded_at").fetchall()
    ]
    known = set(runs)
    if ref in known:
        return RunRef(ref)
    head, sep, rest = ref.partition(":")
    if head == "latest" or "*" in head:
        matches = [r for r in runs if head == "latest" or fnmatchcase(r, head)]
        if not matches:
            raise RunSelectionError(
                "the workspace holds no runs yet"
                if head == "latest"
                else f"no run matches {head!r} (known: {', '.join(sorted(known)[-8:]) or 'none'})"
            )
        ref = matches[-1] + sep + rest
    return parse_run_ref(ref, known)


def _manifest(con: duckdb.DuckDBPyConnection, ref: RunRef) -> dict[str, Any]:
    rows = fetch_dicts(
        con.execute("SELECT * FROM runs WHERE run_id = ? ORDER BY recorded_at", [ref.run_id])
    )
    if not rows:
        raise RunSelectionError(f"no run {ref.run_id!r} in the workspace")
    return rows[-1]


def _select_arm(
    con: duckdb.DuckDBPyConnection, i: int, ref: RunRef, source: str, spec: OutcomeSpec
) -> list[tuple[str, str]]:
    """View cmp_arm{i}: the run's trials in the selected cell, with outcomes; returns the
    run's cells (load_run's checks and messages)."""
    cells = sorted(
        (str(m), str(p))
        for m, p in con.execute(
            f"SELECT DISTINCT model_alias, prompt FROM cmp_facts WHERE m{i}"
        ).fetchall()
    )
    check_cells(ref, cells, single_cell=True)
    where = cell_where(ref).replace(" WHERE ", " AND ", 1)
    con.execute(
        f"CREATE TEMP VIEW cmp_arm{i} AS SELECT *, {outcome_sql(source, spec.imported_threshold)} "
        f"AS outcome FROM cmp_facts WHERE m{i}{where}"
    )
    return cells


def _scope_outcomes(
    table: dict[str, tuple[int, int, int]],
    keys: dict[str, list[str]],
    margins: Sequence[float],
    confidence: float,
) -> PairedOutcomes:
    """PairedOutcomes of one scope from (units, trials, changed) per cell."""
    cell = {c: table.get(c, (0, 0, 0)) for c in (*CELLS, "unpaired_baseline",
                                                  "unpaired_candidate")}
    both_pass, baseline_only, candidate_only, both_fail = (cell[c][0] for c in CELLS)
    counts = PairCounts(
        both_pass,
        baseline_only,
        candidate_only,
        both_fail,
        unpaired_baseline=cell["unpaired_baseline"][0],
        unpaired_candidate=cell["unpaired_candidate"][0],
        changed_cases=sum(cell[c][2] for c in CELLS),
    )
    return paired_from_counts(
        counts,
        margins,
        confidence,
        cells={c: keys.get(c, [])[:EVIDENCE_CAP] for c in CELLS},
        cell_trials={c: cell[c][1] for c in CELLS},
    )


Scope = tuple[int, str]
"""(1, '') overall; (0, question id) a question."""


def cases_per_scope(con: duckdb.DuckDBPyConnection) -> list[dict[str | None, int]]:
    """Distinct cases of each arm per scope (None: overall), from the units paired by
    case (a unit is a case there)."""
    out: list[dict[str | None, int]] = [{}, {}]
    sql = "SELECT g, q, count(*) FILTER (WHERE a0 > 0), count(*) FILTER (WHERE a1 > 0) "
    for g, q, c0, c1 in con.execute(sql + "FROM cmp_all_units GROUP BY ALL").fetchall():
        scope = None if g else str(q)
        out[0][scope], out[1][scope] = int(c0), int(c1)
    return out


def _paired_tables(
    con: duckdb.DuckDBPyConnection, pair_by: PairBy
) -> tuple[dict[Scope, dict[str, tuple[int, int, int]]], dict[Scope, dict[str, list[str]]]]:
    """Per scope: (units, trials, changed) per cell, and the first keys of each cell."""
    con.execute(UNITS_SQL.format(unit=_unit_sql(pair_by)))
    spans = "SELECT count(DISTINCT unit) < count(*) FROM cmp_units"
    merged = con.execute(spans).fetchone() == (True,)  # some unit is in two questions
    if merged:
        con.execute(OVERALL_UNITS_SQL)
    mixed = "SELECT bool_or(h0 <> x0 OR h1 <> x1) FROM cmp_units"
    if con.execute(mixed).fetchone() == (True,):
        con.execute(MIXED_SQL.format(unit=_unit_sql(pair_by, "t")))
    con.execute(ALL_UNITS_SQL.format(copy="false" if merged else "true"))
    tables: dict[Scope, dict[str, tuple[int, int, int]]] = {}
    for g, q, cell, units, trials, changed in con.execute(TABLE_SQL).fetchall():
        tables.setdefault((int(g), str(q)), {})[str(cell)] = (
            int(units), int(trials), int(changed)
        )
    keys: dict[Scope, dict[str, list[str]]] = {}
    sql = CELL_KEYS_SQL.format(unit=_unit_sql(pair_by, "t"))
    for g, q, cell, key in con.execute(sql, {"cap": EVIDENCE_CAP}).fetchall():
        keys.setdefault((int(g), str(q)), {}).setdefault(str(cell), []).append(str(key))
    return tables, keys


def _labels(
    con: duckdb.DuckDBPyConnection, include_simulated: bool
) -> tuple[list[LabelFacts], int]:
    return counted(rows_as(LabelFacts, fetch_dicts(con.execute(LABELS_SQL))), include_simulated)


def _helpful_pairs(
    base: tuple[RunData, list[TrialFacts]],
    cand: tuple[RunData, list[TrialFacts]],
    pair_by: PairBy,
    margins: Sequence[float],
    confidence: float,
) -> PairedOutcomes | None:
    """Paired helpfulness (only reviewed trials can pair: the labelled ones suffice)."""
    (brun, bt), (crun, ct) = base, cand
    if not (brun.assisted and crun.assisted):
        return None
    rated_b, rated_c = helpful_by_trial(brun.assisted), helpful_by_trial(crun.assisted)
    out = paired_outcomes(
        pairing_units(bt, lambda t: rated_b.get(t.key), pair_by),
        pairing_units(ct, lambda t: rated_c.get(t.key), pair_by),
        margins,
        confidence,
    )
    return out if out.n else None


def compare_in_store(
    ws: Workspace,
    baseline: RunRef | str,
    candidate: RunRef | str,
    outcome: OutcomeSpec | None = None,
    margins: Sequence[float] = (0.05,),
    confidence: float = 0.95,
    pair_by: PairBy = "case",
    include_simulated: bool = False,
) -> StoreComparison:
    """compare_runs(load_run(baseline), load_run(candidate), ...) with helpfulness over
    reviewed trials, computed in the store (see the module docstring). A run given as
    text is resolved as evals.analysis.rundata.resolve_run_ref does (``latest``,
    patterns, ``RUN[:MODEL[:PROMPT]]``)."""
    check_margins(margins)
    spec = outcome or OutcomeSpec()
    with connect(ws) as con, no_gc():
        con.execute("SET enable_progress_bar = false")
        refs = (_resolve(con, baseline), _resolve(con, candidate))
        manifests = [_manifest(con, r) for r in refs]
        facts = FACTS_SQL.format(m0=run_members_sql("$b", "t"), m1=run_members_sql("$c", "t"))
        con.execute(facts, {"b": refs[0].run_id, "c": refs[1].run_id})
        runs, trials = _arms(con, list(zip(refs, manifests, strict=True)), spec,
                             include_simulated)  # fmt: skip
        tables, keys = _paired_tables(con, pair_by)
        cases = cases_per_scope(con) if pair_by == "case" else [None, None]
        aggs = [arm_aggregates(con, f"cmp_arm{i}", EVIDENCE_CAP, cases[i]) for i in (0, 1)]
        cost = cost_facts(con)
    base, cand = runs
    questions = sorted(set(aggs[0].questions()) | set(aggs[1].questions()))
    scopes: list[ScopeComparison] = []
    for scope in [(1, ""), *((0, q) for q in questions)]:
        in_scope = [[t for t in ts if scope[0] or t.question_id == scope[1]] for ts in trials]
        scopes.append(
            ScopeComparison(
                scope="overall" if scope[0] else scope[1],
                baseline=_arm(aggs[0], scope, in_scope[0], base.assisted, confidence),
                candidate=_arm(aggs[1], scope, in_scope[1], cand.assisted, confidence),
                outcome=_scope_outcomes(
                    tables.get(scope, {}), keys.get(scope, {}), margins, confidence
                ),
                helpful=_helpful_pairs(
                    (base, in_scope[0]), (cand, in_scope[1]), pair_by, margins, confidence
                ),
            )
        )
    cmp = comparison_of(
        (base, cand),
        scopes,
        pair_by,
        margins,
        confidence,
        evidence_cap=EVIDENCE_CAP,
        evidence_query=evidence_query(base.ref, cand.ref),
    )
    return StoreComparison(cmp, (base, cand), cost)


def _arms(
    con: duckdb.DuckDBPyConnection,
    runs: list[tuple[RunRef, dict[str, Any]]],
    spec: OutcomeSpec,
    include_simulated: bool,
) -> tuple[list[RunData], list[list[TrialFacts]]]:
    """Each arm (baseline, candidate: reference and manifest) selected as view cmp_arm{i},
    as a RunData without trials (its labels attributed), and its labelled trials."""
    labels, excluded = _labels(con, include_simulated)
    out: list[RunData] = []
    trials: list[list[TrialFacts]] = []
    for i, (ref, manifest) in enumerate(runs):
        source = spec.source_for(manifest)
        cells = _select_arm(con, i, ref, source, spec)
        assisted, unassisted = attribute_labels(con, f"cmp_arm{i}", labels)
        out.append(RunData(ref, manifest, source, [], assisted, unassisted, cells,
                           include_simulated, excluded))  # fmt: skip
        trials.append(labelled_trials(con, f"cmp_arm{i}", assisted))
    return out, trials


def _arm(
    agg: ArmAggregates,
    scope: Scope,
    labelled: list[TrialFacts],
    assisted: list[LabelFacts],
    confidence: float,
) -> Any:
    return arm_stats_from(agg, None if scope[0] else scope[1], labelled, assisted, confidence)
