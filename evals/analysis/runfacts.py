"""A run whose trials stay in DuckDB: tallies of the typed columns instead of a Python
object per trial (issue 18: `evals gate` and `evals report` over a million trials).

:func:`evals.analysis.rundata.load_run` builds one TrialFacts per trial; at 500k trials a
run that alone took seconds, and so did every walk over them. Here a run is selected into
a temporary table once (the same SELECT as load_run's, evals.analysis.trial_sql.TRIALS_SELECT,
with the outcome computed by :func:`outcome_sql`, the SQL of
:func:`evals.analysis.rundata.trial_outcome`), and what the statistics need comes back
as :class:`evals.analysis.tallies.Tally` per group (overall, per question, per cell...)
and as paired counts per scope (:mod:`evals.analysis.pairing`). The human labels are few:
they are loaded and attributed as load_run does, with the labelled trials kept whole.

Both paths compute every figure with the same functions from a Tally, and
tests/evals/analysis/test_runfacts.py requires equal decisions and reports from both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb

from evals.analysis.pairing import PairCounts, paired_counts
from evals.analysis.rundata import (
    IMPORTED_PASS_EPSILON,
    RUN_IDS_SQL,
    LabelFacts,
    OutcomeSpec,
    RunRef,
    RunRow,
    RunSelectionError,
    TrialFacts,
    attribute_labels,
    check_cells,
    counted,
    no_gc,
    resolve_run_ref,
)
from evals.analysis.tallies import VERDICT_NAMES, Tally, merge_tallies
from evals.analysis.trial_sql import LABELS_SQL, TRIAL_ORDER, TRIALS_SELECT
from evals.store.query import connect, run_members_sql
from evals.store.rows import fetch_dicts, rows_as
from evals.store.workspace import Workspace


def lit(value: str | float) -> str:
    """A SQL literal of a text or a number (a float exactly as Python holds it)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return f"{float(value)!r}::DOUBLE"


def cell_where(ref: RunRef) -> str:
    """The SQL condition (with its WHERE; empty for a whole run) on a run's trials that
    selects the model/prompt cells ``ref`` names."""
    where = [f"model_alias = {lit(ref.model)}"] if ref.model is not None else []
    where += [f"prompt = {lit(ref.prompt)}"] if ref.prompt is not None else []
    return f" WHERE {' AND '.join(where)}" if where else ""


def outcome_sql(source: str, threshold: float | None) -> str:
    """evals.analysis.rundata.trial_outcome as SQL over TRIALS_SELECT's columns."""
    if source == "imported":
        by_threshold = (
            f"WHEN imported_outcome IS NOT NULL THEN imported_outcome >= {lit(threshold)} "
            if threshold is not None
            else ""
        )
        decide = (
            f"CASE {by_threshold}WHEN imported_label IN ('pass', 'fail') THEN "
            "imported_label = 'pass' WHEN imported_outcome IS NOT NULL THEN "
            f"imported_outcome >= {lit(1.0 - IMPORTED_PASS_EPSILON)} END"
        )
    else:
        decide = (
            "CASE WHEN cascade_label IS NOT NULL THEN cascade_label = 'pass' "
            "WHEN status = 'error' THEN false END"
        )
    return f"CASE WHEN status = 'error' AND error_kind = 'infra' THEN NULL ELSE {decide} END"


@dataclass
class RunFacts:
    """A selected run (one cell or all) whose trials are a table of a FactSession."""

    ref: RunRef
    manifest: dict[str, Any]
    outcome_source: Literal["cascade", "imported"]
    table: str
    """The session's view of the selected trials (TRIALS_SELECT's columns and outcome)."""
    cells: list[tuple[str, str]]
    """Every (model alias, prompt) cell of the run, selected or not."""
    questions: list[str]
    """Question ids of the selected trials, sorted."""
    labelled: list[TrialFacts] = field(default_factory=list)
    """The selected trials that carry a counted assisted label (outcome set)."""
    assisted: list[LabelFacts] = field(default_factory=list)
    unassisted: list[LabelFacts] = field(default_factory=list)
    include_simulated: bool = False
    excluded_simulated: int = 0

    @property
    def simulated(self) -> bool:
        """Some label behind this run's human numbers is a simulated reviewer's."""
        return any(lb.simulated for lb in (*self.assisted, *self.unassisted))


