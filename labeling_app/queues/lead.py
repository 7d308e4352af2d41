"""A lead's and a reviewer's corrections: adjudicating disagreements, editing labels.

Plain Python over the store (the pages and the CLI call it); records are described in
`labeling_app.queues.lead_records`. Both operations run under the queue's lock, as every
queue write does, so an edit's undo and new label land together for every reader.

**Resolved label of an item** (`resolved_items`): the latest adjudication when there
is one (source ``adjudicated``: the lead's label wins); otherwise the reviewers'
effective submissions when they agree on helpfulness and correctness (``single`` for
one reviewer, ``unanimous`` for several); otherwise ``split`` (no resolved value, and
the item is listed as a disagreement until a lead settles it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from evals.schema import Label, utcnow
from labeling_app.queues.lead_records import Adjudication, LabelEdit
from labeling_app.queues.service import QueueError, QueueService, append_durable, new_id, undo_label

Correctness = Literal["correct", "partly", "wrong"]
EDITABLE = ("helpful", "correctness", "corrected_answer", "comment")


@dataclass
class ItemLabels:
    """The effective submissions on one item and how it is resolved."""

    queue_id: str
    item_id: str
    trial_key: str | None
    case_id: str
    labels: list[Label] = field(default_factory=list)
    """Effective submissions, one per reviewer (the latest)."""
    adjudication: Adjudication | None = None
    """The latest adjudication, if any."""

    @property
    def split(self) -> bool:
        """Reviewers disagree on helpfulness or correctness."""
        return len({(lb.helpful, lb.correctness) for lb in self.labels}) > 1

    @property
    def source(self) -> Literal["adjudicated", "unanimous", "single", "split", "none"]:
        """How the resolved label was reached."""
        if self.adjudication is not None:
            return "adjudicated"
        if not self.labels:
            return "none"
        if self.split:
            return "split"
        return "single" if len(self.labels) == 1 else "unanimous"

    @property
    def helpful(self) -> bool | None:
        """Resolved helpfulness (None: split or unlabelled)."""
        if self.adjudication is not None:
            return self.adjudication.helpful
        return self.labels[0].helpful if self.labels and not self.split else None

    @property
    def correctness(self) -> str | None:
        """Resolved correctness (None: split or unlabelled)."""
        if self.adjudication is not None:
            return self.adjudication.correctness
        return self.labels[0].correctness if self.labels and not self.split else None


def effective_submits(labels: list[Label]) -> list[Label]:
    """Submissions not retracted, the latest per (queue, item, reviewer)."""
    retracted = {lb.retracts for lb in labels if lb.action == "undo" and lb.retracts}
    latest: dict[tuple[str, str, str], Label] = {}
    for lb in sorted(labels, key=lambda x: x.submitted_at):
        if lb.action == "submit" and lb.id not in retracted:
            latest[(lb.queue_id, lb.item_id, lb.reviewer)] = lb
    return list(latest.values())


def resolved_items(svc: QueueService) -> dict[tuple[str, str], ItemLabels]:
    """(queue id, item id) -> the item's effective submissions and resolution."""
    items: dict[tuple[str, str], ItemLabels] = {}
    for lb in effective_submits(svc.index.labels()):
        slot = items.setdefault(
            (lb.queue_id, lb.item_id),
            ItemLabels(lb.queue_id, lb.item_id, lb.trial_key, lb.case_id),
        )
        slot.labels.append(lb)
    for adj in sorted(svc.index.records("adjudication"), key=lambda a: a.at):
        slot = items.setdefault(
            (adj.queue_id, adj.item_id),
            ItemLabels(adj.queue_id, adj.item_id, adj.trial_key, adj.case_id),
        )
        slot.adjudication = adj
    return items


def disagreements(svc: QueueService, include_settled: bool = False) -> list[ItemLabels]:
    """Assisted items whose reviewers disagree (settled ones too when asked)."""
    found = [
        it
        for it in resolved_items(svc).values()
        if it.trial_key is not None and it.split and (include_settled or it.adjudication is None)
    ]
    return sorted(found, key=lambda it: (it.adjudication is not None, it.queue_id, it.item_id))


