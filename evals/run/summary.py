"""The end-of-run summary of `evals run`: computed from the store (not from the
process's memory), over every key of the invocation's matrix, so a resumed run
summarises the whole matrix: trials recorded by earlier invocations (or reused from
other runs) included. Latency percentiles are over answered (ok) trials; failed trials
are counted by kind and code. evals.run.progress renders it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from evals.store.rows import fetch_dicts, rows_as
from evals.store.workspace import Workspace

CELL_SQL = """
SELECT t.model_alias AS model, t.prompt AS prompt, count(*) AS trials,
  count(*) FILTER (WHERE t.status = 'ok') AS ok,
  count(*) FILTER (WHERE t.error_kind = 'infra') AS infra_errors,
  count(*) FILTER (WHERE t.error_kind = 'agent') AS agent_errors,
  coalesce(sum(t.tool_calls), 0) AS tool_calls,
  coalesce(sum(t.unmatched_tool_calls), 0) AS unmatched_tool_calls,
  coalesce(sum(t.llm_calls), 0) AS llm_calls,
  coalesce(sum(t.input_tokens), 0) AS input_tokens,
  coalesce(sum(t.cached_input_tokens), 0) AS cached_input_tokens,
  coalesce(sum(t.output_tokens), 0) AS output_tokens,
  coalesce(sum(t.cost_usd), 0) AS cost_usd,
  quantile_cont(t.latency_s, 0.5) FILTER (WHERE t.status = 'ok') AS p50_latency_s,
  quantile_cont(t.latency_s, 0.95) FILTER (WHERE t.status = 'ok') AS p95_latency_s
FROM matrix_trials t JOIN matrix m ON t.key = m.key
GROUP BY ALL ORDER BY model, prompt
"""
"""Over the typed columns (evals.store.typed_columns): no trial body carried through the
de-duplicating join, none parsed at all for compacted segments. ``matrix_trials`` is
``trial_facts`` de-duplicated over the matrix's keys only (MATRIX_FACTS_SQL)."""

MATRIX_FACTS_SQL = "SELECT * FROM facts_trial WHERE key IN (SELECT key FROM matrix)"
"""Every record of the matrix's keys: the de-duplication is per key, so restricting the
records to those keys first keeps the same winners, while its hash tables hold the
matrix's keys instead of every key of the workspace (a million in a team's store)."""

ERRORS_SQL = """
SELECT t.error_kind AS kind, t.error_code AS code, count(*) AS trials
FROM matrix_trials t JOIN matrix m ON t.key = m.key
WHERE t.error_kind IS NOT NULL GROUP BY ALL ORDER BY kind, trials DESC, code
"""

FIRST_ERRORS_SQL = """
SELECT t.error_kind AS kind, t.error_code AS code,
  arg_min(tr.trace->>'$.error.message', t.recorded_at) AS message
FROM trials t JOIN matrix m ON t.key = m.key JOIN traces tr ON tr.trial_key = t.key
WHERE t.error_kind IS NOT NULL GROUP BY ALL ORDER BY kind, code
"""
"""The first recorded message of each error kind and code (read only when there are
errors: it parses the traces)."""


class CellRow(NamedTuple):
    """One model × prompt cell of the matrix (a CELL_SQL row)."""

    model: str
    """Model alias."""
    prompt: str
    """Prompt version."""
    trials: int
    """Trials recorded."""
    ok: int
    """Trials that answered."""
    infra_errors: int
    """Trials lost to infrastructure errors."""
    agent_errors: int
    """Trials the agent failed."""
    tool_calls: int
    """Tool calls made."""
    unmatched_tool_calls: int
    """Tool calls no fixture matched."""
    llm_calls: int
    """Model calls made."""
    input_tokens: int
    """Input tokens, not cached."""
    cached_input_tokens: int
    """Input tokens read from the provider's cache."""
    output_tokens: int
    """Output tokens."""
    cost_usd: float
    """Cost, USD."""
    p50_latency_s: float | None
    """Median latency of answered trials (None: none answered)."""
    p95_latency_s: float | None
    """95th percentile latency of answered trials."""


@dataclass
class ErrorRow:
    """Failed trials of one error kind and code (an ERRORS_SQL row)."""

    kind: str
    """Error kind (infra, agent)."""
    code: str | None
    """Error code (auth, timeout, ...)."""
    trials: int
    """Trials that failed so."""
    message: str | None = None
    """The first recorded message of this kind and code (FIRST_ERRORS_SQL)."""


@dataclass
class RunSummary:
    """The matrix's outcome, read back from the store."""

    run_id: str
    """Run summarised."""
    total: int
    """Cells in the matrix."""
    recorded: int
    """Cells with a trial record."""
    cells: list[CellRow] = field(default_factory=list)
    """One row per model × prompt (see CELL_SQL for the columns)."""
    errors: list[ErrorRow] = field(default_factory=list)
    """Failed trials by error kind and code, with the first message of each
    (``message``)."""

    @property
    def missing(self) -> int:
        """Cells without any record (e.g. the run was interrupted)."""
        return self.total - self.recorded

    def count(self, column: str) -> int:
        """Sum of a column over the cells."""
        return int(sum(getattr(row, column) or 0 for row in self.cells))


SUMMARY_MEMORY_MB = 48
"""DuckDB's memory limit for the summary, to start with: a bound on what its scan, filter
and aggregate keep (in-process at 100,000 compacted trials: +43-45 MB of RSS under 40-64
MB, +47-54 MB unlimited; 16 and 32 MB are too little without spilling, which writes to
the working directory, so it is off). A summary that needs more (uncompacted segments,
whose bodies are parsed; the first error messages, read from the traces) fails with
OutOfMemoryException and is computed again under twice the limit (as judging does:
judges.judge_stream.Budget)."""
MAX_SUMMARY_MEMORY_MB = 8192


