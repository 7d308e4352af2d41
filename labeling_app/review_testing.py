"""A review run for tests and examples of whole reviews, with no model.

The ``edd_template`` blueprint answers the demo golden set's review nodes by rules
from the recorded tool data (docs/rails.md), so a `review: true` suite over
datasets/edd_demo runs in seconds without any LLM; its model entry is never called.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from evals.run.runner import RunOptions, run_suite
from evals.run.suite import load_suite
from evals.store.workspace import Workspace
from labeling_app.queues.models import QueueItem, ReviewQueue
from labeling_app.queues.review_items import create_review_queue
from labeling_app.queues.review_work import decide_node
from labeling_app.queues.service import Decision, QueueService

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""Tests drive the clock from here."""

DEMO_SET = Path(__file__).resolve().parents[1] / "datasets" / "edd_demo"

SUITE = """\
name: tmpl
dataset: {dataset}
agent: edd_template
models:
  - {{alias: none, model: openai/none, params: {{api_base: 'http://127.0.0.1:9/v1'}}}}
prompts: {prompts}
review: true
review_modes: [free]
limit: {limit}
limits: {{lanes: 2}}
"""


def write_review_run(root: Path, limit: int = 3, prompts: int = 1) -> tuple[Path, str]:
    """Run ``limit`` reviews of the demo set (free mode) with ``prompts`` prompt versions
    into ``root/ws``; returns the workspace folder and the run id."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "p.md").write_text("prompt\n")
    names = {"v1": "p.md"}
    for i in range(2, prompts + 1):
        (root / f"p{i}.md").write_text(f"prompt {i}\n")
        names[f"v{i}"] = f"p{i}.md"
    listed = "{" + ", ".join(f"{k}: {v}" for k, v in names.items()) + "}"
    (root / "suite.yaml").write_text(SUITE.format(dataset=DEMO_SET, limit=limit, prompts=listed))
    ws = Workspace(root / "ws")
    result = run_suite(
        load_suite(root / "suite.yaml"),
        ws,
        RunOptions(progress=False),
        console=Console(file=io.StringIO()),
    )
    ws.close(compact=False)
    return root / "ws", result.run_ids[0]


def at(seconds: float) -> datetime:
    """T0 plus some seconds."""
    return T0 + timedelta(seconds=seconds)


def make_review_queue(ws: Workspace, run_id: str, **options: Any) -> ReviewQueue:
    """A queue of every review of the run (a sample of all), built at T0, seed 1."""
    defaults: dict[str, Any] = dict(name="reviews", created_by="lead", seed=1, now=T0)
    return create_review_queue(ws, source="sample", run_ids=[run_id], **{**defaults, **options})


def work_review(
    svc: QueueService,
    q: ReviewQueue,
    item: QueueItem,
    who: str,
    start: float,
    seconds: list[float],
    helpful: list[bool] | None = None,
) -> float:
    """Work through a review as the page does, on the driven clock: 'shown' with the
    first node, a heartbeat midway through each node, each node decided after its
    seconds (helpful as given, else yes; a control review answered). Returns the end."""
    t = start
    first = (item.nodes or [])[0].question_id
    svc.record_event(q.queue_id, item.item_id, who, "shown", at=at(t), data={"node": first})
    for i, (node, secs) in enumerate(zip(item.nodes or [], seconds, strict=True)):
        svc.record_event(
            q.queue_id, item.item_id, who, "heartbeat", at=at(t + secs / 2), data={"idle_s": 1.0}
        )
        t += secs
        if item.arm == "assisted":
            d = Decision(helpful=True if helpful is None else helpful[i], correctness="correct")
        else:
            d = Decision(corrected_answer=f"mine {i}")
        decide_node(svc, q.queue_id, item, node.question_id, who, d, now=at(t))
    return t