def adjudicate(
    svc: QueueService,
    queue_id: str,
    item_id: str,
    by: str,
    helpful: bool | None,
    correctness: Correctness | None,
    reason: str,
    now: datetime | None = None,
) -> Adjudication:
    """Record a lead's decision on an item (appended; the latest one wins)."""
    reason = (reason or "").strip()
    if not reason:
        raise QueueError("an adjudication needs a reason")
    if helpful is None:
        raise QueueError("say whether the answer was helpful")
    with svc.ws.lock(f"queue-{queue_id}"):
        item = svc.queue(queue_id).item(item_id)
        considered = resolved_items(svc).get((queue_id, item_id))
        record = Adjudication(
            id=new_id("adj"),
            queue_id=queue_id,
            item_id=item_id,
            trial_key=item.trial_key,
            case_id=item.case_id,
            by=by,
            helpful=helpful,
            correctness=correctness,
            reason=reason,
            labels=[lb.id for lb in considered.labels] if considered else [],
            at=now or utcnow(),
        )
        append_durable(svc.ws, "adjudication", record)
    return record


def _changes(old: Label, new: dict[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name in EDITABLE:
        if name not in new:
            continue
        value = new[name]
        if isinstance(value, str):
            value = value.strip() or None
        if value != getattr(old, name):
            out[name] = [getattr(old, name), value]
    return out


def _check_edit(old: Label, values: dict[str, Any]) -> None:
    if old.arm == "assisted" and "helpful" in values and values["helpful"] is None:
        raise QueueError("an agent answer's label must say whether it was helpful")
    if old.arm == "unassisted" and "corrected_answer" in values and not values["corrected_answer"]:
        raise QueueError("a control item's label must keep an answer")


def _edit_records(
    old: Label, changes: dict[str, list[Any]], by: str, reason: str, now: datetime
) -> tuple[Label, Label, LabelEdit]:
    """The undo of the old label, its replacement, and the record linking them."""
    undo = undo_label(old, now)
    values = {name: pair[1] for name, pair in changes.items()}
    replacement = old.model_copy(
        update={"id": new_id("label"), "submitted_at": now, "retracts": None, **values}
    )
    record = LabelEdit(
        id=new_id("edit"),
        queue_id=old.queue_id,
        item_id=old.item_id,
        reviewer=old.reviewer,
        by=by,
        old_label=old.id,
        undo_label=undo.id,
        new_label=replacement.id,
        changes=changes,
        reason=reason,
        at=now,
    )
    return undo, replacement, record


def edit_label(
    svc: QueueService,
    label_id: str,
    by: str,
    new: dict[str, Any],
    reason: str,
    may_edit_others: bool = False,
    now: datetime | None = None,
) -> LabelEdit:
    """Change a past submission: an undo label retracts it, a new label replaces it
    (same item, reviewer, shown time and handling time), and a `LabelEdit` links them.
    ``new`` holds the fields to change (helpful, correctness, corrected_answer,
    comment)."""
    reason = (reason or "").strip()
    if not reason:
        raise QueueError("an edit needs a reason")
    old = next((lb for lb in svc.index.labels() if lb.id == label_id), None)
    if old is None:
        raise QueueError(f"no label {label_id!r}")
    if old.reviewer != by and not may_edit_others:
        raise QueueError("you can edit only your own labels")
    with svc.ws.lock(f"queue-{old.queue_id}"):
        if old.id not in {lb.id for lb in effective_submits(svc.index.labels(old.queue_id))}:
            raise QueueError("this label was undone or edited since: reload and edit the latest")
        changes = _changes(old, new)
        if not changes:
            raise QueueError("nothing changed")
        _check_edit(old, {name: pair[1] for name, pair in changes.items()})
        undo, replacement, record = _edit_records(old, changes, by, reason, now or utcnow())
        append_durable(svc.ws, "label", undo)
        append_durable(svc.ws, "label", replacement)
        append_durable(svc.ws, "label_edit", record)
    svc.label_edited(old, replacement)
    return record


def history(svc: QueueService, reviewer: str) -> tuple[list[Label], dict[str, list[LabelEdit]]]:
    """A reviewer's effective submissions (newest first) and, per current label id, the
    chain of edits that led to it (oldest first)."""
    mine = [lb for lb in effective_submits(svc.index.labels()) if lb.reviewer == reviewer]
    edits = [e for e in svc.index.records("label_edit") if e.reviewer == reviewer]
    by_new: dict[str, LabelEdit] = {e.new_label: e for e in edits}
    chains: dict[str, list[LabelEdit]] = defaultdict(list)
    for lb in mine:
        current = lb.id
        while current in by_new:
            chains[lb.id].insert(0, by_new[current])
            current = by_new[current].old_label
    return sorted(mine, key=lambda lb: lb.submitted_at, reverse=True), dict(chains)
