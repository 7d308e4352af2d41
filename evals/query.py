"""DuckDB over the workspace's record files: one in-memory connection per query session.

Views (one per record kind, columns generated from the pydantic models so they follow the
data model): ``runs``, ``trials``, ``traces``, ``verdicts``, ``labels``, ``events``,
``decisions``, plus ``raw_<kind>`` with the envelopes of any kind, and a generic
``<kind>`` view for kinds registered by other packages (e.g. review queues).

Keyed kinds (trials, verdicts) are de-duplicated on their key, first write wins, so a
record written twice by two racing runs is still counted once. Trials are the exception
to "first wins": an infrastructure failure is retried by the next run, and the view keeps
the retry's record (TRIAL_PREFERENCE).
"""

from __future__ import annotations

import logging
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import duckdb
from pydantic import BaseModel

from evals.schema import Decision, Label, ReviewEvent, RunManifest, Trial, Verdict
from evals.store import Workspace

log = logging.getLogger(__name__)


class ViewSpec:
    """How a record kind appears in SQL."""

    def __init__(
        self,
        kind: str,
        view: str,
        model: type[BaseModel] | None,
        key: str | None = None,
        extra: dict[str, str] | None = None,
        prefer: str | None = None,
    ) -> None:
        self.kind, self.view, self.model, self.key = kind, view, model, key
        self.extra = extra or {}
        self.prefer = prefer
        """SQL sort expression over `body` (lower first) choosing which record of a key
        the view keeps, before first-written; None: first written wins."""


VIEWS: dict[str, ViewSpec] = {}


def register_view(spec: ViewSpec) -> None:
    """Make a record kind queryable (packages register their own kinds on import)."""
    VIEWS[spec.kind] = spec


TRIAL_PREFERENCE = "CASE WHEN body->>'$.trace.error.kind' = 'infra' THEN 1 ELSE 0 END"
"""A trial that failed on infrastructure is retried by the next run (evals.runner): the
view keeps the retry's result over the infra error, whatever was written first."""

VERDICT_PREFERENCE = "CASE WHEN body->>'$.infra_error' = 'true' THEN 1 ELSE 0 END"
"""A verdict whose judge was unreachable is provisional: `evals judge` asks again, and the
view keeps the retry's verdict over it (Verdict.infra_error), whatever was written first."""

register_view(ViewSpec("run", "runs", RunManifest, key="run_id"))
register_view(
    ViewSpec(
        "trial",
        "trials",
        Trial,
        key="key",
        prefer=TRIAL_PREFERENCE,
        extra={
            "model_alias": "body->>'$.model.alias'",
            "model_name": "body->>'$.model.model'",
            "agent_name": "body->>'$.agent.name'",
            "final_answer": "body->>'$.trace.final_answer'",
            "input_tokens": "CAST(body->>'$.trace.usage.input_tokens' AS BIGINT)",
            "cached_input_tokens": "CAST(body->>'$.trace.usage.cached_input_tokens' AS BIGINT)",
            "output_tokens": "CAST(body->>'$.trace.usage.output_tokens' AS BIGINT)",
            "cost_usd": "CAST(body->>'$.trace.usage.cost_usd' AS DOUBLE)",
            "llm_calls": "CAST(body->>'$.trace.usage.calls' AS BIGINT)",
            "cache_hits": "CAST(body->>'$.trace.usage.cache_hits' AS BIGINT)",
            "latency_s": "CAST(body->>'$.trace.latency_s' AS DOUBLE)",
            "unmatched_tool_calls": "CAST(body->>'$.trace.unmatched_tool_calls' AS BIGINT)",
            "tool_calls": "len(list_filter(json_extract_string(body, '$.trace.steps[*].kind'), "
            "lambda x: x = 'tool_call'))",
            "error_kind": "body->>'$.trace.error.kind'",
            "error_code": "body->>'$.trace.error.code'",
        },
    )
)
register_view(
    ViewSpec(
        "verdict",
        "verdicts",
        Verdict,
        key="key",
        prefer=VERDICT_PREFERENCE,
        extra={
            "judge_input_tokens": "CAST(body->>'$.usage.input_tokens' AS BIGINT)",
            "judge_output_tokens": "CAST(body->>'$.usage.output_tokens' AS BIGINT)",
            "judge_cost_usd": "CAST(body->>'$.usage.cost_usd' AS DOUBLE)",
        },
    )
)
register_view(ViewSpec("label", "labels", Label, key="id"))
register_view(ViewSpec("event", "events", ReviewEvent, key="id"))
register_view(ViewSpec("decision", "decisions", Decision, key="id"))

_SQL_TYPES = {
    str: "VARCHAR",
    int: "BIGINT",
    float: "DOUBLE",
    bool: "BOOLEAN",
    datetime: "TIMESTAMPTZ",
}


