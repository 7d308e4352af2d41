"""Reading trials, traces and verdicts for display (DuckDB over the workspace).

Trials are immutable (first write wins), so a trace is cached for the life of the
process; verdicts can be added while the app runs, so they are cached briefly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple, get_args

import orjson
import streamlit as st
from pydantic import ValidationError

from evals.schema import Trace, Verdict
from evals.schema.trace import Step
from evals.store.query import query
from evals.store.rows import rows_as
from evals.store.workspace import Workspace

KNOWN = {str(model.model_fields["kind"].default) for model in get_args(get_args(Step)[0])}
"""Step kinds `evals.schema.Trace` models (others are shown from the raw dict)."""


@st.cache_resource(show_spinner=False)
def _workspace(root: str) -> Workspace:
    return Workspace(Path(root), create=False)


@st.cache_data(show_spinner=False, max_entries=512)
def _trial(root: str, trial_key: str) -> dict[str, Any] | None:
    rows = query(
        _workspace(root),
        "SELECT t.*, tr.trace FROM trials t JOIN traces tr ON tr.trial_key = t.key WHERE t.key = ?",
        [trial_key],
    )
    return rows[0] if rows else None


def trial_raw(ws: Workspace, trial_key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A trial's flat columns and its trace as a plain dict (steps of kinds this version
    does not model are kept), or None when the workspace has no such trial."""
    row = _trial(str(ws.root), trial_key)
    if row is None:
        return None
    raw = row["trace"]
    data = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return {k: v for k, v in row.items() if k != "trace"}, data if isinstance(data, dict) else {}


def lenient_trace(data: dict[str, Any]) -> Trace:
    """A Trace from its dict; steps of unknown kinds are left out (render the dict to
    see them)."""
    try:
        return Trace.model_validate(data)
    except ValidationError:
        steps = [
            s for s in data.get("steps") or [] if isinstance(s, dict) and s.get("kind") in KNOWN
        ]
        return Trace.model_validate({**data, "steps": steps})


def trial(ws: Workspace, trial_key: str) -> tuple[dict[str, Any], Trace] | None:
    """A trial's flat columns and its trace, or None when the workspace has no such trial."""
    found = trial_raw(ws, trial_key)
    if found is None:
        return None
    return found[0], lenient_trace(found[1])


@st.cache_data(show_spinner=False, ttl=15, max_entries=512)
def _verdicts(root: str, trial_key: str) -> list[dict[str, Any]]:
    rows = query(
        _workspace(root),
        "SELECT body FROM raw_verdict WHERE body IS NOT NULL AND "
        "body->>'$.trial_key' = ? ORDER BY coalesce(body->>'$.infra_error', 'false') = 'true', ts",
        [trial_key],
    )
    return [orjson.loads(r["body"]) if isinstance(r["body"], str) else r["body"] for r in rows]


def verdicts(ws: Workspace, trial_key: str) -> list[Verdict]:
    """Every verdict on a trial (each judge's, the cascade's final one included), by
    stage then time; a verdict written twice is shown once (a judge's retry over its
    unreachable attempt, as in the `verdicts` view)."""
    seen: set[str] = set()
    out: list[Verdict] = []
    for body in _verdicts(str(ws.root), trial_key):
        v = Verdict.model_validate(body)
        if v.key not in seen:
            seen.add(v.key)
            out.append(v)
    return sorted(out, key=lambda v: (v.stage is None, v.stage or 0, v.created_at))


class TrialEntry(NamedTuple):
    """A trial's identifying columns (a row of the ``trials`` view)."""

    key: str
    """The trial."""
    run_id: str
    """Its run."""
    case_id: str
    """Its case."""
    question_id: str
    """Its question."""
    model_alias: str
    """The model that answered."""
    prompt: str
    """The prompt version."""
    status: str
    """ok or error."""
    repetition: int
    """Its repetition."""


@st.cache_data(show_spinner=False, ttl=10)
def trial_index(root: str) -> list[TrialEntry]:
    """Every trial's identifying columns (for the audit page's search)."""
    rows = query(
        _workspace(root),
        f"SELECT {', '.join(TrialEntry._fields)} FROM trials "
        "ORDER BY run_id, case_id, model_alias, prompt",
    )
    return rows_as(TrialEntry, rows)
