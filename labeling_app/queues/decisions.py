"""A reviewer's decision on a queue item and the labels it makes: the form's content
(:class:`Decision`), the rules it must meet (:func:`validate`), the label recorded
(:func:`label_of`, with the active time from the item's events) and the label an undo
appends (:func:`undo_label`). Plain functions, shared by the file-locked
(`labeling_app.queues.service`) and PostgreSQL (`labeling_app.queues.pg`) services.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from evals.errors import RefusedError
from evals.schema import Label, ReviewEvent, utcnow
from labeling_app.metrics.timing import active_seconds
from labeling_app.queues.models import QueueItem, ReviewQueue


class QueueError(RefusedError):
    """An operation the queue's rules refuse; the message is shown to the user."""


def new_id(prefix: str) -> str:
    """A unique record id."""
    return f"{prefix}-{utcnow().strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(5)}"


@dataclass
class Decision:
    """What a reviewer decided on an item (the form's content)."""

    action: Literal["submit", "skip", "flag"] = "submit"
    helpful: bool | None = None
    correctness: Literal["correct", "partly", "wrong"] | None = None
    corrected_answer: str | None = None
    comment: str | None = None


def undo_label(label: Label, now: datetime) -> Label:
    """The label that retracts `label` (an undo carries no rating and no time)."""
    return label.model_copy(
        update={
            "id": new_id("label"),
            "action": "undo",
            "retracts": label.id,
            "helpful": None,
            "correctness": None,
            "corrected_answer": None,
            "comment": None,
            "submitted_at": now,
            "active_seconds": None,
        }
    )


def label_of(
    q: ReviewQueue,
    item: QueueItem,
    reviewer: str,
    decision: Decision,
    now: datetime,
    events: Sequence[ReviewEvent],
) -> Label:
    """The label a decision records; ``events``: the reviewer's events on the item (its
    active time runs from them to ``now``)."""
    shown = [e.at for e in events if e.kind in ("shown", "claim")]
    final = ReviewEvent(
        id="pending",
        queue_id=q.queue_id,
        item_id=item.item_id,
        reviewer=reviewer,
        kind=decision.action,
        at=now,
    )
    return Label(
        id=new_id("label"),
        queue_id=q.queue_id,
        item_id=item.item_id,
        trial_key=item.trial_key,
        case_id=item.case_id,
        reviewer=reviewer,
        arm=item.arm,
        action=decision.action,
        helpful=decision.helpful if item.arm == "assisted" else None,
        correctness=decision.correctness if item.arm == "assisted" else None,
        corrected_answer=_clean(decision.corrected_answer),
        comment=_clean(decision.comment),
        shown_at=min(shown) if shown else None,
        submitted_at=now,
        active_seconds=round(active_seconds([*events, final], q.idle_threshold_s), 3),
        idle_threshold_s=q.idle_threshold_s,
    )


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def validate(item: QueueItem, d: Decision) -> None:
    """Refuse (QueueError, shown to the reviewer) a decision the form must not send."""
    if d.action == "flag" and not _clean(d.comment):
        raise QueueError("a flag needs a reason")
    if d.action != "submit":
        return
    if item.arm == "assisted" and d.helpful is None:
        raise QueueError("say whether the answer was helpful (yes or no) before submitting")
    if item.arm == "unassisted" and not _clean(d.corrected_answer):
        raise QueueError("write your answer before submitting (this is a control item)")
