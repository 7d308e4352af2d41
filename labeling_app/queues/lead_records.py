"""Records of a lead's and a reviewer's corrections: adjudications and label edits.

Both are append-only, hash-chained records like every other (``records/<kind>/``):

* ``adjudication`` (`Adjudication`): a lead settles an item its reviewers disagreed
  on. The lead's decision is the item's resolved label (it wins over the reviewers'
  labels, which stay as they were: agreement statistics are computed on them), recorded
  with who, when, why, and which labels were weighed. A later adjudication of the same
  item replaces an earlier one (both are kept).
* ``label_edit`` (`LabelEdit`): a reviewer changed one of their past labels. The edit
  itself is written as labels every reader already understands: an ``undo`` label
  retracting the old one and a new ``submit`` label with the new values (same item,
  reviewer and handling time); this record links the two with the reason and the
  fields changed, so the audit shows every version and who changed what.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from evals.schema import Record, utcnow
from evals.store.query import ViewSpec, register_view


class Adjudication(Record):
    """A lead's decision on an item whose reviewers disagreed."""

    id: str
    """Unique record id."""
    queue_id: str
    """Queue of the item."""
    item_id: str
    """Item adjudicated."""
    trial_key: str | None = None
    """Trial of the item (None for control items)."""
    case_id: str
    """Case of the item."""
    by: str
    """Lead who decided."""
    helpful: bool | None = None
    """The resolved helpfulness."""
    correctness: Literal["correct", "partly", "wrong"] | None = None
    """The resolved correctness."""
    reason: str
    """Why (required)."""
    labels: list[str] = Field(default_factory=list)
    """Ids of the reviewers' labels the lead weighed."""
    at: datetime = Field(default_factory=utcnow)
    """When."""


class LabelEdit(Record):
    """A reviewer's change to one of their past labels."""

    id: str
    """Unique record id."""
    queue_id: str
    """Queue of the label."""
    item_id: str
    """Item of the label."""
    reviewer: str
    """Owner of the label."""
    by: str
    """Who edited it (the reviewer, or a lead)."""
    old_label: str
    """Label id edited (retracted by the undo label `undo_label`)."""
    undo_label: str
    """Id of the undo label that retracted the old label."""
    new_label: str
    """Id of the label that replaces it."""
    changes: dict[str, Any] = Field(default_factory=dict)
    """Field -> [old value, new value], for the fields that changed."""
    reason: str
    """Why (required)."""
    at: datetime = Field(default_factory=utcnow)
    """When."""


register_view(ViewSpec("adjudication", "adjudications", Adjudication, key="id"))
register_view(ViewSpec("label_edit", "label_edits", LabelEdit, key="id"))
