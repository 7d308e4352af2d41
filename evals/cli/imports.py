"""`evals import FORMAT PATH`: recorded runs, labels and preferences into the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evals.cli.common import (
    DEFAULT_WORKSPACE,
    EXIT_INVALID,
    WorkspaceOpt,
    console,
    fail,
)

if TYPE_CHECKING:
    from evals.importers import ImportBatch, ImportOptions
    from evals.store.workspace import Workspace


def import_cmd(
    fmt: Annotated[
        str,
        typer.Argument(
            metavar="FORMAT",
            help="jsonl | tau-bench | tau2-bench | pairwise | labels, an installed format, "
            "or package.module:function (docs/extending.md)",
        ),
    ],
    path: Annotated[Path, typer.Argument(help="File to import.")],
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id", help="Run id to create (default: derived from format, model, file hash)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="Model alias to record (default: the model named in the file)."
        ),
    ] = None,
    prompt: Annotated[
        str | None,
        typer.Option("--prompt", help="Prompt version name to record (default: from the file)."),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option("--dataset", help="Dataset name to record (default: from the source)."),
    ] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Import recorded runs (tau2-bench, tau-bench, JSONL), labels or pairwise preferences.

    Imported trials keep their recorded outcome as a ground-truth verdict. The whole file
    is checked first: any bad record is named (file, line or record, field), exit 2,
    nothing written."""
    from evals.importers import (
        ImportOptions,
        UnknownFormatError,
        find_importer,
    )
    from evals.store.workspace import Workspace

    try:
        info = find_importer(fmt)
    except UnknownFormatError as exc:
        fail(str(exc), EXIT_INVALID)
    if not path.is_file():
        fail(f"{path}: no such file", EXIT_INVALID)
    options = ImportOptions(run_id=run_id, model_alias=model, prompt=prompt, dataset=dataset)
    ws = Workspace(workspace)
    _write(ws, info.parse(path, options, ws), options)


def _write(ws: Workspace, batch: ImportBatch, options: ImportOptions) -> None:
    from evals.importers import previous_import, write_batch
    from evals.store.query import query

    earlier = previous_import(ws, batch)
    if earlier is not None:
        wanted = batch.run.run_id if batch.run else None
        if wanted != earlier.run_id:
            fail(
                f"{batch.source}: this file was already imported as run {earlier.run_id} "
                f"(on {earlier.imported_at:%Y-%m-%d}); its trials are the same records, so a "
                "second run id cannot hold them. Use that run, or nothing."
            )
        console.print(
            f"{batch.source}: already imported"
            + (f" as run {earlier.run_id}" if earlier.run_id else "")
            + "; nothing written.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return
    if batch.run is not None:
        same_id = query(ws, "SELECT suite_hash FROM runs WHERE run_id = ?", [batch.run.run_id])
        # The same file's run without its import record: an import cut short; finish it.
        if same_id and same_id[0]["suite_hash"] != batch.run.suite_hash:
            fail(f"run {batch.run.run_id} already exists in {ws.root}; choose another --run-id")
    record = write_batch(ws, batch, options)
    counts = ", ".join(f"{n} {kind}" for kind, n in record.counts.items())
    head = f"imported {batch.source} ({batch.format})"
    if record.run_id:
        head += f" as run {record.run_id}"
    console.print(f"{head}: {counts}", markup=False, highlight=False, soft_wrap=True)
    for line in batch.summary:
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add `evals import` to the CLI."""
    app.command("import")(import_cmd)
