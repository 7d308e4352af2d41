"""`evals workspace info`: the record kinds, segments and runs of a workspace."""

from __future__ import annotations

import typer
from rich.table import Table

from evals.cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, console, open_workspace
from evals.tables import print_table

workspace_app = typer.Typer(help="Inspect the workspace.", no_args_is_help=True)


@workspace_app.command("info")
def workspace_info(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Record kinds, segment files and record counts of a workspace."""
    from evals.store.query import query

    ws = open_workspace(workspace)
    table = Table(title=ws.url)
    for col in ("kind", "segments (jsonl/parquet)", "records"):
        table.add_column(col)
    for kind in ws.kinds():
        segs = ws.segments(kind)
        n_jsonl = sum(p.suffix == ".jsonl" for p in segs)
        rows = query(ws, f'SELECT count(*) AS n FROM "raw_{kind}" WHERE body IS NOT NULL')
        table.add_row(kind, f"{n_jsonl}/{len(segs) - n_jsonl}", str(rows[0]["n"]))
    print_table(console, table)
    runs = query(ws, "SELECT run_id, dataset, source, started_at FROM runs ORDER BY started_at")
    for r in runs:
        console.print(f"run {r['run_id']}  {r['dataset']}  {r['source']}  {r['started_at']}")


def register(app: typer.Typer) -> None:
    """Add `evals workspace`."""
    app.add_typer(workspace_app, name="workspace")
