"""`evals label queue`: review queues for leads (create, list, set, rebuild-db), and the
helpers every `evals label` command shares (the queue service of the configured backend).

--queue-db URL (or EVALS_QUEUE_DB): queue state in PostgreSQL, for several app replicas
(docs/review-at-scale.md); without it, the workspace folder holds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evals.cli.common import DEFAULT_WORKSPACE, EXIT_INVALID, WorkspaceOpt, console, fail
from evals.tables import print_table

if TYPE_CHECKING:
    from evals.store.workspace import Workspace
    from labeling_app.queues.service import QueueService

queue_app = typer.Typer(help="Review queues (for leads).", no_args_is_help=True)

QUEUE_DB_OPTION = typer.Option(
    "--queue-db",
    envvar="EVALS_QUEUE_DB",
    help="PostgreSQL URL of the queue state (several app replicas); default: the workspace.",
    show_envvar=True,
)


def queue_service(ws: Workspace) -> QueueService:
    """The queue service of the configured backend (EVALS_QUEUE_DB); a backend that
    cannot be used is an input error (evals.errors)."""
    from labeling_app.queues.pg import service_for

    return service_for(ws)


def label_workspace(path: Path, create: bool = False) -> Workspace:
    from evals.store.workspace import Workspace

    return Workspace(path, create=create)


QueueRunsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--run",
        help="Run id, 'latest', or a pattern like 'edd_demo-*' (its newest run); repeat "
        "for several (a sample without --run: every run).",
    ),
]

SampleOpt = Annotated[
    int | None,
    typer.Option(
        help="Build from a sample of this many trials instead of the survivors "
        "(0: every trial)."
    ),
]

OverlapOpt = Annotated[int, typer.Option(help="Reviewers per item (k).")]

ControlShareOpt = Annotated[
    float, typer.Option(help="Share of unassisted control items, in [0, 1).")
]

BlindOpt = Annotated[bool, typer.Option(help="Hide model and prompt.")]

ShuffleOpt = Annotated[bool, typer.Option(help="Random (seeded) order.")]

ShowVerdictsOpt = Annotated[bool, typer.Option(help="Show judges' verdicts.")]

SeedOpt = Annotated[int, typer.Option(help="Seed of sample, controls and order.")]

LeaseOpt = Annotated[float, typer.Option(help="Claim lease.")]

IdleOpt = Annotated[float, typer.Option(help="Idle gap threshold, s.")]

DatasetOpt = Annotated[
    Path | None, typer.Option(help="Golden-set folder (default: from the run's manifest).")
]

NameOpt = Annotated[str, typer.Option(help="Queue name.")]

ByOpt = Annotated[str, typer.Option(help="Lead building it.")]

ReuseOpt = Annotated[
    bool,
    typer.Option(
        help="If a queue with this name over the same runs exists, keep it (no new queue; "
        "for scripts run twice)."
    ),
]

ReviewsOpt = Annotated[
    bool,
    typer.Option(
        "--reviews",
        help="Whole reviews: one item per review of a review run (its nodes in DAG order); "
        "--sample, --overlap and --control-share then count reviews.",
    ),
]


@queue_app.command("create")
def queue_create(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    run: QueueRunsOpt = None,
    sample: SampleOpt = None,
    overlap: OverlapOpt = 1,
    control_share: ControlShareOpt = 0.0,
    blind: BlindOpt = True,
    shuffle: ShuffleOpt = True,
    show_verdicts: ShowVerdictsOpt = False,
    seed: SeedOpt = 0,
    lease_minutes: LeaseOpt = 20.0,
    idle_threshold: IdleOpt = 60.0,
    dataset: DatasetOpt = None,
    name: NameOpt = "review",
    by: ByOpt = "cli",
    reuse: ReuseOpt = False,
    reviews: ReviewsOpt = False,
) -> None:
    """Build a review queue from a run's survivors or a sample of trials."""
    from labeling_app.queues.build import create_queue
    from labeling_app.queues.review_items import create_review_queue

    build = create_review_queue if reviews else create_queue  # (the same arguments)

    ws = label_workspace(workspace)
    runs = _resolve_runs(ws, run or [])
    if reuse and _kept(ws, name, runs):
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


def _kept(ws: Workspace, name: str, runs: list[str]) -> bool:
    """--reuse: a queue of this name over the same runs exists (said, and kept)."""
    from labeling_app.queues.service import QueueService

    same = [q for q in QueueService(ws).queues().values() if q.name == name and q.run_ids == runs]
    if same:
        console.print(
            f"queue {same[0].queue_id} ({name}) exists: kept", markup=False, highlight=False
        )
    return bool(same)


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

    svc = QueueService(label_workspace(workspace))
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
    svc = queue_service(label_workspace(workspace))
    svc.change_settings(queue_id, by, show_verdicts=show_verdicts, closed=closed)
    console.print(f"queue {queue_id} updated", markup=False)


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

    ws = label_workspace(workspace)
    known = queue_service(ws).queues() if queue else {}
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
