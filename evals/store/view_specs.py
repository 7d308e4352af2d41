"""The store's view specifications: which record kinds have views, their typed columns
from the JSON bodies, and the SQL that de-duplicates records by key (one place, shared by
the views in evals.store.query and the typed columns in evals.store.typed_columns)."""

from __future__ import annotations

import json
import logging
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from evals.schema import Decision, Label, ReviewEvent, RunManifest, Trial, Verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BodyField:
    """A view column read from the record body.

    Why not ``body->>'$.path'`` per column: each such expression parses the body again,
    and over a streamed scan DuckDB held memory per JSON expression, so a view of 20
    columns cost 20 parses and grew with the number of records. A view reads all its
    BodyFields with one ``from_json`` into a struct per record."""

    path: str
    """Dotted path in the body, e.g. ``trace.usage.cost_usd``."""
    sql_type: str = "VARCHAR"
    """Column type: the value's text is cast to it; ``JSON`` keeps the JSON value."""
    try_cast: bool = True
    """TRY_CAST (NULL when the value does not convert) rather than CAST (an error)."""
    shape: Any = None
    """from_json structure of a non-scalar value (with `expr`), e.g. a list of structs."""
    expr: str | None = None
    """SQL over the value (written ``{value}``) instead of the cast."""


class ViewSpec:
    """How a record kind appears in SQL."""

    def __init__(
        self,
        kind: str,
        view: str,
        model: type[BaseModel] | None,
        key: str | None = None,
        extra: dict[str, BodyField | str] | None = None,
        prefer: str | None = None,
    ) -> None:
        self.kind, self.view, self.model, self.key = kind, view, model, key
        self.extra = extra or {}
        """Columns beyond the model's fields: a BodyField, or SQL over `body`."""
        self.prefer = prefer
        """SQL sort expression over `body` (lower first) choosing which record of a key
        the view keeps, before first-written; None: first written wins."""


VIEWS: dict[str, ViewSpec] = {}


def register_view(spec: ViewSpec) -> None:
    """Make a record kind queryable (packages register their own kinds on import)."""
    VIEWS[spec.kind] = spec


TRIAL_PREFERENCE = "CASE WHEN body->>'$.trace.error.kind' = 'infra' THEN 1 ELSE 0 END"
"""A trial that failed on infrastructure is retried by the next run (evals.run.runner): the
view keeps the retry's result over the infra error, whatever was written first."""


def _number(path: str, sql_type: str = "BIGINT") -> BodyField:
    return BodyField(path, sql_type, try_cast=False)


_STEP_SHAPE = [{"kind": "VARCHAR", "requestor": "VARCHAR"}]
"""What the trials view reads of each trace step (one parse for both tool-call counts)."""

VERDICT_PREFERENCE = (
    "CASE WHEN body->>'$.infra_error' = 'true' OR body->>'$.crashed' = 'true' THEN 1 ELSE 0 END"
)
"""A verdict whose judge was unreachable is provisional: `evals judge` asks again, and the
view keeps the retry's verdict over it (Verdict.infra_error, Verdict.crashed), whatever was
written first."""

