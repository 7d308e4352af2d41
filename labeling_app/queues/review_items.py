"""Whole reviews in a queue: building review items, deciding their nodes, node timing.

A whole-review item is one `QueueItem` with ``review_id`` and ``nodes`` set: one
subject (a review of a review run, `Trial.review.review_id`) answered by one model and
prompt, its nodes in the questions' DAG order (`evals.dataset.review_dag.question_order`). The
queue's claims, leases, overlap and control arm work on the review item exactly as on a
single item, so k reviewers take a whole review each and a control review is worked
whole, with no agent answer on any node.

Records, all appended durably in the page's callbacks:

* a **node label** per node decided (`Label` with item id ``<review item>/<question>``,
  the node's case and trial), with the node's active seconds;
* a ``submit`` event on the node item when it is decided, and a ``shown`` event on the
  review item with ``data.node`` when the next node becomes current;
* the **review label** (`QueueService.decide` on the review item) when the last node is
  decided: it closes the claim; ``helpful`` is True when every node was rated helpful.

Handling time: the review's timing events (claim, shown, heartbeats, hidden/visible,
the final submit) are one timeline; the review's active time is
`labeling_app.metrics.timing.active_seconds` of it, and each active gap belongs to the node
that was current when it started (the latest ``shown`` with ``data.node``), so the
nodes' times add up to the review's.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from evals.analysis.rundata import REVIEW_CASE_PREFIX
from evals.dataset.golden import GoldenSet, load_golden_set
from evals.dataset.review_dag import question_order
from evals.schema import Label, ReviewEvent
from evals.store.query import query
from evals.store.rows import rows_as
from evals.store.workspace import Workspace
from labeling_app.metrics.timing import BREAK_KINDS, _is_activity
from labeling_app.queues.build import (
    QueueBuildError,
    QueueTrial,
    _members,
    build_queue,
    dataset_path_for,
    survivor_trials,
)
from labeling_app.queues.models import NODE_SEP, QueueItem, ReviewNode, ReviewQueue
from labeling_app.queues.service import append_durable

REVIEW_QUESTION = "(whole review)"
"""The question id of a review item (its nodes have the real ones)."""


class ReviewTrial(NamedTuple):
    """A trial that is a node of a review (a row of the ``trials`` view)."""

    key: str
    """The trial."""
    run_id: str
    """The run that recorded it."""
    case_id: str
    """Its case (a node of the review)."""
    question_id: str
    """Its question."""
    model_alias: str
    """The model that answered."""
    prompt: str
    """The prompt version."""
    review_id: str
    """The review it is a node of."""

    def as_queue_trial(self, key: str | None = None) -> QueueTrial:
        """The same trial as `build_queue` takes it (`key`: another key)."""
        return QueueTrial(
            key or self.key, self.run_id, self.case_id, self.question_id, self.model_alias,
            self.prompt,
        )  # fmt: skip


def review_trials(ws: Workspace, run_ids: list[str]) -> list[ReviewTrial]:
    """The runs' answered trials that are review nodes, with their review id."""
    if not run_ids:
        raise QueueBuildError("a review queue needs at least one run id (--run)")
    members, params = _members(run_ids)
    rows = query(
        ws,
        "SELECT key, run_id, case_id, question_id, model_alias, prompt, review FROM trials "
        f"WHERE status = 'ok' AND review IS NOT NULL AND {members} ORDER BY key",
        params,
    )
    for r in rows:
        link = r.pop("review")
        link = orjson.loads(link) if isinstance(link, str | bytes) else link
        r["review_id"] = link["review_id"]
    if not rows:
        raise QueueBuildError(
            f"run(s) {', '.join(run_ids)} have no review-node trials: build a review queue "
            "from a run of a `review: true` suite"
        )
    return rows_as(ReviewTrial, rows)


