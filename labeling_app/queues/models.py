"""Records of the labeling app: review queues, their settings, and claims.

Labels and timing events use `evals.schema.Label` and `evals.schema.ReviewEvent`; the
records here describe the work itself. All are append-only like every other record:

* ``queue`` (`ReviewQueue`): a frozen snapshot of what is to be reviewed: its items in
  their (seeded) order, the cases and questions they come from, and the review design
  (overlap, blinding, control share, lease, idle threshold).
* ``queue_setting`` (`QueueSetting`): a lead's change to a queue (show the judges'
  verdicts, close it); the latest per queue wins.
* ``claim`` (`Claim`): a reviewer taking an item (``claim``), keeping it (``renew``) or
  giving it back (``release``). A claim holds one of the item's k slots until its lease
  runs out; claims are written under ``Workspace.lock(queue lock)`` so that two reviewers
  never take the last slot of an item at once, in one process or many.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from evals.schema import Case, Question, Record, utcnow
from evals.store.query import ViewSpec, register_view

Arm = Literal["assisted", "unassisted"]

NODE_SEP = "/"
"""A review node's item id is its review item's id, this, and the node's question id."""


class ReviewNode(Record):
    """One node (question) of a whole-review item, in the review's DAG order."""

    question_id: str
    """The node's question."""
    case_id: str
    """The review's case of that question."""
    trial_key: str | None = None
    """The trial answering it (None for control reviews, or when the run has none)."""


class QueueItem(Record):
    """One thing to review: a trial (assisted) or a case without the agent (unassisted)."""

    item_id: str
    """Unique within the workspace (queue id + position)."""
    position: int
    """Place in the queue's order (seeded shuffle when the queue is shuffled)."""
    arm: Arm = "assisted"
    """'unassisted': a control item; the reviewer answers the case without the agent."""
    case_id: str
    """Case reviewed."""
    question_id: str
    """Question the case answers."""
    trial_key: str | None = None
    """Trial reviewed (None for control items)."""
    run_id: str | None = None
    """Run of the trial."""
    model_alias: str | None = None
    """Model of the trial (hidden from reviewers when the queue is blind)."""
    prompt: str | None = None
    """Prompt version of the trial (hidden from reviewers when the queue is blind)."""
    review_id: str | None = None
    """For a whole-review item: the review (subject) worked through on one page."""
    nodes: list[ReviewNode] | None = None
    """For a whole-review item: its nodes in DAG order (None: a single item)."""

    def node_item(self, question_id: str) -> QueueItem:
        """A node of this whole-review item as an item of its own (its labels' item)."""
        for node in self.nodes or []:
            if node.question_id == question_id:
                return self.model_copy(
                    update={
                        "item_id": f"{self.item_id}{NODE_SEP}{question_id}",
                        "case_id": node.case_id,
                        "question_id": question_id,
                        "trial_key": node.trial_key,
                        "nodes": None,
                    }
                )
        raise KeyError(f"{self.item_id}{NODE_SEP}{question_id}")


class ReviewQueue(Record):
    """A review queue: what reviewers work on and how (one immutable record)."""

    queue_id: str
    """Queue id."""
    name: str
    """Name shown to reviewers."""
    created_by: str
    """Lead who built it."""
    created_at: datetime = Field(default_factory=utcnow)
    """When it was built."""
    source: Literal["survivors", "sample"]
    """'survivors': trials the judge cascade did not fail; 'sample': a sample of trials."""
    run_ids: list[str] = Field(default_factory=list)
    """Runs the trials were taken from (empty: every run, for samples)."""
    sample_size: int | None = None
    """For 'sample': how many trials were drawn (None: all)."""
    seed: int = 0
    """Seed of the sample, the control-item choice and the shuffle."""
    overlap: int = 1
    """k: reviewers per item (k > 1 gives agreement statistics)."""
    blind: bool = True
    """Hide model and prompt (and the system prompt in traces) from reviewers."""
    shuffle: bool = True
    """Random (seeded) order; otherwise by question, case, model, prompt."""
    control_share: float = 0.0
    """Share of the queue's items that are unassisted control items."""
    lease_s: float = 1200.0
    """Seconds a claim holds an item without activity before it returns to the pool."""
    idle_threshold_s: float = 60.0
    """Gaps between timing events longer than this are idle, not handling time."""
    show_verdicts: bool = False
    """Show the judges' verdicts to reviewers (initial value; settings may change it)."""
    dataset: str
    """Golden-set name."""
    dataset_path: str | None = None
    """Golden-set folder the cases were read from."""
    dataset_hash: str | None = None
    """Content hash of the golden set when the queue was built."""
    cases: dict[str, Case] = Field(default_factory=dict)
    """Snapshot of the cases reviewed, by id (what reviewers saw, kept for the audit)."""
    questions: dict[str, Question] = Field(default_factory=dict)
    """Snapshot of their questions, by id."""
    items: list[QueueItem] = Field(default_factory=list)
    """The items, in queue order."""
    description: str = ""
    """Free text from the lead."""

    def item(self, item_id: str) -> QueueItem:
        """An item by id (a whole review's node too: ``<review item id>/<question id>``)."""
        for it in self.items:
            if it.item_id == item_id:
                return it
        parent, sep, question_id = item_id.rpartition(NODE_SEP)
        if sep:
            for it in self.items:
                if it.item_id == parent and it.nodes is not None:
                    return it.node_item(question_id)
        raise KeyError(item_id)


class QueueSetting(Record):
    """A lead's change to a queue's settings; the latest record per queue wins."""

    id: str
    """Unique record id."""
    queue_id: str
    """Queue changed."""
    show_verdicts: bool | None = None
    """Show the judges' verdicts to reviewers (None: unchanged)."""
    closed: bool | None = None
    """Closed queues hand out no new items (None: unchanged)."""
    by: str
    """Who changed it."""
    at: datetime = Field(default_factory=utcnow)
    """When."""


class Claim(Record):
    """A reviewer taking, keeping or giving back an item of a queue."""

    id: str
    """Unique record id."""
    queue_id: str
    """Queue."""
    item_id: str
    """Item."""
    reviewer: str
    """Reviewer id."""
    action: Literal["claim", "renew", "release"] = "claim"
    """'claim' takes a slot, 'renew' extends the lease, 'release' gives the slot back."""
    at: datetime = Field(default_factory=utcnow)
    """When."""
    lease_until: datetime | None = None
    """The slot is held until then unless renewed (None for releases)."""
    reason: str | None = None
    """Why it was released (skip, flag, undo, expired, ...)."""


register_view(ViewSpec("queue", "queues", ReviewQueue, key="queue_id"))
register_view(ViewSpec("queue_setting", "queue_settings", QueueSetting, key="id"))
register_view(ViewSpec("claim", "claims", Claim, key="id"))
