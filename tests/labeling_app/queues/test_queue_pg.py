"""The PostgreSQL queue backend: its state equals the records', rebuilds from them,
keeps drafts where every replica sees them, and is selected by configuration."""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evals.store.workspace import Workspace
from labeling_app.queues import drafts
from labeling_app.queues.build import create_queue
from labeling_app.queues.models import ReviewQueue
from labeling_app.queues.pg import BackendError, service_for
from labeling_app.queues.pg.db import Database
from labeling_app.queues.pg.rebuild import live_state, rebuild, records_state
from labeling_app.queues.pg.service import PgQueueService
from labeling_app.queues.service import Decision, QueueError, QueueService

YES = Decision(helpful=True, correctness="correct")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_queue(ws: Workspace, **options: object) -> ReviewQueue:
    """A sample queue over the workspace's 12 trials."""
    defaults: dict[str, object] = dict(
        name="test", created_by="lead", overlap=1, control_share=0.0, seed=3, now=T0
    )
    defaults.update(options)
    return create_queue(ws, source="sample", run_ids=["run-1"], **defaults)  # type: ignore[arg-type]


def random_work(svc: QueueService, queue_id: str, steps: int, seed: int) -> float:
    """Reviewers claiming, deciding, skipping, undoing, releasing and abandoning items on
    a driven clock; returns the last moment used."""
    rng = random.Random(seed)
    reviewers = ["ann", "ben", "cat", "dan"]
    t = 0.0
    for _ in range(steps):
        t += rng.choice([1, 5, 200])  # 200 s: some leases (300 s) run out meanwhile
        r = rng.choice(reviewers)
        item = svc.claim_next(queue_id, r, now=at(t))
        roll = rng.random()
        if item is None or roll < 0.15:
            continue  # abandoned: the lease runs out
        if roll < 0.25:
            svc.release(queue_id, item.item_id, r, "left", now=at(t + 0.5))
        elif roll < 0.35:
            svc.decide(queue_id, item.item_id, r, Decision(action="skip"), now=at(t + 0.5))
        elif roll < 0.4:
            svc.decide(queue_id, item.item_id, r, Decision(action="flag", comment="odd"),
                       now=at(t + 0.5))  # fmt: skip
        else:
            svc.decide(queue_id, item.item_id, r, YES, now=at(t + 0.5))
        if rng.random() < 0.15:
            with contextlib.suppress(QueueError):
                svc.undo_last(queue_id, r, now=at(t + 0.7))
        if rng.random() < 0.1:
            svc.renew(queue_id, item.item_id, r, now=at(t + 0.8))
    return t + 1


@pytest.mark.parametrize("seed", [1, 2])
def test_live_state_equals_the_records_and_rebuilds_from_them(
    trial_ws: Workspace, postgres_server, seed: int
) -> None:
    q = make_queue(trial_ws, overlap=2, lease_s=300)
    db = Database(postgres_server.create_database(f"eq{seed}"))
    svc = PgQueueService(trial_ws, db)
    end = random_work(svc, q.queue_id, 120, seed)
    for moment in (end, end + 100, end + 400):
        assert live_state(db, q.queue_id, at(moment)) == records_state(
            trial_ws, q.queue_id, at(moment)
        )
    before = live_state(db, q.queue_id, at(end))
    # The database is lost: a new one, rebuilt from the records, has the same state ...
    fresh = Database(postgres_server.create_database(f"eq{seed}b"))
    assert rebuild(trial_ws, fresh, now=at(end)) == [q.queue_id]
    assert live_state(fresh, q.queue_id, at(end)) == before
    # ... rebuilding again changes nothing, and the queue goes on from it.
    rebuild(trial_ws, fresh, now=at(end))
    assert live_state(fresh, q.queue_id, at(end)) == before
    again = PgQueueService(Workspace(trial_ws.root), fresh)
    random_work(again, q.queue_id, 30, seed + 10)
    later = end + 2000
    assert live_state(fresh, q.queue_id, at(later)) == records_state(
        trial_ws, q.queue_id, at(later)
    )
    for d in (db, fresh):
        d.close()
    drafts.use_backend(trial_ws.root, None)


def test_a_queue_is_loaded_from_its_records_on_first_use(
    trial_ws: Workspace, postgres_server
) -> None:
    """A queue worked on the local backend, then served from PostgreSQL: nothing lost."""
    q = make_queue(trial_ws, overlap=1)
    local = QueueService(trial_ws)
    held = local.claim_next(q.queue_id, "ann", now=at(0))
    done = local.claim_next(q.queue_id, "ben", now=at(1))
    local.decide(q.queue_id, done.item_id, "ben", YES, now=at(2))
    db = Database(postgres_server.create_database("first_use"))
    svc = PgQueueService(trial_ws, db)
    assert svc.holding(q.queue_id, "ann", now=at(3)) == held
    assert svc.claim_next(q.queue_id, "ann", now=at(4)) == held
    got = {svc.claim_next(q.queue_id, f"r{i}", now=at(5 + i)).item_id for i in range(10)}
    assert held.item_id not in got and done.item_id not in got
    db.close()
    drafts.use_backend(trial_ws.root, None)


