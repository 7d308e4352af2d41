"""Fixtures for the labeling app: a mini golden set, trials written directly, a queue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evals.store.workspace import Workspace
from labeling_app.queues.build import create_queue
from labeling_app.queues.models import ReviewQueue
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
