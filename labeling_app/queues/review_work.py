"""Working through a whole review: the current node, node decisions, the review's close.

Called from the Whole review page's callbacks (and from tests with a driven clock).
Each node decision is on disk (fsync'd) when `decide_node` returns; deciding the last
node also writes the review label through `QueueService.decide`, which closes the
reviewer's claim on the review item under the queue's lock (see
`labeling_app.queues.review_items` for the records and the timing rules).
"""

from __future__ import annotations

from datetime import datetime

from evals.schema import Label, ReviewEvent, utcnow
from labeling_app.queues.models import QueueItem
from labeling_app.queues.review_items import node_seconds, nodes_done
from labeling_app.queues.service import Decision, QueueError, QueueService, append_durable, new_id

WORST = ("wrong", "partly", "correct")
"""A review's correctness is its worst node's."""


def current_node(svc: QueueService, queue_id: str, item: QueueItem, reviewer: str) -> str | None:
    """The first node (DAG order) the reviewer has not decided in this pass (None: all)."""
    with svc.live(queue_id) as live:
        done = nodes_done(live.labels, item, reviewer)
    return next((n.question_id for n in item.nodes or [] if n.question_id not in done), None)


def done_nodes(
    svc: QueueService, queue_id: str, item: QueueItem, reviewer: str
) -> dict[str, Label]:
    """The reviewer's node labels of this pass over the review, by question id."""
    with svc.live(queue_id) as live:
        return nodes_done(live.labels, item, reviewer)


def _check(item: QueueItem, d: Decision) -> None:
    if item.arm == "assisted" and d.helpful is None:
        raise QueueError("say whether the answer was helpful (yes or no) before submitting")
    if item.arm == "unassisted" and not (d.corrected_answer or "").strip():
        raise QueueError("write your answer before submitting (this is a control review)")


def decide_node(
    svc: QueueService,
    queue_id: str,
    item: QueueItem,
    question_id: str,
    reviewer: str,
    decision: Decision,
    now: datetime | None = None,
) -> tuple[Label, Label | None]:
    """Record the reviewer's decision on one node; on the last node, close the review.

    Returns (node label, review label or None while nodes remain)."""
    if item.nodes is None:
        raise QueueError(f"item {item.item_id} is not a whole review")
    node = item.node_item(question_id)
    _check(node, decision)
    now = now or utcnow()
    if svc.holding(queue_id, reviewer, now) != item:
        raise QueueError(
            "your claim on this review ran out and it went to another reviewer; "
            "nothing was recorded (copy your notes before moving on)"
        )
    already = done_nodes(svc, queue_id, item, reviewer)
    if question_id in already:
        return already[question_id], None  # a double click: the first decision stands
    expected = current_node(svc, queue_id, item, reviewer)
    if expected != question_id:
        raise QueueError(f"this review's current node is {expected}, not {question_id}")
    q = svc.queue(queue_id)
    with svc.live(queue_id, now) as live:
        events = live.events(item.item_id, reviewer)
        done = nodes_done(live.labels, item, reviewer)
    first = item.nodes[0].question_id
    seconds = node_seconds([*events, _closing(svc, item, reviewer, now)], first, q.idle_threshold_s)
    shown = [e.at for e in events if e.kind == "shown" and e.data.get("node") == question_id]
    label = Label(
        id=new_id("label"),
        queue_id=queue_id,
        item_id=node.item_id,
        trial_key=node.trial_key,
        case_id=node.case_id,
        reviewer=reviewer,
        arm=node.arm,
        action="submit",
        helpful=decision.helpful if node.arm == "assisted" else None,
        correctness=decision.correctness if node.arm == "assisted" else None,
        corrected_answer=(decision.corrected_answer or "").strip() or None,
        comment=(decision.comment or "").strip() or None,
        shown_at=min(shown) if shown else None,
        submitted_at=now,
        active_seconds=round(seconds.get(question_id, 0.0), 3),
        idle_threshold_s=q.idle_threshold_s,
    )
    append_durable(svc.ws, "label", label)
    svc.record_event(
        queue_id, node.item_id, reviewer, "submit", at=now,
        data={"label_id": label.id, "review_item": item.item_id},
    )  # fmt: skip
    svc.renew(queue_id, item.item_id, reviewer, now)
    order = [n.question_id for n in item.nodes]
    following = order[order.index(question_id) + 1 :]
    if following:
        svc.record_event(queue_id, item.item_id, reviewer, "shown", at=now,
                         data={"node": following[0]})  # fmt: skip
        return label, None
    return label, _close_review(svc, queue_id, item, reviewer, {**done, question_id: label}, now)


def _closing(svc: QueueService, item: QueueItem, reviewer: str, now: datetime) -> ReviewEvent:
    """The review's submit-to-be: it ends the last gap of the node being decided."""
    return ReviewEvent(
        id="pending", queue_id="", item_id=item.item_id, reviewer=reviewer, kind="submit", at=now
    )


def _close_review(
    svc: QueueService,
    queue_id: str,
    item: QueueItem,
    reviewer: str,
    labels: dict[str, Label],
    now: datetime,
) -> Label:
    """The review label: helpful when every node was rated helpful; correctness the
    worst node's; for a control review, the nodes' answers."""
    nodes = [labels[n.question_id] for n in item.nodes or []]
    if item.arm == "assisted":
        rated = [lb.correctness for lb in nodes if lb.correctness]
        decision = Decision(
            helpful=all(lb.helpful for lb in nodes),
            correctness=min(rated, key=WORST.index) if len(rated) == len(nodes) else None,
        )
    else:
        decision = Decision(
            corrected_answer="\n".join(
                f"{n.question_id}: {lb.corrected_answer}"
                for n, lb in zip(item.nodes or [], nodes, strict=True)
            )
        )
    return svc.decide(queue_id, item.item_id, reviewer, decision, now)
