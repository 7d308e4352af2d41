"""`evals audit verify` and `evals audit head`: the workspace's hash chains checked, and a
head to keep elsewhere (docs/audit.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from evals.cli.common import (
    DEFAULT_WORKSPACE,
    WorkspaceOpt,
    console,
    err_console,
    fail,
    open_workspace,
)

audit_app = typer.Typer(help="Audit the stored records.", no_args_is_help=True)


PinOpt = Annotated[
    str | None,
    typer.Option("--pin", help="A head printed by `evals audit head`: require that history."),
]


@audit_app.command("verify")
def audit_verify(workspace: WorkspaceOpt = DEFAULT_WORKSPACE, pin: PinOpt = None) -> None:
    """Check every record's hash chain and the manifest; names any edited, reordered or
    deleted record or segment (docs/audit.md says what is and is not detected)."""
    from evals.store.audit import verify_workspace

    report = verify_workspace(open_workspace(workspace), pin)
    assert report.findings is not None
    for finding in report.findings:
        err_console.print(str(finding), markup=False, highlight=False, soft_wrap=True)
    for note in report.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    summary = f"{report.records} records in {report.segments} segments ({report.sealed} sealed)"
    if report.findings:
        fail(f"audit failed: {len(report.findings)} finding(s); {summary}")
    console.print(f"audit ok: {summary}")


@audit_app.command("head")
def audit_head(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Checkpoint every segment in the manifest and print its head: keep it outside the
    workspace and pass it to `evals audit verify --pin` to detect rewritten history."""
    from evals.store.manifest import checkpoint

    ws = open_workspace(workspace)
    pin = ws.checkpoint() if ws.remote else checkpoint(ws.root, ws.segments())  # type: ignore[attr-defined]
    console.print(pin, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add `evals audit`."""
    app.add_typer(audit_app, name="audit")