def _scalar_sql_type(annotation: Any) -> str | None:
    """SQL type of a scalar field (optional and literal types included), else None."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _scalar_sql_type(args[0]) if len(args) == 1 else None
    if origin is typing.Literal:
        return "VARCHAR"
    return _SQL_TYPES.get(annotation)


def _columns(spec: ViewSpec) -> list[str]:
    cols: list[str] = []
    if spec.model is not None:
        for name, field in spec.model.model_fields.items():
            sql_type = _scalar_sql_type(field.annotation)
            if sql_type is None:
                cols.append(f"json_extract(body, '$.{name}') AS \"{name}\"")
            else:
                cols.append(f"TRY_CAST(body->>'$.{name}' AS {sql_type}) AS \"{name}\"")
    if spec.kind == "trial":
        # The trial view is the table everything joins on; its trace stays in `traces`.
        cols = [c for c in cols if not c.endswith('"trace"')]
    cols += [f"{expr} AS {name}" for name, expr in spec.extra.items()]
    return cols


def _raw_source(ws: Workspace, kind: str) -> str | None:
    segs = ws.segments(kind)
    jsonl = [str(p) for p in segs if p.suffix == ".jsonl"]
    parquet = [str(p) for p in segs if p.suffix == ".parquet"]
    parts = []
    if parquet:
        parts.append(
            "SELECT seq, ts, prev, hash, CAST(body AS JSON) AS body, seal, filename "
            f"FROM read_parquet({parquet!r}, filename=true)"
        )
    if jsonl:
        parts.append(
            "SELECT seq, ts, prev, hash, body, seal, filename FROM read_json("
            f"{jsonl!r}, format='newline_delimited', ignore_errors=true, filename=true, "
            "columns={'seq': 'BIGINT', 'ts': 'VARCHAR', 'prev': 'VARCHAR', "
            "'hash': 'VARCHAR', 'body': 'JSON', 'seal': 'BIGINT'})"
        )
    return " UNION ALL ".join(parts) if parts else None


def _empty_raw() -> str:
    return (
        "SELECT NULL::BIGINT AS seq, NULL::VARCHAR AS ts, NULL::VARCHAR AS prev, "
        "NULL::VARCHAR AS hash, NULL::JSON AS body, NULL::BIGINT AS seal, "
        "NULL::VARCHAR AS filename WHERE FALSE"
    )


def deduped_sql(raw: str, key: str, cols: str, prefer: str | None = None) -> str:
    """SELECT `cols` FROM view `raw`, one row per `key` (a SQL expression over `body`):
    the record lowest by (`prefer`, ts, filename, seq), i.e. first written wins unless
    `prefer` says otherwise.

    Why not `QUALIFY row_number() OVER (PARTITION BY key ...)`: DuckDB's window operator
    buffers its whole input, trial bodies included, so memory grew with the number of
    trials. Here an aggregate keeps one small struct per key (which record wins) and the
    records are streamed through a hash join on (filename, seq), which identify a record
    (seq is unique within a segment file)."""
    order = "t := ts, f := filename, s := seq"
    if prefer:
        order = f"p := {prefer}, {order}"
    return (
        f'SELECT {cols} FROM "{raw}" JOIN (SELECT arg_min(struct_pack(f := filename, '
        f"s := seq), struct_pack({order})) AS dedupe_winner "
        f'FROM "{raw}" WHERE body IS NOT NULL GROUP BY {key}) '
        "ON filename = dedupe_winner.f AND seq = dedupe_winner.s WHERE body IS NOT NULL"
    )


def define_views(con: duckdb.DuckDBPyConnection, ws: Workspace) -> None:
    """(Re)create every view over the files present now."""
    kinds = set(ws.kinds()) | set(VIEWS)
    for kind in sorted(kinds):
        source = _raw_source(ws, kind) or _empty_raw()
        con.execute(f'CREATE OR REPLACE VIEW "raw_{kind}" AS {source}')
        spec = VIEWS.get(kind) or ViewSpec(kind, kind, None)
        cols = ", ".join(["ts AS recorded_at", *_columns(spec)]) if spec.model else "ts, body"
        if spec.key:
            select = deduped_sql(f"raw_{kind}", f"body->>'$.{spec.key}'", cols, spec.prefer)
        else:
            select = f'SELECT {cols} FROM "raw_{kind}" WHERE body IS NOT NULL'
        con.execute(f'CREATE OR REPLACE VIEW "{spec.view}" AS {select}')
    traces = deduped_sql(
        "raw_trial",
        "body->>'$.key'",
        "body->>'$.key' AS trial_key, body->>'$.run_id' AS run_id, "
        "json_extract(body, '$.trace') AS trace",
        TRIAL_PREFERENCE,
    )
    con.execute(f"CREATE OR REPLACE VIEW traces AS {traces}")


@contextmanager
def connect(ws: Workspace) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with the workspace's views defined."""
    con = duckdb.connect(":memory:")
    try:
        define_views(con, ws)
        yield con
    finally:
        con.close()


def query(ws: Workspace, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Run one query over the workspace and return rows as dicts.

    A segment compacted between listing and reading makes DuckDB miss a file; the
    views are then rebuilt and the query retried (compaction only ever renames forward).
    """
    for attempt in range(3):
        try:
            with connect(ws) as con:
                cur = con.execute(sql, params or [])
                names = [d[0] for d in cur.description or []]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        except duckdb.IOException:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