_FACT_COLUMNS = (
    "key, case_id, case_hash, question_id, model_alias, prompt, repetition, status, "
    "error_kind, input_tokens, cached_input_tokens, output_tokens, cost_usd, latency_s, "
    "tool_calls, user_tool_calls, imported_outcome, cascade_label, cascade_stage, "
    "imported_label, outcome"
)
"""TrialFacts' fields, in order."""


class FactSession:
    """One DuckDB connection over the workspace: each run loaded is one scan of the views."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._n = 0
        self._prefetched: set[str] = set()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, list(params)).fetchall()

    def resolve(self, ws: Workspace, text: str) -> RunRef:
        """evals.analysis.rundata.resolve_run_ref over this session's connection."""
        runs = rows_as(RunRow, fetch_dicts(self.con.execute(RUN_IDS_SQL)))
        return resolve_run_ref(ws, text, runs)

    def manifest(self, ref: RunRef) -> dict[str, Any]:
        """The run's manifest (its latest record); RunSelectionError when there is none."""
        manifests = fetch_dicts(
            self.con.execute(
                "SELECT * FROM runs WHERE run_id = ? ORDER BY recorded_at", [ref.run_id]
            )
        )
        if not manifests:
            raise RunSelectionError(f"no run {ref.run_id!r} in the workspace")
        return manifests[-1]

    def prefetch(self, run_ids: Sequence[str]) -> None:
        """Select the trials of these runs in one scan (each load would scan the views
        and de-duplicate every key of the workspace again); loads of them read it."""
        members = " OR ".join(run_members_sql(lit(r), "t") for r in run_ids)
        select = TRIALS_SELECT.format(members=members, extra="t.run_id AS member_of, ")
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE prefetched AS {select}")
        self._prefetched = set(run_ids)

    def load(
        self,
        ref: RunRef,
        outcome: OutcomeSpec | None = None,
        *,
        single_cell: bool = False,
        include_simulated: bool = False,
    ) -> RunFacts:
        """Select a run (as evals.analysis.rundata.load_run, same errors) into the session."""
        outcome = outcome or OutcomeSpec()
        manifest = self.manifest(ref)
        source = outcome.source_for(manifest)
        self._n += 1
        whole, table = f"run_{self._n}", f"sel_{self._n}"
        members = run_members_sql(lit(ref.run_id), "t", run_col="t.member_of")
        select = (
            f"SELECT * EXCLUDE (member_of) FROM prefetched t WHERE {members}"
            if ref.run_id in self._prefetched
            else TRIALS_SELECT.format(members=run_members_sql(lit(ref.run_id), "t"), extra="")
        )
        # Over the prefetched trials a view (a scan of them is cheaper than a copy).
        kind = "VIEW" if ref.run_id in self._prefetched else "TABLE"
        self.con.execute(
            f"CREATE TEMP {kind} {whole} AS SELECT *, "
            f"{outcome_sql(source, outcome.imported_threshold)} AS outcome FROM ({select})"
        )
        cells = sorted(self._rows(f"SELECT DISTINCT model_alias, prompt FROM {whole}"))
        cells = [(str(m), str(p)) for m, p in cells]
        check_cells(ref, cells, single_cell)
        self.con.execute(f"CREATE TEMP VIEW {table} AS SELECT * FROM {whole}{cell_where(ref)}")
        sql = f"SELECT DISTINCT question_id FROM {table} ORDER BY 1"
        questions = [r[0] for r in self._rows(sql)]
        run = RunFacts(ref, manifest, source, table, cells, questions)
        self._labels(run, include_simulated)
        return run

    def _labels(self, run: RunFacts, include_simulated: bool) -> None:
        labels = rows_as(LabelFacts, fetch_dicts(self.con.execute(LABELS_SQL)))
        run.include_simulated = include_simulated
        labels, run.excluded_simulated = counted(labels, include_simulated)
        keys = sorted({lb.trial_key for lb in labels if lb.trial_key is not None})
        cases = sorted({lb.case_id for lb in labels if lb.arm == "unassisted"})
        with no_gc():
            rows = self._rows(
                f"SELECT {_FACT_COLUMNS} FROM {run.table} WHERE key IN "
                f"(SELECT unnest(?::VARCHAR[])) ORDER BY {TRIAL_ORDER}",
                [keys],
            ) if keys else []
            labelled = [TrialFacts(*r) for r in rows]
        found = {r[0] for r in self._rows(
            f"SELECT DISTINCT case_id FROM {run.table} WHERE case_id IN "
            "(SELECT unnest(?::VARCHAR[]))", [cases])} if cases else set()
        run.assisted, run.unassisted = attribute_labels(
            labels, {t.key for t in labelled}, found
        )
        rated = {lb.trial_key for lb in run.assisted}
        run.labelled = [t for t in labelled if t.key in rated]

    def tallies(
        self, run: RunFacts, by: Sequence[str] = (), *, cases: bool = True
    ) -> dict[tuple[Any, ...], Tally]:
        """A Tally of the run's selected trials per value of the columns `by` (() : one);
        `cases=False`: Tally.cases left 0 (a gate reads no case count; counting distinct
        cases of a million trials is not free)."""
        cols = ", ".join(by)
        infra = "(status = 'error' AND coalesce(error_kind = 'infra', false))"
        verdict = "coalesce(nullif(cascade_label, ''), 'none')"
        sql = (
            f"SELECT {cols + ', ' if cols else ''}count(*), "
            f"{'count(DISTINCT case_id)' if cases else '0'}, "
            f"count(*) FILTER ({infra}), "
            "count(*) FILTER (status = 'error' AND error_kind IS DISTINCT FROM 'infra'), "
            + ", ".join(f"count(*) FILTER ({verdict} = '{v}')" for v in VERDICT_NAMES)
            + ", count(outcome), count(*) FILTER (outcome), "
            "list(cost_usd) FILTER (cost_usd IS NOT NULL), "
            "sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), "
            "sum(tool_calls), sum(user_tool_calls), "
            # Unordered: a percentile sorts them, costs are summed exactly (tallies).
            f"list(latency_s) FILTER (NOT {infra}), "
            "histogram(coalesce(CAST(cascade_stage AS VARCHAR), '?')) "
            "FILTER (cascade_label = 'fail'), list(DISTINCT case_id) FILTER "
            "(case_id IN (SELECT unnest(?::VARCHAR[]))) "
            f"FROM {run.table}" + (f" GROUP BY {cols}" if cols else "")
        )
        control = sorted({lb.case_id for lb in run.unassisted})
        out: dict[tuple[Any, ...], Tally] = {}
        width = len(by)
        for row in self._rows(sql, [control]):
            group, r = tuple(row[:width]), row[width:]
            if r[0] == 0:
                continue  # no trials (an ungrouped query over none)
            labelled = [t for t in run.labelled if tuple(getattr(t, c) for c in by) == group]
            out[group] = Tally(
                trials=r[0], cases=r[1], infra_errors=r[2], agent_errors=r[3],
                verdicts=dict(zip(VERDICT_NAMES, r[4:8], strict=True)),
                judged=r[8], passes=r[9], costs=list(r[10] or []),
                input_tokens=int(r[11] or 0), cached_input_tokens=int(r[12] or 0),
                output_tokens=int(r[13] or 0), tool_calls=int(r[14] or 0),
                user_tool_calls=int(r[15] or 0), latencies=list(r[16] or []),
                fails_by_stage=dict(sorted((r[17] or {}).items())), labelled=labelled,
                label_cases=set(r[18] or []),
            )
        return out

    def by_question(
        self, run: RunFacts, *, cases: bool = True
    ) -> tuple[Tally, dict[str, Tally]]:
        """(the run's tally, each question's): one grouped scan, the overall merged."""
        tallies = self.tallies(run, ["question_id"], cases=cases)
        by_q = {q: t for (q,), t in sorted(tallies.items())}
        n = self._rows(f"SELECT count(DISTINCT case_id) FROM {run.table}")[0][0] if cases else 0
        return merge_tallies(list(by_q.values()), int(n)), by_q

    def paired(
        self, base: RunFacts, cand: RunFacts, pair_by: str
    ) -> dict[str | None, PairCounts]:
        """Paired counts of the two runs' outcomes per scope (None: overall; else a
        question), units as evals.analysis.compare.pairing_units makes them."""
        return paired_counts(self.con, base.table, cand.table, pair_by)


@contextmanager
def fact_session(ws: Workspace) -> Iterator[FactSession]:
    """A FactSession over the workspace (the connection closes after)."""
    with connect(ws) as con:
        yield FactSession(con)
