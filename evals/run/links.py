"""Run links: a trial counted in a run although another run recorded it (same trial key).

Written when a run finds keys another run finished (before it starts, `link_reused`) or
while it runs (`link_finished_elsewhere`); every reader of a run's trials counts them
through the ``run_links`` view (evals.store.views.run_members_sql).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from evals.schema import Record
from evals.store.view_specs import ViewSpec, register_view
from evals.store.workspace import Workspace

if TYPE_CHECKING:  # evals.run.plan imports the views this module registers
    from evals.run.plan import FinishedKeys


class RunLink(Record):
    """A trial counted in a run although another run recorded it (same key)."""

    run_id: str
    """The run that reuses the trial."""
    trial_key: str
    """The trial reused."""
    source_run_id: str
    """The run that recorded it."""


register_view(ViewSpec("run_link", "run_links", RunLink))

LINKED_SQL = "SELECT body->>'$.trial_key' AS k FROM raw_run_link WHERE body->>'$.run_id' = ?"
"""The trial keys already linked into a run (parameter: the run id)."""


def link_reused(
    ws: Workspace,
    run_id: str,
    finished: FinishedKeys,
    keys: Iterable[str],
    linked: set[str] | None = None,
) -> int:
    """Write a run_link for matrix keys finished only under another run; returns how many.
    `linked`: the keys already linked into the run, when read already (else queried)."""
    elsewhere = finished.elsewhere(run_id, keys)
    if not elsewhere:
        return 0  # the usual case: nothing recorded by another run
    if linked is None:
        from evals.store.query import query  # DuckDB: not loaded by a worker that never links

        linked = {r["k"] for r in query(ws, LINKED_SQL, [run_id])}
    links = [
        RunLink(run_id=run_id, trial_key=key, source_run_id=source)
        for key, source in elsewhere.items()
        if key not in linked
    ]
    if links:
        ws.writer("run_link").append_many(links)
    return len(links)


def link_finished_elsewhere(
    ws: Workspace, run_id: str, reused: dict[str, str], into: dict[str, str] | None = None
) -> None:
    """Link the keys another run finished while this one was running (LaneRun.reused),
    so that every reader counts them in this run (or the run `into` names), once."""
    into = into or {}
    if reused:
        ws.writer("run_link").append_many(
            [
                RunLink(run_id=into.get(k, run_id), trial_key=k, source_run_id=src)
                for k, src in reused.items()
            ]
        )
