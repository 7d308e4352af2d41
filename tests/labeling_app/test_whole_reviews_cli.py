"""`evals label queue create --run RUN --reviews`: a queue of whole reviews from a review
run's survivors, overlap and control share per review; bad input exits non-zero."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.store import Workspace
from labeling_app.records import RecordIndex
from labeling_app.review_testing import DEMO_SET, SUITE

pytestmark = pytest.mark.slow  # real subprocesses

JUDGES = "judges:\n  - stage: checks\n    judges:\n      - judge: answered\n"


def evals(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run(
        [sys.executable, "-m", "evals.cli.main", *args], capture_output=True, text=True, env=env
    )


def test_queue_create_reviews_builds_whole_review_items(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_text("prompt\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(dataset=DEMO_SET, limit=4) + JUDGES)
    ws = tmp_path / "ws"
    run = evals("run", str(suite), "-w", str(ws), "--no-progress")
    assert run.returncode == 0, run.stdout + run.stderr
    made = evals("label", "queue", "create", "-w", str(ws), "--run", "latest", "--reviews",
                 "--overlap", "2", "--control-share", "0.2", "--name", "whole")  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    assert "5 reviews (1 control), overlap 2" in made.stdout  # round(4 * .2 / .8) = 1
    (q,) = RecordIndex(Workspace(ws)).queues().values()
    assert q.overlap == 2 and q.control_share == 0.2
    assert all(it.nodes and len(it.nodes) == 5 and it.review_id for it in q.items)
    assert {it.question_id for it in q.items} == {"(whole review)"}
    bad = evals("label", "queue", "create", "-w", str(ws), "--run", "nope", "--reviews")
    assert bad.returncode != 0
    assert bad.stderr.strip().count("\n") == 0 and "no review-node trials" in bad.stderr
