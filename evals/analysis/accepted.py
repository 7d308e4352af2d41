"""Accepted runs: a gate decision 'ship' recorded in the store marks its run accepted, and
`--baseline last-accepted` (evals gate, evals run's suite gates, evals report --regression)
takes the most recent accepted run of the same suite and golden set."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from evals.analysis.rundata import RunRef
from evals.schema import Decision
from evals.store.workspace import Workspace

if TYPE_CHECKING:
    from evals.analysis.runfacts import FactSession


def record_decision(ws: Workspace, decision: Decision) -> None:
    """Append the decision to the store (durably: CI reads it back as the baseline)."""
    ws.append("decision", decision, durable=True)


def run_scope(manifest: Mapping[str, Any]) -> tuple[str, str]:
    """(suite, golden set) a run belongs to: the suite's name (its file's stem when the
    suite sets none) and the dataset's name, from a ``runs`` row or manifest."""
    config = manifest.get("config") or {}
    if isinstance(config, str | bytes):
        config = orjson.loads(config)
    suite = (config.get("name") if isinstance(config, dict) else None) or Path(
        str(manifest.get("suite") or "")
    ).stem
    return str(suite), str(manifest.get("dataset") or "")


def last_accepted(
    ws: Workspace,
    exclude: RunRef | None = None,
    scope: tuple[str, str] | None = None,
    session: FactSession | None = None,
) -> str | None:
    """Reference of the most recent run a gate shipped (other than ``exclude``), among
    the runs of the same suite and golden set as ``scope`` (see run_scope) when given:
    a run of another golden set is no baseline. `session`: query over its connection."""
    from evals.store.query import query
    from evals.store.rows import fetch_dicts

    def rows_of(sql: str) -> list[dict[str, Any]]:
        if session is not None:
            return fetch_dicts(session.con.execute(sql))
        return query(ws, sql)

    rows = rows_of(
        "SELECT run_id, run_ref FROM decisions WHERE outcome = 'ship' "
        "ORDER BY created_at DESC, recorded_at DESC"
    )
    runs = rows_of("SELECT run_id, suite, dataset, config FROM runs")
    scopes = {r["run_id"]: run_scope(r) for r in runs}
    for r in rows:
        ref = r["run_ref"] or r["run_id"]
        if r["run_id"] not in scopes or (exclude is not None and ref == str(exclude)):
            continue
        if scope is None or scopes[r["run_id"]] == scope:
            return str(ref)
    return None