def summarise(ws: Workspace, run_id: str, keys: Sequence[str]) -> RunSummary:
    """Summary of the trials recorded for `keys` (the invocation's matrix).

    Over a connection with only the trial facts (connect_facts: binding every view, and
    the quarantine function that imports numpy, cost `evals run` time and 15 MB); the
    first message of each error kind needs the traces, so only a run with errors opens
    every view for them."""
    import duckdb

    from evals.store.query import COMPACTION_RETRIES, RETRIED, compacted_meanwhile

    attempt, limit_mb = 0, SUMMARY_MEMORY_MB
    while True:
        try:
            cells, errors = _cells_and_errors(ws, keys, limit_mb)
            break
        except duckdb.OutOfMemoryException:
            if limit_mb >= MAX_SUMMARY_MEMORY_MB:
                raise
            limit_mb *= 2  # and the whole summary again: it is a fraction of a second
        except RETRIED as exc:  # a segment compacted meanwhile: list again
            attempt += 1
            if not compacted_meanwhile(ws, exc) or attempt == COMPACTION_RETRIES:
                raise
    recorded = int(sum(row.trials for row in cells))
    return RunSummary(run_id=run_id, total=len(keys), recorded=recorded, cells=cells, errors=errors)


def _bounded(con: Any, limit_mb: int) -> None:
    con.execute("SET temp_directory = ''")  # over the limit: fail, never spill
    con.execute(f"SET memory_limit = '{limit_mb}MB'")


def _cells_and_errors(
    ws: Workspace, keys: Sequence[str], limit_mb: int
) -> tuple[list[CellRow], list[ErrorRow]]:
    from evals.store.query import LEAN_THREADS, connect, connect_facts

    with connect_facts(ws, "trial", LEAN_THREADS) as con:  # in `evals run`: memory flat
        _bounded(con, limit_mb)
        register_keys(con, keys)
        con.execute(f"CREATE TEMP VIEW matrix_facts AS {MATRIX_FACTS_SQL}")
        con.execute(f"CREATE TEMP VIEW matrix_trials AS {_matrix_trials_sql(con)}")
        cell_sql, errors_sql = _matrix_sql(con)
        cells = rows_as(CellRow, fetch_dicts(con.execute(cell_sql)))
        errors = rows_as(ErrorRow, fetch_dicts(con.execute(errors_sql)))
    if errors:
        with connect(ws, LEAN_THREADS) as con:
            _bounded(con, limit_mb)
            register_keys(con, keys)
            first = {
                (r["kind"], r["code"]): r["message"]
                for r in fetch_dicts(con.execute(FIRST_ERRORS_SQL))
            }
        for e in errors:
            e.message = first.get((e.kind, e.code))
    return cells, errors


def _matrix_trials_sql(con: Any) -> str:
    """One record per matrix key: ``matrix_facts`` itself when no key has two records
    (the usual run: de-duplication would keep every record, and its join back to the
    records on (filename, seq) held +62 MB at 100,000 trials), else the view's own
    de-duplication (evals.store.typed_columns.deduped_facts_sql)."""
    from evals.store.typed_columns import deduped_facts_sql

    # On 64-bit hashes (8 bytes a key, not the keys' strings): equal counts prove no key
    # has two records; a collision only takes the de-duplicating path (same result).
    row = con.execute("SELECT count(*) = count(DISTINCT hash(key)) FROM matrix_facts").fetchone()
    if row is not None and row[0]:
        return "SELECT * FROM matrix_facts"
    return deduped_facts_sql("matrix_facts", "trial")


_MATRIX_JOIN = " JOIN matrix m ON t.key = m.key"


def _matrix_sql(con: Any) -> tuple[str, str]:
    """CELL_SQL and ERRORS_SQL, without their join to the matrix when it only restates
    matrix_trials' own filter: when every matrix key is in it once, each record of
    matrix_trials meets exactly one matrix row (at 100,000 trials the second hash table
    of the keys held about 20 MB at the end of `evals run`). Checked on 64-bit hashes:
    equal counts prove no key twice; a collision keeps the join (same result)."""
    assert _MATRIX_JOIN in CELL_SQL and _MATRIX_JOIN in ERRORS_SQL
    row = con.execute("SELECT count(*) = count(DISTINCT hash(key)) FROM matrix").fetchone()
    if row is not None and row[0]:
        return CELL_SQL.replace(_MATRIX_JOIN, ""), ERRORS_SQL.replace(_MATRIX_JOIN, "")
    return CELL_SQL, ERRORS_SQL  # a key twice in the matrix counts twice, as it always did


_KEYS_CHUNK = 5000


def register_keys(con: Any, keys: Sequence[str], table: str = "matrix") -> None:
    """A temporary table `table(key)` of the keys, filled in chunks. Not through pyarrow:
    importing it costs 40 MB, and at the end of `evals run` that came on top of DuckDB's
    working memory (issue 18: peak RSS)."""
    con.execute(f"CREATE TEMP TABLE {table} (key VARCHAR)")
    for start in range(0, len(keys), _KEYS_CHUNK):
        con.execute(
            f"INSERT INTO {table} SELECT unnest($1::VARCHAR[])", [keys[start : start + _KEYS_CHUNK]]
        )