def test_another_workspaces_queue_of_the_same_id_is_refused(
    tmp_path: Path, dataset: Path, postgres_server
) -> None:
    from labeling_app.testing import write_trials

    url = postgres_server.create_database("clash")
    services = []
    for name in ("one", "two"):
        ws = Workspace(tmp_path / name)
        write_trials(ws, dataset)
        q = make_queue(ws, created_by=name)  # same seed and trials: the same queue id
        services.append(service_for(ws, url))
    services[0].claim_next(q.queue_id, "ann", now=at(0))
    with pytest.raises(QueueError, match="one database per workspace"):
        services[1].claim_next(q.queue_id, "ann", now=at(0))
    for svc in services:
        drafts.use_backend(svc.ws.root, None)


def test_drafts_are_shared_by_replicas_and_not_written_to_the_folder(
    trial_ws: Workspace, queue_db: str
) -> None:
    root = trial_ws.root
    replica_a = PgQueueService(Workspace(root), Database(queue_db))
    drafts.save_draft(root, "ann", "q-1-0001", {"comment": "half", "helpful": True})
    drafts.save_choice(root, "ann", "q-1")
    replica_b = PgQueueService(Workspace(root), Database(queue_db))
    assert drafts.load_draft(root, "Ann ", "q-1-0001") == {"comment": "half", "helpful": True}
    assert drafts.load_choice(root, "ann") == "q-1"
    with pytest.raises(ValueError, match="not an item id"):
        drafts.save_draft(root, "ann", "../x", {"comment": "no"})
    drafts.discard_draft(root, "ann", "q-1-0001")
    assert drafts.load_draft(root, "ann", "q-1-0001") == {}
    assert not (root / "app" / "users").exists()
    for svc in (replica_a, replica_b):
        assert isinstance(svc, PgQueueService)
        svc.db.close()
    drafts.use_backend(root, None)
    assert drafts.load_choice(root, "ann") is None  # the folder backend again


def test_the_backend_is_chosen_by_configuration(
    trial_ws: Workspace, queue_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVALS_QUEUE_DB", raising=False)
    assert type(service_for(trial_ws)) is QueueService
    monkeypatch.setenv("EVALS_QUEUE_DB", queue_db)
    assert isinstance(service_for(trial_ws), PgQueueService)
    monkeypatch.setenv("EVALS_QUEUE_DB", "mysql://secret@db/x")
    with pytest.raises(BackendError, match="not a postgresql:// URL"):
        service_for(trial_ws)
    drafts.use_backend(trial_ws.root, None)


def evals(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evals.cli.main", *args],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def test_cli_rebuilds_the_queue_database(trial_ws: Workspace, queue_db: str) -> None:
    import os

    q = make_queue(trial_ws, overlap=1)
    QueueService(trial_ws).claim_next(q.queue_id, "ann")
    trial_ws.close(compact=False)
    env = {k: v for k, v in os.environ.items() if k != "EVALS_QUEUE_DB"}
    ws = str(trial_ws.root)
    missing = evals("label", "queue", "rebuild-db", "-w", ws, env=env)
    assert missing.returncode != 0 and "--queue-db" in missing.stderr + missing.stdout
    bad = evals("label", "queue", "rebuild-db", "-w", ws, "--queue", "nope", "--queue-db",
                queue_db, env=env)  # fmt: skip
    assert bad.returncode != 0 and "no queue 'nope'" in bad.stderr + bad.stdout
    ok = evals("label", "queue", "rebuild-db", "-w", ws, "--queue-db", queue_db, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "1 queue(s)" in ok.stdout
    db = Database(queue_db)
    state = live_state(db, q.queue_id, at(10**8))
    assert sum(len(s["claims"]) for s in state.values()) == 0  # (its lease ran out by then)
    assert len(state) == len(q.items)
    db.close()


def test_simulated_reviewers_and_label_edits_keep_the_state_equal(
    trial_ws: Workspace, queue_db: str
) -> None:
    from labeling_app.queues.lead import edit_label
    from labeling_app.queues.simulate import simulate

    q = make_queue(trial_ws, overlap=2, control_share=0.2)
    db = Database(queue_db)
    svc = PgQueueService(trial_ws, db)
    end = at(10**6)
    summary = simulate(svc, q.queue_id, reviewers=3, seed=4, end=end)
    assert summary.submitted > 0
    later = end + timedelta(seconds=10)
    assert live_state(db, q.queue_id, later) == records_state(trial_ws, q.queue_id, later)
    # A reviewer edits a past label: the replacement stands in PostgreSQL too, and their
    # undo retracts the replacement (as on the local backend).
    old = next(lb for lb in svc.index.labels(q.queue_id) if lb.arm == "assisted")
    edit = edit_label(svc, old.id, old.reviewer, {"comment": "second thoughts"}, "typo",
                      now=later)  # fmt: skip
    undo, reopened = svc.undo_last(q.queue_id, old.reviewer, now=later + timedelta(seconds=1))
    assert undo.retracts == edit.new_label and reopened is not None
    assert reopened.item_id == old.item_id
    moment = later + timedelta(seconds=2)
    assert live_state(db, q.queue_id, moment) == records_state(trial_ws, q.queue_id, moment)
    db.close()
    drafts.use_backend(trial_ws.root, None)


def test_an_unreachable_database_is_a_queue_error_without_the_password(
    trial_ws: Workspace,
) -> None:
    from labeling_app.queues.pg.server import free_port

    q = make_queue(trial_ws)
    url = f"postgresql://review:s3cret@127.0.0.1:{free_port()}/nowhere"
    svc = PgQueueService(trial_ws, Database(url))
    with pytest.raises(QueueError, match="cannot be reached") as err:
        svc.claim_next(q.queue_id, "ann")
    assert "s3cret" not in str(err.value)
    drafts.use_backend(trial_ws.root, None)