register_view(ViewSpec("run", "runs", RunManifest, key="run_id"))
register_view(
    ViewSpec(
        "trial",
        "trials",
        Trial,
        key="key",
        prefer=TRIAL_PREFERENCE,
        extra={
            "model_alias": BodyField("model.alias"),
            "model_name": BodyField("model.model"),
            "agent_name": BodyField("agent.name"),
            "final_answer": BodyField("trace.final_answer"),
            "input_tokens": _number("trace.usage.input_tokens"),
            "cached_input_tokens": _number("trace.usage.cached_input_tokens"),
            "output_tokens": _number("trace.usage.output_tokens"),
            "cost_usd": _number("trace.usage.cost_usd", "DOUBLE"),
            "cost_unknown": BodyField("trace.usage.cost_unknown", "BOOLEAN"),
            "llm_calls": _number("trace.usage.calls"),
            "cache_hits": _number("trace.usage.cache_hits"),
            "latency_s": _number("trace.latency_s", "DOUBLE"),
            "unmatched_tool_calls": _number("trace.unmatched_tool_calls"),
            # The agent's tool calls; a simulated user's (tau2 telecom) are counted apart.
            "tool_calls": BodyField(
                "trace.steps",
                shape=_STEP_SHAPE,
                expr="coalesce(len(list_filter({value}, lambda s: s.kind = 'tool_call' "
                "AND coalesce(s.requestor, 'agent') <> 'user')), 0)",
            ),
            "user_tool_calls": BodyField(
                "trace.steps",
                shape=_STEP_SHAPE,
                expr="coalesce(len(list_filter({value}, lambda s: s.kind = 'tool_call' "
                "AND s.requestor = 'user')), 0)",
            ),
            "error_kind": BodyField("trace.error.kind"),
            "error_code": BodyField("trace.error.code"),
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
            "judge_input_tokens": _number("usage.input_tokens"),
            "judge_output_tokens": _number("usage.output_tokens"),
            "judge_cost_usd": _number("usage.cost_usd", "DOUBLE"),
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


def _fields(spec: ViewSpec) -> dict[str, BodyField | str]:
    """The view's columns: the model's fields (scalars cast, the rest as JSON), then the
    extras."""
    fields: dict[str, BodyField | str] = {}
    if spec.model is not None:
        for name, field in spec.model.model_fields.items():
            if spec.kind == "trial" and name == "trace":
                continue  # the table everything joins on: its trace stays in `traces`
            fields[name] = BodyField(name, _scalar_sql_type(field.annotation) or "JSON")
    fields.update(spec.extra)
    return fields


def _shape(fields: Iterable[BodyField]) -> dict[str, Any]:
    """The from_json structure reading every field with one parse."""
    tree: dict[str, Any] = {}
    for f in fields:
        *parents, leaf = f.path.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"body path {f.path!r} runs through a non-object column")
        want = f.shape or ("JSON" if f.sql_type == "JSON" else "VARCHAR")
        if node.setdefault(leaf, want) != want:
            raise ValueError(f"body path {f.path!r} is read with two shapes")
    return tree


def _json_parent(path: str, json_paths: set[str]) -> str | None:
    """The path's longest proper prefix read as a JSON column, if any."""
    parts = path.split(".")
    for n in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:n]) in json_paths:
            return ".".join(parts[:n])
    return None


def _column_sql(name: str, field: BodyField | str, json_paths: set[str]) -> str:
    if isinstance(field, str):
        return f'{field} AS "{name}"'
    parent = _json_parent(field.path, json_paths)
    if parent is None:
        value = "b" + "".join(f"['{part}']" for part in field.path.split("."))
    else:  # inside a JSON column (e.g. model.alias in model): read from that small value
        rest = field.path[len(parent) + 1 :]
        base = "b" + "".join(f"['{part}']" for part in parent.split("."))
        if field.shape is not None:
            value = f"from_json(json_extract({base}, '$.{rest}'), '{json.dumps(field.shape)}')"
        elif field.sql_type == "JSON":
            value = f"json_extract({base}, '$.{rest}')"
        else:
            value = f"({base}->>'$.{rest}')"
    if field.expr is not None:
        sql = field.expr.replace("{value}", value)
    elif field.sql_type in ("JSON", "VARCHAR"):
        sql = value
    else:
        sql = f"{'TRY_CAST' if field.try_cast else 'CAST'}({value} AS {field.sql_type})"
    return f'{sql} AS "{name}"'


def body_columns_sql(
    raw: str, fields: dict[str, BodyField | str], key: str | None = None, prefer: str | None = None
) -> str:
    """SELECT ts AS recorded_at and `fields` from the records of view `raw` (deduplicated
    on `key` when given, see deduped_sql), parsing each body once."""
    body_fields = [f for f in fields.values() if isinstance(f, BodyField)]
    json_paths = {f.path for f in body_fields if f.sql_type == "JSON" and f.shape is None}
    shape = json.dumps(_shape(f for f in body_fields if _json_parent(f.path, json_paths) is None))
    inner = f"ts, body, from_json(body, '{shape}') AS b"
    if key is None:
        source = f'SELECT {inner} FROM "{raw}" WHERE body IS NOT NULL'
    else:
        source = deduped_sql(raw, f"body->>'$.{key}'", inner, prefer)
    cols = ", ".join(_column_sql(name, f, json_paths) for name, f in fields.items())
    return f"SELECT ts AS recorded_at, {cols} FROM ({source})"


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


