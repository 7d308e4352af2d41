"""DuckDB over the workspace's record files: one in-memory connection per query session.

Views (one per record kind, columns generated from the pydantic models so they follow the
data model): ``runs``, ``trials``, ``traces``, ``verdicts``, ``labels``, ``events``,
``decisions``, plus ``raw_<kind>`` with the envelopes of any kind, and a generic
``<kind>`` view for kinds registered by other packages (e.g. review queues).

Derived views, each the one definition of its concept (DERIVED_VIEWS): ``run_trials``
(which trials belong to a run, reused ones included), ``latest_verdicts`` /
``final_verdicts`` (a trial's latest verdict per judge / its final cascade verdict) and
``counted_labels`` (the human labels every number counts). Every record kind other
packages define is registered by importing VIEW_MODULES first, so a documented view
(``run_links``, ``calibrations``, ``queues``...) exists whatever the caller imported.

Keyed kinds (trials, verdicts) are de-duplicated on their key, first write wins, so a
record written twice by two racing runs is still counted once. Trials are the exception
to "first wins": an infrastructure failure is retried by the next run, and the view keeps
the retry's record (TRIAL_PREFERENCE).

Memory: views never buffer record bodies (an aggregate picks each key's record, a hash
join streams the records through, deduped_sql) and parse each body once (BodyField), so
a query keeps per key only which record wins, not the records.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from pydantic import BaseModel

from evals.store.record_sql import jsonl_source_sql, parquet_source_sql, register_quarantine
from evals.store.view_specs import (  # defined there; re-exported for callers
    TRIAL_PREFERENCE,
    VERDICT_PREFERENCE,
    VIEWS,
    BodyField,
    ViewSpec,
    _fields,
    body_columns_sql,
    deduped_sql,
    register_view,
)
from evals.store.views import (
    DERIVED_VIEWS,
    SIMULATED_PREFIX,
    VIEW_MODULES,
    load_view_modules,
    run_members_sql,
)

if TYPE_CHECKING:  # the views only call a workspace's methods
    from evals.store.workspace import Workspace

__all__ = [  # besides its own: what callers import from here, defined in views/view_specs
    "DERIVED_VIEWS",
    "SIMULATED_PREFIX",
    "TRIAL_PREFERENCE",
    "VERDICT_PREFERENCE",
    "VIEWS",
    "VIEW_MODULES",
    "BodyField",
    "ViewSpec",
    "body_columns_sql",
    "connect",
    "connect_facts",
    "deduped_sql",
    "define_views",
    "load_view_modules",
    "query",
    "query_tuples",
    "register_view",
    "run_members_sql",
    "stored_models",
]

def _raw_source(ws: Workspace, kind: str, segs: list[Path] | None = None) -> str | None:
    """The envelopes of a kind whose hashes verify (evals.store.record_sql: strict, and one bad
    record is left out with a warning instead of failing every query); `segs`: only
    those segments."""
    segs = ws.segments(kind) if segs is None else segs
    jsonl = [str(p) for p in segs if p.suffix == ".jsonl"]
    parquet = [str(p) for p in segs if p.suffix == ".parquet"]
    parts = []
    if parquet:
        parts.append(parquet_source_sql(parquet))
    if jsonl:
        parts.append(jsonl_source_sql(jsonl))
    return " UNION ALL ".join(parts) if parts else None


def _empty_raw() -> str:
    return (
        "SELECT NULL::BIGINT AS seq, NULL::VARCHAR AS ts, NULL::VARCHAR AS prev, "
        "NULL::VARCHAR AS hash, NULL::VARCHAR AS body, NULL::BIGINT AS seal, "
        "NULL::VARCHAR AS filename WHERE FALSE"
    )


def stored_models() -> dict[str, type[BaseModel]]:
    """Kind -> pydantic model of every record kind the store holds (all registered views
    with a model) and of the golden set's records (evals.schema.RECORD_MODELS)."""
    from evals.schema import RECORD_MODELS

    load_view_modules()
    models: dict[str, type[BaseModel]] = dict(RECORD_MODELS)
    for kind, spec in sorted(VIEWS.items()):
        if spec.model is not None:
            models.setdefault(kind, spec.model)
    return models


def define_views(con: duckdb.DuckDBPyConnection, ws: Workspace) -> None:
    """(Re)create every view over the files present now."""
    load_view_modules()
    objects = _object_views(con, ws)
    remote = objects.raw_sources(con, ws) if objects else None  # one listing for all
    kinds = (set(ws.kinds()) if remote is None else set(remote)) | set(VIEWS)
    register_quarantine(con)
    for kind in sorted(kinds):
        raw = remote.get(kind) if remote is not None else _raw_source(ws, kind)
        source = raw or _empty_raw()
        con.execute(f'CREATE OR REPLACE VIEW "raw_{kind}" AS {source}')
        spec = VIEWS.get(kind) or ViewSpec(kind, kind, None)
        if spec.model is not None:
            select = body_columns_sql(f"raw_{kind}", _fields(spec), spec.key, spec.prefer)
        elif spec.key:
            select = deduped_sql(f"raw_{kind}", f"body->>'$.{spec.key}'", "ts, body", spec.prefer)
        else:
            select = f'SELECT ts, body FROM "raw_{kind}" WHERE body IS NOT NULL'
        con.execute(f'CREATE OR REPLACE VIEW "{spec.view}" AS {select}')
    _define_fact_views(con, ws, remote is not None)
    traces = body_columns_sql(
        "raw_trial",
        {
            "trial_key": BodyField("key"),
            "run_id": BodyField("run_id"),
            "trace": BodyField("trace", "JSON"),
        },
        "key",
        TRIAL_PREFERENCE,
    )
    con.execute(f"CREATE OR REPLACE VIEW traces AS SELECT * EXCLUDE (recorded_at) FROM ({traces})")
    for name, select in DERIVED_VIEWS.items():
        con.execute(f'CREATE OR REPLACE VIEW "{name}" AS {select}')


