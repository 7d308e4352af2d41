"""`evals label queue create --run RUN --reviews`: a queue of whole reviews from a review
run's survivors, overlap and control share per review; bad input exits non-zero."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.store.workspace import Workspace
from labeling_app.queues.records import RecordIndex
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
    suite.write_text(SUITE.format(dataset=DEMO_SET, limit=4, prompts="{v1: p.md}") + JUDGES)
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
    sim = evals("label", "simulate", "-w", str(ws), "--queue", "whole", "--reviewers", "4")
    assert sim.returncode == 0, sim.stdout + sim.stderr
    assert "simulated decisions" in sim.stdout
    labels = RecordIndex(Workspace(ws)).labels(q.queue_id)
    reviews = [lb for lb in labels if "/" not in lb.item_id]
    assert reviews and len(labels) == 6 * len(reviews)  # five node labels per review
    bad = evals("label", "queue", "create", "-w", str(ws), "--run", "nope", "--reviews")
    assert bad.returncode != 0
    assert bad.stderr.strip().count("\n") == 0 and "no review-node trials" in bad.stderr


def test_report_shows_whole_reviews_per_review_and_per_node(tmp_path: Path) -> None:
    import json
    import math
    from datetime import UTC, datetime, timedelta

    from labeling_app.metrics.dashboard import counted_ids
    from labeling_app.metrics.reviews import review_frames, summary_tables
    from labeling_app.queues.review_items import create_review_queue
    from labeling_app.queues.review_work import decide_node
    from labeling_app.queues.service import Decision, QueueService

    (tmp_path / "p.md").write_text("prompt\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(dataset=DEMO_SET, limit=3, prompts="{v1: p.md}") + JUDGES)
    root = tmp_path / "ws"
    assert evals("run", str(suite), "-w", str(root), "--no-progress").returncode == 0
    ws = Workspace(root)
    from evals.store.query import query

    run_id = query(ws, "SELECT run_id FROM runs")[0]["run_id"]
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    q = create_review_queue(ws, source="survivors", run_ids=[run_id], name="w",
                            created_by="lead", control_share=0.4, overlap=2, seed=1)  # fmt: skip
    svc = QueueService(ws)
    t = 0.0
    speed = {"assisted": 10.0, "unassisted": 24.0}
    for who in ("r1", "r1", "r1", "r2", "r2", "r2"):
        item = svc.claim_next(q.queue_id, who, now=t0 + timedelta(seconds=t))
        assert item is not None and item.nodes
        for i, node in enumerate(item.nodes):
            svc.record_event(q.queue_id, item.item_id, who, "heartbeat",
                             at=t0 + timedelta(seconds=t + 2), data={"idle_s": 1.0})  # fmt: skip
            t += speed[item.arm] + (3 if who == "r2" else 0)
            d = (Decision(helpful=i != 1 or who == "r1") if item.arm == "assisted"
                 else Decision(corrected_answer="mine"))  # fmt: skip
            decide_node(svc, q.queue_id, item, node.question_id, who, d,
                        now=t0 + timedelta(seconds=t))  # fmt: skip
        t += 5
    reviews, nodes = review_frames({q.queue_id: q}, svc.index.labels(q.queue_id),
                                   svc.index.events(q.queue_id),
                                   counted=counted_ids(ws, [q.queue_id]))  # fmt: skip
    expected = summary_tables(reviews, nodes)
    ws.close(compact=False)
    out = tmp_path / "report"
    rep = evals("report", run_id, "-w", str(root), "--out", str(out), "--format", "json,md,html")
    assert rep.returncode == 0, rep.stdout + rep.stderr
    assert "Whole reviews: helpfulness per review" in rep.stdout
    data = json.loads(next(out.glob("*.json")).read_text())["data"]["whole_reviews"]
    got = data["review_time"][0]
    want = expected["review_time"].iloc[0]
    assert got["n_assisted"] == want["n_assisted"] == 4 and got["n_unassisted"] == 2
    assert math.isclose(got["reduction"], round(want["reduction"], 4))
    assert data["review_helpfulness"][0]["n"] == int(expected["review_helpfulness"].iloc[0]["n"])
    assert {r["question_id"] for r in data["node_helpfulness"]} == {
        n.question_id for n in q.items[0].nodes or []
    }
    assert "## Whole reviews" in next(out.glob("*.md")).read_text()
    html = next(out.glob("*.html")).read_text()
    assert "Whole reviews" in html and "Handling time per review" in html
    # Per-item numbers count node labels as items and never a whole review's label.
    from evals.analysis.rundata import RunRef, load_run

    run = load_run(Workspace(root), RunRef(run_id))
    labels = RecordIndex(Workspace(root)).labels(q.queue_id)
    node_labels = [lb for lb in labels if "/" in lb.item_id]
    assert sorted(lb.id for lb in run.assisted) == sorted(
        lb.id for lb in node_labels if lb.arm == "assisted"
    )
    assert sorted(lb.id for lb in run.unassisted) == sorted(
        lb.id for lb in node_labels if lb.arm == "unassisted"
    )
