"""`evals label`: the review app, its queues, its roster, and simulated reviewers.

evals label [-w WS] [--port 8501] [--roster FILE]     start the app on 127.0.0.1
evals label queue create --run RUN [--sample N] ...    build a review queue
evals label queue list | evals label queue set QID ... list / change queues
evals label roster add USER --role reviewer            add a person (hashed password)
evals label simulate [--queue QID] [--reviewers 4]     simulated reviewers (demo data)
evals label export [--what labels] [--format csv] --out DIR   labels / trials to CSV, Parquet
evals label queue rebuild-db --queue-db URL            PostgreSQL queue state from the records

--queue-db URL (or EVALS_QUEUE_DB): queue state in PostgreSQL, for several app replicas
(docs/review-at-scale.md); without it, the workspace folder holds it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evals.cli.common import DEFAULT_WORKSPACE, EXIT_INVALID, WorkspaceOpt, console, fail

if TYPE_CHECKING:
    from evals.store.workspace import Workspace
    from labeling_app.queues.service import QueueService

from evals.tables import print_table

label_app = typer.Typer(
    help="Human review: the Streamlit app, queues, roster, simulation.", invoke_without_command=True
)
queue_app = typer.Typer(help="Review queues (for leads).", no_args_is_help=True)
roster_app = typer.Typer(help="The local roster of reviewers.", no_args_is_help=True)
label_app.add_typer(queue_app, name="queue")
label_app.add_typer(roster_app, name="roster")

APP_FILE = Path(__file__).resolve().parents[2] / "labeling_app" / "app.py"
DEMO_ROSTER = APP_FILE.parent / "demo_roster.yaml"


QUEUE_DB_OPTION = typer.Option(
    "--queue-db",
    envvar="EVALS_QUEUE_DB",
    help="PostgreSQL URL of the queue state (several app replicas); default: the workspace.",
    show_envvar=True,
)


def _service(ws: Workspace) -> QueueService:
    """The queue service of the configured backend (EVALS_QUEUE_DB); a backend that
    cannot be used is an input error (evals.errors)."""
    from labeling_app.queues.pg import service_for

    return service_for(ws)


def _workspace(path: Path, create: bool = False) -> Workspace:
    from evals.store.workspace import Workspace

    return Workspace(path, create=create)


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

    ws = _workspace(workspace)
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
    args = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_FILE),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.showErrorLinks",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--global.developmentMode",
        "false",
    ]
    console.print(
        f"Review app: http://127.0.0.1:{port}  (workspace {ws.root.resolve()}, roster "
        f"{roster_path}; Ctrl+C stops it)",
        markup=False,
        highlight=False,
    )
    sys.stdout.flush()
    os.execve(sys.executable, args, env)


@queue_app.command("create")
def queue_create(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    run: Annotated[
        list[str] | None,
        typer.Option(
            "--run",
            help="Run id, 'latest', or a pattern like 'edd_demo-*' (its newest run); repeat "
            "for several (a sample without --run: every run).",
        ),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(
            help="Build from a sample of this many trials instead of the survivors "
            "(0: every trial)."
        ),
    ] = None,
    overlap: Annotated[int, typer.Option(help="Reviewers per item (k).")] = 1,
    control_share: Annotated[
        float, typer.Option(help="Share of unassisted control items, in [0, 1).")
    ] = 0.0,
    blind: Annotated[bool, typer.Option(help="Hide model and prompt.")] = True,
    shuffle: Annotated[bool, typer.Option(help="Random (seeded) order.")] = True,
    show_verdicts: Annotated[bool, typer.Option(help="Show judges' verdicts.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of sample, controls and order.")] = 0,
    lease_minutes: Annotated[float, typer.Option(help="Claim lease.")] = 20.0,
    idle_threshold: Annotated[float, typer.Option(help="Idle gap threshold, s.")] = 60.0,
    dataset: Annotated[
        Path | None, typer.Option(help="Golden-set folder (default: from the run's manifest).")
    ] = None,
    name: Annotated[str, typer.Option(help="Queue name.")] = "review",
    by: Annotated[str, typer.Option(help="Lead building it.")] = "cli",
    reuse: Annotated[
        bool,
        typer.Option(
            help="If a queue with this name over the same runs exists, keep it (no new queue; "
            "for scripts run twice)."
        ),
    ] = False,
    reviews: Annotated[
        bool,
        typer.Option(
            "--reviews",
            help="Whole reviews: one item per review of a review run (its nodes in DAG order); "
            "--sample, --overlap and --control-share then count reviews.",
        ),
    ] = False,
) -> None:
    """Build a review queue from a run's survivors or a sample of trials."""
    from labeling_app.queues.build import create_queue
    from labeling_app.queues.review_items import create_review_queue

    build = create_review_queue if reviews else create_queue  # (the same arguments)

    ws = _workspace(workspace)
    runs = _resolve_runs(ws, run or [])
    if reuse:
        from labeling_app.queues.service import QueueService

        same = [
            q for q in QueueService(ws).queues().values() if q.name == name and q.run_ids == runs
        ]
        if same:
            console.print(
                f"queue {same[0].queue_id} ({name}) exists: kept", markup=False, highlight=False
            )
            return
    try:
        q = build(
            ws,
            source="survivors" if sample is None else "sample",
            run_ids=runs,
            dataset=dataset,
            sample_size=sample or None,
            seed=seed,
            name=name,
            created_by=by,
            overlap=overlap,
            blind=blind,
            shuffle=shuffle,
            control_share=control_share,
            lease_s=lease_minutes * 60,
            idle_threshold_s=idle_threshold,
            show_verdicts=show_verdicts,
        )
    finally:
        ws.close(compact=False)
    n_control = sum(it.arm == "unassisted" for it in q.items)
    unit = "reviews" if reviews else "items"
    console.print(
        f"queue {q.queue_id}: {len(q.items)} {unit} ({n_control} control), overlap "
        f"{q.overlap}, {'blind' if q.blind else 'not blind'}, from {q.source}",
        markup=False,
        highlight=False,
    )


