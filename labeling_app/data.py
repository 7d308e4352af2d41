"""Reading trials, traces and verdicts for display (DuckDB over the workspace).

Trials are immutable (first write wins), so a trace is cached for the life of the
process; verdicts can be added while the app runs, so they are cached briefly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import streamlit as st

from evals.query import query
from evals.schema import Trace, Verdict
from evals.store import Workspace


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


def trial(ws: Workspace, trial_key: str) -> tuple[dict[str, Any], Trace] | None:
    """A trial's flat columns and its trace, or None when the workspace has no such trial."""
    row = _trial(str(ws.root), trial_key)
    if row is None:
        return None
    raw = row["trace"]
    trace = Trace.model_validate(orjson.loads(raw) if isinstance(raw, str | bytes) else raw)
    return {k: v for k, v in row.items() if k != "trace"}, trace


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


@st.cache_data(show_spinner=False, ttl=10)
def trial_index(root: str) -> list[dict[str, Any]]:
    """Every trial's identifying columns (for the audit page's search)."""
    return query(
        _workspace(root),
        "SELECT key, run_id, case_id, question_id, model_alias, prompt, status, "
        "repetition FROM trials ORDER BY run_id, case_id, model_alias, prompt",
    )
