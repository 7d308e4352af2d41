"""Fixtures for the labeling app: a mini golden set, trials written directly, a queue."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evals.store.workspace import Workspace
from labeling_app.queues.build import create_queue
from labeling_app.queues.models import ReviewQueue
from labeling_app.queues.service import QueueService
from labeling_app.testing import write_golden_set, write_trials

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 plus some seconds: tests drive the clock."""
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """The mini golden set on disk."""
    return write_golden_set(tmp_path / "mini_edd")


@pytest.fixture
def trial_ws(tmp_path: Path, dataset: Path) -> Iterator[Workspace]:
    """A workspace with a run of 12 trials (6 cases x 2 models) and cascade verdicts."""
    ws = Workspace(tmp_path / "ws")
    write_trials(ws, dataset)
    yield ws
    ws.close(compact=False)


def make_queue(ws: Workspace, **options: object) -> ReviewQueue:
    """A sample queue over every trial (12 assisted items) with the given options."""
    defaults: dict[str, object] = dict(
        name="test", created_by="lead", overlap=1, control_share=0.0, seed=3, now=T0
    )
    defaults.update(options)
    return create_queue(ws, source="sample", run_ids=["run-1"], **defaults)  # type: ignore[arg-type]


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    """``clock(seconds)``: T0 plus some seconds."""
    return at


@pytest.fixture
def queue_factory(trial_ws: Workspace):  # type: ignore[no-untyped-def]
    """``queue_factory(**options)``: a queue over the trial workspace."""
    return lambda **options: make_queue(trial_ws, **options)


# ------------------------------------------------------------ PostgreSQL (queue backend)

_DB_NUMBERS = itertools.count()


@pytest.fixture(scope="session")
def postgres_server():  # type: ignore[no-untyped-def]
    """A PostgreSQL server started from nothing for the test session (runuser + pg_ctl,
    a free port on 127.0.0.1, fsync off), stopped and removed after it."""
    from labeling_app.queues.pg.server import LocalPostgres, ServerUnavailable

    try:
        server = LocalPostgres.start()
    except ServerUnavailable as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def queue_db(postgres_server) -> str:  # type: ignore[no-untyped-def]
    """The URL of a fresh, empty database on the session's server."""
    return str(postgres_server.create_database(f"t{next(_DB_NUMBERS)}"))


@pytest.fixture(params=["local", "postgres"])
def make_service(request: pytest.FixtureRequest) -> Iterator[Callable[[Workspace], QueueService]]:
    """``make_service(ws)``: the queue service of each backend (the contract tests run
    against both): today's local folder, and PostgreSQL on a fresh database."""
    if request.param == "local":
        yield QueueService
        return
    from labeling_app.queues import drafts
    from labeling_app.queues.pg.db import Database
    from labeling_app.queues.pg.service import PgQueueService

    server = request.getfixturevalue("postgres_server")
    dbs: dict[Path, Database] = {}  # one database per workspace, as documented
    made: list[PgQueueService] = []

    def make(ws: Workspace) -> QueueService:
        if ws.root not in dbs:
            dbs[ws.root] = Database(server.create_database(f"t{next(_DB_NUMBERS)}"))
        made.append(PgQueueService(ws, dbs[ws.root]))
        return made[-1]

    yield make
    for svc in made:
        drafts.use_backend(svc.ws.root, None)
    for db in dbs.values():
        db.close()