def _resolve_runs(ws: Workspace, runs: list[str]) -> list[str]:
    """Run ids with 'latest' (the newest run) or a pattern such as 'edd_demo-*' (the
    newest matching run) resolved."""
    if not any(r == "latest" or "*" in r for r in runs):
        return runs
    from fnmatch import fnmatchcase

    from evals.store.query import query

    newest_first = [
        r["run_id"]
        for r in query(ws, "SELECT run_id FROM runs ORDER BY started_at DESC, recorded_at DESC")
    ]
    resolved = []
    for r in runs:
        if r == "latest" or "*" in r:
            pattern = "*" if r == "latest" else r
            match = next((x for x in newest_first if fnmatchcase(x, pattern)), None)
            if match is None:
                fail(f"no run matching {r!r} in {ws.root}", EXIT_INVALID)
            resolved.append(match)
        else:
            resolved.append(r)
    return resolved


@queue_app.command("list")
def queue_list(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """List the queues with their progress."""
    from rich.table import Table

    from labeling_app.queues.service import QueueService

    svc = QueueService(_workspace(workspace))
    table = Table()
    for col in ("queue", "name", "items", "k", "submitted", "needed", "closed"):
        table.add_column(col)
    for q in sorted(svc.queues().values(), key=lambda q: q.created_at):
        st = svc.summary(q.queue_id)
        table.add_row(
            q.queue_id,
            q.name,
            str(len(q.items)),
            str(q.overlap),
            str(st.submitted),
            str(st.needed),
            str(st.closed),
        )
    print_table(console, table)


@queue_app.command("set")
def queue_set(
    queue_id: Annotated[str, typer.Argument(help="Queue id.")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    show_verdicts: Annotated[
        bool | None,
        typer.Option("--show-verdicts/--hide-verdicts", help="Show judges' verdicts to reviewers."),
    ] = None,
    closed: Annotated[
        bool | None, typer.Option("--close/--open", help="Stop handing out items.")
    ] = None,
    by: Annotated[str, typer.Option(help="Lead changing it.")] = "cli",
) -> None:
    """Change a queue's settings."""
    svc = _service(_workspace(workspace))
    svc.change_settings(queue_id, by, show_verdicts=show_verdicts, closed=closed)
    console.print(f"queue {queue_id} updated", markup=False)


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


@queue_app.command("rebuild-db")
def queue_rebuild_db(
    queue_db: Annotated[str | None, QUEUE_DB_OPTION] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    queue: Annotated[
        list[str] | None, typer.Option(help="Queue id (repeatable; default: every queue).")
    ] = None,
) -> None:
    """Replace the queue state in PostgreSQL with what the workspace's records say now
    (after losing the database, or moving to a new one). Drafts are kept."""
    from labeling_app.queues.pg import BackendError, queue_db_url

    try:
        url = queue_db_url(queue_db)
    except BackendError as exc:
        fail(str(exc), EXIT_INVALID)
    if url is None:
        fail("no queue database: pass --queue-db URL or set EVALS_QUEUE_DB", EXIT_INVALID)
    from labeling_app.queues.pg.db import Database
    from labeling_app.queues.pg.rebuild import rebuild

    ws = _workspace(workspace)
    known = _service(ws).queues() if queue else {}
    missing = [q for q in queue or [] if q not in known]
    if missing:
        fail(f"no queue {missing[0]!r} in {ws.root}", EXIT_INVALID)
    db = Database(url)
    try:
        done = rebuild(ws, db, queue or None)
    except Exception as exc:  # psycopg's errors: unreachable server, refused login
        fail(f"{url.split('@')[-1]}: {str(exc).splitlines()[0] if str(exc) else exc!r}")
    finally:
        db.close()
    console.print(f"queue state rebuilt from the records: {len(done)} queue(s)", markup=False)


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
    ws = _workspace(workspace)
    svc = _service(ws)
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
    svc = QueueService(_workspace(workspace))
    form: Format = "csv" if fmt == "csv" else "parquet"
    for table in tables:
        path, n = export(svc, table, form, out)
        console.print(f"{table}: {n} rows -> {path}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add `evals label` to the CLI."""
    app.add_typer(label_app, name="label")
