"""Foundation commands: validate, schema, workspace info, audit verify."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from evals.cli.common import (
    DEFAULT_WORKSPACE,
    WorkspaceOpt,
    console,
    err_console,
    fail,
)
from evals.store.workspace import Workspace
from evals.tables import print_table

workspace_app = typer.Typer(help="Inspect the workspace.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit the stored records.", no_args_is_help=True)


def validate(
    path: Annotated[Path, typer.Argument(help="Golden-set folder, e.g. datasets/edd_demo.")],
) -> None:
    """Validate a golden set: every problem with file, line and field; exit 2 if any."""
    from collections import Counter

    from evals.dataset.golden import load_golden_set

    gs = load_golden_set(path)
    jurisdictions = Counter(c.tags.get("jurisdiction", "?") for c in gs.cases)
    table = Table(title=f"{gs.name}  (hash {gs.content_hash})")
    for col in ("question", "title", "cases"):
        table.add_column(col)
    per_q = Counter(c.question_id for c in gs.cases)
    for q in gs.questions.values():
        table.add_row(q.id, q.title, str(per_q[q.id]))
    print_table(console, table)
    console.print(
        f"{len(gs.questions)} questions × {len(gs.cases)} cases × {len(jurisdictions)} "
        f"jurisdictions ({', '.join(sorted(jurisdictions))}); "
        f"{sum(len(c.fixtures) for c in gs.cases)} recorded tool observations; valid."
    )


def schema(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the JSON Schemas.")] = Path(
        "schemas"
    ),
) -> None:
    """Write the JSON Schema of every stored kind (trial, verdict, label, run_link,
    calibration, queue, ...), of the golden set's models (case, question, dataset), and of
    the files people write (suite, gate, judges: for editor completion, docs/extending.md)."""
    from evals.file_schemas import FILE_SCHEMAS
    from evals.store.query import stored_models

    out.mkdir(parents=True, exist_ok=True)
    schemas = {name: model.model_json_schema() for name, model in stored_models().items()}
    schemas.update({name: build() for name, build in FILE_SCHEMAS.items()})
    for name, body in schemas.items():
        path = out / f"{name}.schema.json"
        path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
        console.print(f"wrote {path}")


@workspace_app.command("info")
def workspace_info(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Record kinds, segment files and record counts of a workspace."""
    from evals.store.query import query

    ws = _open(workspace)
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


PinOpt = Annotated[
    str | None,
    typer.Option("--pin", help="A head printed by `evals audit head`: require that history."),
]


@audit_app.command("verify")
def audit_verify(workspace: WorkspaceOpt = DEFAULT_WORKSPACE, pin: PinOpt = None) -> None:
    """Check every record's hash chain and the manifest; names any edited, reordered or
    deleted record or segment (docs/audit.md says what is and is not detected)."""
    from evals.store.audit import verify_workspace

    report = verify_workspace(_open(workspace), pin)
    assert report.findings is not None
    for finding in report.findings:
        err_console.print(str(finding), markup=False, highlight=False, soft_wrap=True)
    for note in report.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    summary = (f"{report.records} records in {report.segments} segments "
               f"({report.sealed} sealed)")
    if report.findings:
        fail(f"audit failed: {len(report.findings)} finding(s); {summary}")
    console.print(f"audit ok: {summary}")


@audit_app.command("head")
def audit_head(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Checkpoint every segment in the manifest and print its head: keep it outside the
    workspace and pass it to `evals audit verify --pin` to detect rewritten history."""
    from evals.store.manifest import checkpoint

    ws = _open(workspace)
    pin = ws.checkpoint() if ws.remote else checkpoint(ws.root, ws.segments())  # type: ignore[attr-defined]
    console.print(pin, markup=False, highlight=False)


def _open(path: Path) -> Workspace:
    from evals.store.workspace import Workspace

    return Workspace(path, create=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command()(validate)
    app.command()(schema)
    app.add_typer(workspace_app, name="workspace")
    app.add_typer(audit_app, name="audit")