def group_reviews(
    trials: list[ReviewTrial], golden: GoldenSet
) -> dict[tuple[str, str, str], list[ReviewTrial]]:
    """(review id, model, prompt) -> its node trials in DAG order; only complete reviews
    (every case of the review answered) are kept: a reviewer rates a review whole."""
    order = {q: i for i, q in enumerate(question_order(golden.questions))}
    cases_of: dict[str, set[str]] = defaultdict(set)
    for c in golden.cases:
        if c.review:
            cases_of[c.review].add(c.id)
    groups: dict[tuple[str, str, str], list[ReviewTrial]] = defaultdict(list)
    for t in trials:
        groups[(t.review_id, t.model_alias, t.prompt)].append(t)
    complete = {}
    for key, nodes in sorted(groups.items()):
        if {t.case_id for t in nodes} == cases_of.get(key[0], set()) and len(nodes) == len(
            cases_of[key[0]]
        ):
            complete[key] = sorted(nodes, key=lambda t: order[t.question_id])
    return complete


def _control_reviews(reviews: list[str], n_assisted: int, share: float, seed: int) -> list[str]:
    """Review ids answered unassisted: ``round(n * s / (1 - s))``, at most one per review."""
    if share <= 0:
        return []
    wanted = round(n_assisted * share / (1.0 - share))
    pool = sorted(set(reviews))
    random.Random(f"control-reviews-{seed}").shuffle(pool)
    return sorted(pool[:wanted])


def build_review_queue(
    trials: list[ReviewTrial],
    golden: GoldenSet,
    *,
    control_share: float = 0.0,
    seed: int = 0,
    sample_size: int | None = None,
    **options: Any,
) -> ReviewQueue:
    """A queue of whole reviews over review-node trials (``options``: `build_queue`'s)."""
    if not 0.0 <= control_share < 1.0:
        raise QueueBuildError("control share must be in [0, 1)")
    groups = group_reviews(trials, golden)
    if not groups:
        raise QueueBuildError("no complete review among the trials (every node answered)")
    keys = sorted(groups)
    if sample_size is not None and sample_size < len(keys):
        keys = sorted(random.Random(seed).sample(keys, sample_size))
    # build_queue validates the options and makes one item per row; the rows here are
    # the reviews (their first node stands in until the item is turned into a review).
    # (key: the review's index, then its first trial's key, which the queue id hashes)
    firsts = [
        groups[k][0].as_queue_trial(key=f"{i}:{groups[k][0].key}") for i, k in enumerate(keys)
    ]
    base = build_queue(
        firsts, golden, control_share=0.0, seed=seed, sample_size=sample_size, **options
    )
    controls = _control_reviews([k[0] for k in keys], len(keys), control_share, seed)
    order = question_order(golden.questions)
    cases = {c.id: c for c in golden.cases}
    items: list[QueueItem] = []
    for it in base.items:
        review_id, model, prompt = keys[int(str(it.trial_key).split(":")[0])]
        nodes = [
            ReviewNode(question_id=t.question_id, case_id=t.case_id, trial_key=t.key)
            for t in groups[(review_id, model, prompt)]
        ]
        items.append(_as_review(it, review_id, nodes, "assisted"))
    items += _control_items(golden, order, controls, items[0])
    if base.shuffle:
        random.Random(f"order-{seed}").shuffle(items)
    items = [
        it.model_copy(update={"item_id": f"{base.queue_id}-{i:04d}", "position": i})
        for i, it in enumerate(items)
    ]
    used = {n.case_id for it in items for n in it.nodes or []}
    return base.model_copy(
        update={
            "items": items,
            "control_share": control_share,
            "cases": {c: cases[c] for c in sorted(used)},
            "questions": {
                q: golden.questions[q]
                for q in order
                if any(cases[c].question_id == q for c in used)
            },
        }
    )


def _control_items(
    golden: GoldenSet, order: list[str], review_ids: list[str], template: QueueItem
) -> list[QueueItem]:
    """An unassisted item per control review: its cases in question order (``order``),
    the rest of the item as ``template``'s."""
    out = []
    for review_id in review_ids:
        own = sorted(
            (c for c in golden.cases if c.review == review_id),
            key=lambda c: order.index(c.question_id),
        )
        nodes = [ReviewNode(question_id=c.question_id, case_id=c.id) for c in own]
        out.append(_as_review(template, review_id, nodes, "unassisted"))
    return out