def _object_views(con: duckdb.DuckDBPyConnection, ws: Workspace) -> Any:
    """evals.store.backends.object_views when the workspace is on an object store."""
    if not ws.remote:
        return None
    from evals.store.backends import object_views

    object_views.prepare(con)
    return object_views


def _define_fact_views(con: duckdb.DuckDBPyConnection, ws: Workspace, remote: bool) -> None:
    """``trial_facts`` / ``verdict_facts``: typed columns without reading bodies where
    a segment holds verified ones (evals.store.typed_columns); on an object store, from
    the verified bodies of the raw views."""
    from evals.store.typed_columns import FACT_VIEWS, define_fact_views, is_typed

    for kind in FACT_VIEWS:
        if remote:
            define_fact_views(con, kind, [], f'SELECT * FROM "raw_{kind}"')
            continue
        segs = ws.segments(kind)
        typed = [p for p in segs if is_typed(p)]
        trusted = set(typed)  # once: it was rebuilt for every segment
        rest = [p for p in segs if p not in trusted]
        define_fact_views(con, kind, [str(p) for p in typed], _raw_source(ws, kind, rest))


LEAN_THREADS = 1
"""Threads for queries that must stay lean (those inside `evals run`): with more,
DuckDB's parallel JSON scan and per-thread hash tables held memory that grew with the
number of records (measured: 2 threads +3.7 MB per 1,000 trials, 1 thread +0.5 MB), for
a query that runs once per run. A `memory_limit` alone raises OutOfMemory instead of
spilling here; the run's summary and the judge's stream pair it with a retry under a
doubled limit (evals.run.summary, judges.judge_stream.Budget)."""


@contextmanager
def connect(ws: Workspace, threads: int | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with the workspace's views defined (`threads`:
    DuckDB's worker threads, default all cores; see LEAN_THREADS)."""
    con = duckdb.connect(":memory:")
    try:
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        define_views(con, ws)
        yield con
    finally:
        con.close()


def _vanished(ws: Workspace, exc: Exception) -> bool:
    """On an object store: an object compacted away, or a bad one now left out."""
    if not ws.remote:
        return False
    from evals.store.backends.object_views import left_out, vanished

    return vanished(exc) or left_out(ws, exc)  # type: ignore[arg-type]


RETRIED = (duckdb.IOException, duckdb.InvalidInputException)
"""What a query over segments compacted meanwhile raises (see compacted_meanwhile)."""


def compacted_meanwhile(ws: Workspace, exc: Exception) -> bool:
    """Whether a query failed because a segment was compacted after the views listed it
    (a local file renamed: IOException; an object-store part removed: an
    InvalidInputException from the dataset scan): list again and retry."""
    return isinstance(exc, duckdb.IOException) or _vanished(ws, exc)


COMPACTION_RETRIES = 8
"""Attempts of a query whose segment was compacted meanwhile: each writer compacts once
at its end, so several writers ending during one slow query can each cost an attempt."""


def query_tuples(
    ws: Workspace, sql: str, params: list[Any] | None = None, *, threads: int | None = None
) -> list[tuple[Any, ...]]:
    """As `query`, rows as tuples (a million rows: no dict per row)."""
    for attempt in range(COMPACTION_RETRIES):
        try:
            with connect(ws, threads) as con:
                return con.execute(sql, params or []).fetchall()
        except RETRIED as exc:
            if not compacted_meanwhile(ws, exc) or attempt == COMPACTION_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def query(
    ws: Workspace,
    sql: str,
    params: list[Any] | dict[str, Any] | None = None,
    *,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """Run one query over the workspace and return rows as dicts (`threads`: see connect).

    A segment compacted between listing and reading makes DuckDB miss a file; the
    views are then rebuilt and the query retried (compaction only ever renames forward).
    """
    for attempt in range(COMPACTION_RETRIES):
        try:
            with connect(ws, threads) as con:
                cur = con.execute(sql, params or [])
                names = [d[0] for d in cur.description or []]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        except RETRIED as exc:
            if not compacted_meanwhile(ws, exc) or attempt == COMPACTION_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


@contextmanager
def connect_facts(
    ws: Workspace, kind: str, threads: int | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with only ``facts_<kind>`` and the kind's fact view defined (the
    same definitions as `connect`'s): for a query that needs nothing else, such as the
    finished-key lookup of `evals run`, without binding every kind's views (about 0.4 s
    at a million trials). An object-store workspace gets every view (`connect`)."""
    if ws.remote:
        with connect(ws, threads) as con:
            yield con
        return
    from evals.store.typed_columns import define_fact_views, is_typed

    con = duckdb.connect(":memory:")
    try:
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        segs = ws.segments(kind)
        typed = [p for p in segs if is_typed(p)]
        trusted = set(typed)  # once: it was rebuilt for every segment
        rest = [p for p in segs if p not in trusted]
        if rest:  # only their bodies' view calls it; registering imports numpy (0.3 s)
            register_quarantine(con)
        define_fact_views(con, kind, [str(p) for p in typed], _raw_source(ws, kind, rest))
        yield con
    finally:
        con.close()
