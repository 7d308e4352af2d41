"""`evals label`: the review app, its queues, its roster, and simulated reviewers.

evals label [-w WS] [--port 8501] [--roster FILE]     start the app on 127.0.0.1
evals label queue ...                                  queues (evals.cli.label_queue)
evals label roster add USER --role reviewer            add a person (hashed password)
evals label simulate [--queue QID] [--reviewers 4]     simulated reviewers (demo data)
evals label export [--what labels] [--format csv] --out DIR   labels / trials to CSV, Parquet

--queue-db URL (or EVALS_QUEUE_DB): queue state in PostgreSQL, for several app replicas
(docs/review-at-scale.md); without it, the workspace folder holds it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from evals.cli.common import DEFAULT_WORKSPACE, EXIT_INVALID, WorkspaceOpt, console, fail
from evals.cli.label_queue import (
    QUEUE_DB_OPTION,
    label_workspace,
    queue_app,
    queue_service,
)

label_app = typer.Typer(
    help="Human review: the Streamlit app, queues, roster, simulation.", invoke_without_command=True
)
roster_app = typer.Typer(help="The local roster of reviewers.", no_args_is_help=True)
label_app.add_typer(queue_app, name="queue")
label_app.add_typer(roster_app, name="roster")

APP_FILE = Path(__file__).resolve().parents[2] / "labeling_app" / "app.py"
DEMO_ROSTER = APP_FILE.parent / "demo_roster.yaml"


@label_app.callback()
def serve(
    ctx: typer.Context,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8501,
    roster: Annotated[
        Path | None, typer.Option(help="Roster file (default: <workspace>/roster.yaml).")
    ] = None,
    heartbeat: Annotated[
        float, typer.Option(help="Seconds between activity heartbeats while the page is visible.")
    ] = 15.0,
    queue_db: Annotated[str | None, QUEUE_DB_OPTION] = None,
) -> None:
    """Start the review app on 127.0.0.1 (headless) against the workspace."""
    if ctx.invoked_subcommand is not None:
        return
    from labeling_app.auth.roster import load_roster
    from labeling_app.queues.pg import ENV, queue_db_url

    queue_db = queue_db_url(queue_db)

    ws = label_workspace(workspace)
    roster_path = (roster or ws.root / "roster.yaml").resolve()
    if not roster_path.exists():
        fail(
            f"no roster at {roster_path}: add people with `evals label roster add USER "
            f"--role lead -w {workspace}`, or pass --roster {DEMO_ROSTER} for the demo"
        )
    load_roster(roster_path)
    env = dict(
        os.environ,
        EVALS_WORKSPACE=str(ws.root.resolve()),
        EVALS_ROSTER=str(roster_path),
        EVALS_HEARTBEAT_S=str(heartbeat),
    )
    if queue_db:
        env[ENV] = queue_db
    args = _streamlit_command(port)
    console.print(
        f"Review app: http://127.0.0.1:{port}  (workspace {ws.root.resolve()}, roster "
        f"{roster_path}; Ctrl+C stops it)",
        markup=False,
        highlight=False,
    )
    sys.stdout.flush()
    os.execve(sys.executable, args, env)


def _streamlit_command(port: int) -> list[str]:
    """The review app's streamlit command line: headless on 127.0.0.1, no usage
    statistics, no file watcher, reruns on save or developer tools."""
    settings = {
        "server.address": "127.0.0.1",
        "server.port": str(port),
        "server.headless": "true",
        "browser.gatherUsageStats": "false",
        "client.showErrorLinks": "false",
        "server.fileWatcherType": "none",
        "server.runOnSave": "false",
        "client.toolbarMode": "minimal",
        "global.developmentMode": "false",
    }
    flags = [x for key, value in settings.items() for x in (f"--{key}", value)]
    return [sys.executable, "-m", "streamlit", "run", str(APP_FILE), *flags]


@roster_app.command("add")
def roster_add(
    user: Annotated[str, typer.Argument(help="User id (an e-mail for OIDC users).")],
    role: Annotated[str, typer.Option(help="reviewer, lead or admin.")] = "reviewer",
    roster: Annotated[
        Path | None, typer.Option(help="Roster file (default: <workspace>/roster.yaml).")
    ] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input (one line).")
    ] = False,
    no_password: Annotated[bool, typer.Option(help="No password: an OIDC-only user.")] = False,
) -> None:
    """Add or replace a person in the roster; the password is stored as a salted hash."""
    from labeling_app.auth.roster import ROLES, add_user

    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}", EXIT_INVALID)
    password: str | None = None
    if not no_password:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        if not password:
            fail("empty password", EXIT_INVALID)
    path = roster or workspace / "roster.yaml"
    add_user(path, user, role, password, name=name)
    console.print(f"{user} ({role}) added to {path}", markup=False, highlight=False)


@label_app.command("simulate")
def simulate_cmd(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    queue: Annotated[
        str | None, typer.Option(help="Queue id or name (default: the newest queue).")
    ] = None,
    reviewers: Annotated[int, typer.Option(help="Simulated reviewers.")] = 4,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    noise: Annotated[float, typer.Option(help="Chance a reviewer flips a rating.")] = 0.05,
    max_items: Annotated[int | None, typer.Option(help="Stop after this many.")] = None,
) -> None:
    """Simulated reviewers (ids 'sim:reviewer-N') label a queue, for demos and load
    tests: helpful when the answer has the case's key facts and no forbidden claim."""
    from labeling_app.queues.simulate import simulate

    if reviewers < 1:
        fail("--reviewers must be at least 1", EXIT_INVALID)
    ws = label_workspace(workspace)
    svc = queue_service(ws)
    queues = svc.queues()
    if not queues:
        fail(f"no review queue in {ws.root}: build one with `evals label queue create`")
    named = (
        [q for q in queues.values() if queue in (q.queue_id, q.name)]
        if queue
        else [*queues.values()]
    )
    if not named:
        fail(f"no queue with id or name {queue!r} in {ws.root}")
    chosen = max(named, key=lambda q: q.created_at)
    queue_id = chosen.queue_id
    if any(it.nodes for it in chosen.items):  # a queue of whole reviews
        from labeling_app.queues.review_simulate import simulate_reviews as simulate
    try:
        summary = simulate(
            svc, queue_id, reviewers=reviewers, seed=seed, noise=noise, max_items=max_items
        )
    finally:
        ws.close(compact=True)
    assisted = summary.submitted - summary.control
    rate = f"{100 * summary.helpful / assisted:.0f}%" if assisted else "-"
    console.print(
        f"{summary.submitted} simulated decisions on {queue_id} by "
        f"{len(summary.reviewers)} simulated reviewers ({summary.control} control "
        f"items); rated helpful: {rate} of {assisted}",
        markup=False,
        highlight=False,
    )


@label_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option(help="Folder to write <what>.<format> into.")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    what: Annotated[
        list[str] | None, typer.Option(help="labels, trials (repeat; default: both).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Export labels (every record, with its status and the item's resolved label) and
    trials (with verdict and human label) to CSV or Parquet (labeling_app.queues.export)."""
    from labeling_app.queues.export import WHAT, Format, export
    from labeling_app.queues.service import QueueService

    tables = what or list(WHAT)
    bad = [w for w in tables if w not in WHAT]
    if bad or fmt not in ("csv", "parquet"):
        fail(
            f"--what must be labels or trials (got {', '.join(bad)})"
            if bad
            else f"--format must be csv or parquet (got {fmt})",
            EXIT_INVALID,
        )
    svc = QueueService(label_workspace(workspace))
    form: Format = "csv" if fmt == "csv" else "parquet"
    for table in tables:
        path, n = export(svc, table, form, out)
        console.print(f"{table}: {n} rows -> {path}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add `evals label` to the CLI."""
    app.add_typer(label_app, name="label")