def _as_review(item: QueueItem, review_id: str, nodes: list[ReviewNode], arm: str) -> QueueItem:
    assisted = arm == "assisted"
    return item.model_copy(
        update={
            "arm": arm,
            "case_id": REVIEW_CASE_PREFIX + review_id,
            "question_id": REVIEW_QUESTION,
            "trial_key": None,
            "run_id": item.run_id if assisted else None,
            "model_alias": item.model_alias if assisted else None,
            "prompt": item.prompt if assisted else None,
            "review_id": review_id,
            "nodes": nodes,
        }
    )


def create_review_queue(
    ws: Workspace,
    *,
    source: str,
    run_ids: list[str],
    dataset: str | Path | None = None,
    sample_size: int | None = None,
    seed: int = 0,
    **options: Any,
) -> ReviewQueue:
    """Select the runs' reviews (survivors: no node failed by the cascade; sample: a
    seeded sample of ``sample_size`` reviews), build the queue and write it."""
    trials = review_trials(ws, run_ids)
    golden = load_golden_set(dataset_path_for(ws, run_ids, dataset))
    if source == "survivors":
        kept = {t.key for t in survivor_trials(ws, run_ids)}
        failed = {(t.review_id, t.model_alias, t.prompt) for t in trials if t.key not in kept}
        trials = [t for t in trials if (t.review_id, t.model_alias, t.prompt) not in failed]
        if not trials:
            raise QueueBuildError(
                "every review has a node the judge cascade failed: build the queue from a "
                "sample of reviews (--sample N)"
            )
    queue = build_review_queue(
        trials, golden, source=source, run_ids=run_ids, seed=seed, sample_size=sample_size,
        **options,
    )  # fmt: skip
    append_durable(ws, "queue", queue)
    return queue


# --------------------------------------------------------------------- node timing


def node_seconds(
    events: Iterable[ReviewEvent], first_node: str, threshold_s: float
) -> dict[str, float]:
    """Active seconds per node of a review's timeline: each active gap (as in
    `labeling_app.metrics.timing.active_seconds`) counts for the node current when it started
    (the latest ``shown`` with ``data.node``; the first node before any, and after an
    ``undo``)."""
    timeline = sorted((e for e in events if _is_activity(e, threshold_s)), key=lambda e: e.at)
    out: dict[str, float] = defaultdict(float)
    current = first_node
    for before, after in pairwise(timeline):
        if before.kind == "shown" and isinstance(before.data.get("node"), str):
            current = before.data["node"]
        elif before.kind == "undo":  # the review re-opened: its nodes start over
            current = first_node
        if before.kind in BREAK_KINDS:
            continue
        gap = (after.at - before.at).total_seconds()
        if 0 < gap <= threshold_s:
            out[current] += gap
    return dict(out)


def node_of(item_id: str) -> tuple[str, str] | None:
    """(review item id, question id) of a node item id, None for other items."""
    parent, sep, question_id = item_id.rpartition(NODE_SEP)
    return (parent, question_id) if sep else None


def nodes_done(labels: Iterable[Label], item: QueueItem, reviewer: str) -> dict[str, Label]:
    """The reviewer's node labels of this review since their last review-level label
    (an undone or earlier pass starts the review over)."""
    mine = [lb for lb in labels if lb.reviewer == reviewer]
    cutoff = max((lb.submitted_at for lb in mine if lb.item_id == item.item_id), default=None)
    done: dict[str, Label] = {}
    for lb in sorted(mine, key=lambda lb: lb.submitted_at):
        found = node_of(lb.item_id)
        fresh = cutoff is None or lb.submitted_at > cutoff
        if found and found[0] == item.item_id and lb.action == "submit" and fresh:
            done[found[1]] = lb
    return done
