"""Typed columns: the scalar facts of trials and verdicts, written beside the body when a
segment is compacted, so decisions over a million records read no JSON (issue 18).

A compacted Parquet segment of a typed kind (TYPED_KINDS: ``trial``, ``verdict``) holds,
beside the envelope columns (seq, ts, prev, hash, body, seal), one column per scalar view
column, named ``typed_<column>`` (``typed_key``, ``typed_run_id``, ``typed_cost_usd``...),
and ``typed_prefer`` (the view's preference, e.g. an infra-failed trial loses to its
retry). They are derived at compaction by the very SQL the views use over the body
(evals.store.query's BodyField columns, one ``from_json`` per record), from the bytes that were
just hash-checked, so they equal the body path by construction.

The fact views (``trial_facts``, ``verdict_facts``) read those columns only from a
Parquet segment whose verification stamp (evals.store.record_sql) is intact and names the
current column set (TYPED_VERSION: a digest of the columns' SQL, so a change of a
column's definition falls back to the body until the segment is verified again): the
stamp is a sha256 of the whole file, so a typed column edited after compaction makes the
views read that segment's bodies (hash-checked) instead. Every other segment (JSONL being
written, Parquet without a stamp or of an older column set) is read from its verified
bodies by the same SQL. `evals audit verify` recomputes every typed column from its body
and reports any disagreement (a finding, and no stamp). ``EVALS_TYPED_COLUMNS=0`` makes
the fact views read bodies everywhere (the reference path the tests compare with).
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path

import duckdb

from evals.store.record_sql import is_stamped, read_stamp
from evals.store.view_specs import (
    TRIAL_PREFERENCE,
    VERDICT_PREFERENCE,
    VIEWS,
    BodyField,
    _column_sql,
    _fields,
    _shape,
)

PREFIX = "typed_"
FACT_VIEWS = {"trial": "trial_facts", "verdict": "verdict_facts"}
"""Typed kind -> the view of its facts (one row per key, as the kind's own view)."""
_PREFER = {"trial": TRIAL_PREFERENCE, "verdict": VERDICT_PREFERENCE}
_LEFT_OUT = {"final_answer"}
"""Scalar columns that are text of any length: read from the body when asked for."""


def enabled() -> bool:
    """Whether the fact views may read typed columns (EVALS_TYPED_COLUMNS=0: never)."""
    return os.environ.get("EVALS_TYPED_COLUMNS", "1").lower() not in ("0", "off", "false")


@cache
def typed_fields(kind: str) -> dict[str, BodyField]:
    """The typed columns of a kind: its view's scalar body columns (JSON ones stay in
    the body), in view order."""
    out: dict[str, BodyField] = {}
    for name, field in _fields(VIEWS[kind]).items():
        if isinstance(field, BodyField) and field.sql_type != "JSON" and name not in _LEFT_OUT:
            out[name] = field
    return out


@cache
def typed_version(kind: str) -> str:
    """A digest of the kind's typed columns' SQL: a stamp naming another version is not
    read (the columns were derived by other definitions)."""
    return hashlib.sha256(derive_sql(kind, "src").encode()).hexdigest()[:16]


def derive_sql(kind: str, source: str) -> str:
    """SELECT every column of `source` and the kind's typed columns (and typed_prefer),
    derived from its `body` column with the views' own SQL (one parse per record)."""
    fields = typed_fields(kind)
    json_paths: set[str] = set()
    shape = json.dumps(_shape(fields.values()))
    cols = [_column_sql(PREFIX + name, f, json_paths) for name, f in fields.items()]
    return (
        f"SELECT * EXCLUDE (b), {', '.join(cols)}, {_PREFER[kind]} AS {PREFIX}prefer "
        f"FROM (SELECT *, from_json(body, '{shape}') AS b FROM {source})"
    )


def column_names(kind: str) -> list[str]:
    """Names of the typed columns in a Parquet segment (typed_prefer included)."""
    return [PREFIX + n for n in typed_fields(kind)] + [f"{PREFIX}prefer"]


def is_typed(segment: Path) -> bool:
    """Whether the views may read a Parquet segment's typed columns: stamped as verified
    (the file is unchanged since) with the current typed version."""
    kind = segment.parent.name
    if kind not in FACT_VIEWS or segment.suffix != ".parquet" or not enabled():
        return False
    stamp = read_stamp(segment)
    return stamp is not None and stamp.get("typed") == typed_version(kind) and is_stamped(segment)


def _facts_select(kind: str) -> str:
    """The fact columns, as the views name them, from a source with typed_ columns."""
    names = ", ".join(f'{PREFIX}{n} AS "{n}"' for n in typed_fields(kind))
    return f"seq, ts, filename, {PREFIX}prefer AS prefer, {names}"


def facts_source_sql(kind: str, typed: list[str], body_source: str | None) -> str:
    """Every record's facts (seq, ts, filename, prefer and the typed columns): read
    from the typed Parquet files `typed`, derived from `body_source`'s verified bodies
    (SELECT ... body ... filename, as evals.store.record_sql's sources) for the rest."""
    parts = []
    if typed:
        parts.append(
            f"SELECT {_facts_select(kind)} FROM read_parquet({typed!r}, filename=true) "
            "WHERE seal IS NULL"
        )
    if body_source:
        derived = derive_sql(kind, f"({body_source}) WHERE body IS NOT NULL")
        parts.append(f"SELECT {_facts_select(kind)} FROM ({derived})")
    if not parts:
        cols = ", ".join(
            f'NULL::{_sql_type(f)} AS "{n}"' for n, f in typed_fields(kind).items()
        )
        return (
            "SELECT NULL::BIGINT AS seq, NULL::VARCHAR AS ts, NULL::VARCHAR AS filename, "
            f"NULL::INTEGER AS prefer, {cols} WHERE FALSE"
        )
    return " UNION ALL ".join(parts)


def _sql_type(field: BodyField) -> str:
    return "BIGINT" if field.expr is not None else field.sql_type


def deduped_facts_sql(raw: str, kind: str) -> str:
    """One row per key from the facts of view `raw`, the same record the kind's own view
    keeps (lowest by prefer, ts, filename, seq: evals.store.query.deduped_sql).

    Only keys written more than once go through the choice (an aggregate, then a join
    back on (filename, seq)); every other record is its key's only one and passes
    through. Over a million trials that join back was most of a decision's query time,
    and a store rarely holds a key twice (a retried infra error, a race of two runs)."""
    names = ", ".join(f'"{n}"' for n in typed_fields(kind))
    return (
        f'WITH dups AS MATERIALIZED (SELECT key FROM "{raw}" WHERE key IS NOT NULL '
        "GROUP BY key HAVING count(*) > 1) "
        f'SELECT ts AS recorded_at, {names} FROM "{raw}" '
        "WHERE key NOT IN (SELECT key FROM dups) "
        f'UNION ALL SELECT ts AS recorded_at, {names} FROM "{raw}" JOIN (SELECT '
        "arg_min(struct_pack(f := filename, s := seq), struct_pack(p := prefer, t := ts, "
        f'f := filename, s := seq)) AS dedupe_winner FROM "{raw}" '
        "WHERE key IS NULL OR key IN (SELECT key FROM dups) GROUP BY key) "
        "ON filename = dedupe_winner.f AND seq = dedupe_winner.s"
    )


def define_fact_views(
    con: duckdb.DuckDBPyConnection, kind: str, typed: list[str], body_source: str | None
) -> None:
    """Create ``facts_<kind>`` (every record) and the kind's fact view (one per key).
    `typed`: the segments whose typed columns are read (is_typed); `body_source`: SQL
    of the verified records of every other segment (None: none)."""
    con.execute(
        f'CREATE OR REPLACE VIEW "facts_{kind}" AS '
        f"{facts_source_sql(kind, typed, body_source)}"
    )
    con.execute(
        f'CREATE OR REPLACE VIEW "{FACT_VIEWS[kind]}" AS {deduped_facts_sql(f"facts_{kind}", kind)}'
    )


def check_segment(segment: Path) -> tuple[str | None, list[tuple[int, str]]]:
    """Recompute a Parquet segment's typed columns from its bodies (`evals audit
    verify`): (the typed version to stamp, None when the file holds not every current
    typed column; [(seq, message)] of every record whose stored column disagrees)."""
    kind = segment.parent.name
    if kind not in FACT_VIEWS or segment.suffix != ".parquet":
        return None, []
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET enable_progress_bar = false")
        source = f"read_parquet({[str(segment)]!r})"
        have = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        stored = [c for c in column_names(kind) if c in have]
        if not stored:
            return None, []
        kept = ", ".join(f'"{c}" AS "stored_{c}"' for c in stored)
        derived = derive_sql(kind, f"(SELECT seq, body, {kept} FROM {source} WHERE seal IS NULL)")
        differs = ", ".join(
            f"CASE WHEN \"{c}\" IS DISTINCT FROM \"stored_{c}\" THEN '{c[len(PREFIX):]}' END"
            for c in stored
        )
        rows = con.execute(
            f"SELECT seq, list_filter([{differs}], lambda x: x IS NOT NULL) AS bad "
            f"FROM ({derived}) WHERE len(bad) > 0 ORDER BY seq"
        ).fetchall()
    except duckdb.Error as exc:  # unreadable: the chain check reports the file itself
        return None, [(0, f"typed columns unreadable ({type(exc).__name__})")]
    finally:
        con.close()
    problems = [
        (int(seq), f"typed column(s) {', '.join(bad)} disagree with the record's body: tampered")
        for seq, bad in rows
    ]
    complete = len(stored) == len(column_names(kind))
    return (typed_version(kind) if complete else None), problems
