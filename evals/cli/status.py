"""`evals status`: what a workspace holds, in plain words, and what to open next.

The demo ends with it. Every number is read back from the store with the same
functions the reports use (evals.analysis.rundata.load_run: the final cascade verdict per
trial), so the status agrees with `evals report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from evals.cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, console
from evals.run.reviews import TEACHER_SUFFIX

if TYPE_CHECKING:
    from evals.analysis.rundata import RunRow


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _latest_runs(rows: list[RunRow]) -> list[RunRow]:
    """The newest run of each suite (teacher runs are reported with their free run)."""
    newest: dict[str, RunRow] = {}
    for row in rows:  # oldest first
        if row.run_id.endswith(TEACHER_SUFFIX):
            continue
        newest[Path(str(row.suite)).stem] = row
    return list(newest.values())


def _run_lines(ws: Any, run_id: str) -> list[str]:
    from evals.analysis.rundata import RunRef, load_run

    run = load_run(ws, RunRef(run_id))
    cells: dict[str, list[Any]] = {}
    for t in run.trials:
        cells.setdefault(f"{t.model_alias}/{t.prompt}", []).append(t)
    spec = run.manifest.get("agent") or {}
    agent = (orjson.loads(spec) if isinstance(spec, str) else spec).get("name", "?")
    lines = []
    for cell, trials in sorted(cells.items()):
        passed = sum(1 for t in trials if t.outcome is True)
        failed = sum(1 for t in trials if t.outcome is False)
        rest = len(trials) - passed - failed
        share = f" ({passed / (passed + failed):.0%})" if passed + failed else ""
        lines.append(
            f"- {run_id} [{agent}, {cell}]: {len(trials)} trials; the judges passed "
            f"{passed}{share} and failed {failed}"
            + (f"; {rest} without a verdict" if rest else "")
        )
    return lines


def _queue_lines(ws: Any, reviewers: list[str]) -> list[str]:
    from labeling_app.queues.service import QueueService

    svc = QueueService(ws)
    lines = []
    for qid, queue in svc.queues().items():
        s = svc.summary(qid)
        open_for = [f"{r} {svc.progress(qid, r)[1]}" for r in reviewers]
        lines.append(
            f"- queue {queue.name} ({qid}): {s.items} items from {', '.join(queue.run_ids)}; "
            f"{s.submitted} reviews in, {s.needed} still needed"
            + (f"; items open for {', '.join(open_for)}" if open_for else "")
        )
    return lines


def status(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    reviewer: Annotated[
        list[str] | None,
        typer.Option("--reviewer", help="Say how many items this reviewer can take (repeatable)."),
    ] = None,
) -> None:
    """What the workspace holds, in plain words: runs and what the judges did with
    them, review queues and the work left, gate decisions, and what to open next."""
    from evals.analysis.rundata import run_ids
    from evals.store.query import query
    from evals.store.workspace import Workspace

    ws = Workspace(workspace, create=False)
    runs = _latest_runs(run_ids(ws))
    _say(f"What is in {ws.url}:")
    for row in runs:
        for line in _run_lines(ws, row.run_id):
            _say(line)
    if "queue" in ws.kinds():
        for line in _queue_lines(ws, reviewer or []):
            _say(line)
    if "decision" in ws.kinds():
        for d in query(ws, "SELECT gate, outcome, summary, run_ref FROM decisions "
                           "ORDER BY created_at DESC LIMIT 3"):
            _say(f"- gate {d['gate']} on {d['run_ref']}: {d['summary']}")
    reports = sorted((workspace / "reports").glob("*/report.html"), key=lambda p: p.stat().st_mtime)
    if reports:
        _say("Open next:")
        for path in reports[-3:]:
            _say(f"- {path}")


def register(app: typer.Typer) -> None:
    """Add `evals status`."""
    app.command("status")(status)
