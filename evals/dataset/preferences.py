"""Pairwise preference records: a human's choice between two answers, and a pairwise
judge's choice in one presentation order.

A pairwise judge is only trusted when it agrees with people and when its choice does
not depend on which answer it saw first, so each judgment records the order it was
made in; `judges.pairwise_eval` pairs the two orders of an item and compares the
result with the human choices. Record kinds: ``preference`` and ``pairwise_judgment``
(views ``preferences`` and ``pairwise_judgments``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from evals.schema import Record, Usage, content_hash, utcnow
from evals.store.query import ViewSpec, register_view

Choice = Literal["A", "B", "tie"]
Order = Literal["AB", "BA"]


class PairwisePreference(Record):
    """One person's choice between answer A and answer B to the same prompt."""

    id: str
    """Record id (item, annotator and source line)."""
    item_id: str
    """The compared pair: the source's id, else a hash of prompt and both answers."""
    prompt: str
    """What both answers respond to."""
    answer_a: str
    """Answer A (untrusted text)."""
    answer_b: str
    """Answer B (untrusted text)."""
    choice: Choice
    """Which answer the person preferred, or 'tie'."""
    annotator: str | None = None
    """Who chose (None when the source does not say)."""
    model_a: str | None = None
    """Model that wrote answer A, when known."""
    model_b: str | None = None
    """Model that wrote answer B, when known."""
    source: str = ""
    """File (and line) the record was imported from."""
    created_at: datetime = Field(default_factory=utcnow)
    """When the record was written."""


class PairwiseJudgment(Record):
    """A pairwise judge's decision on one item in one presentation order."""

    key: str
    """Hash of item, judge, judge version and order: each order is judged once."""
    item_id: str
    """The compared pair (PairwisePreference.item_id)."""
    judge: str
    """Judge name."""
    judge_version: str
    """Judge version (content hash of spec and prompt, or the source's label)."""
    presentation: Order
    """'AB': answer A was shown first; 'BA': answer B was shown first."""
    winner: Choice
    """The preferred answer in terms of the original labels (not positions), or 'tie'."""
    confidence: float | None = None
    """The judge's confidence in [0, 1], when it gave one."""
    reason: str = ""
    """The judge's reason (untrusted text)."""
    error: str | None = None
    """Set when the judge failed on this order (then winner is 'tie')."""
    usage: Usage = Field(default_factory=Usage)
    """The judge's tokens and cost for this order."""
    source: Literal["import", "run"] = "run"
    """'import': recorded elsewhere and imported; 'run': judged by this harness."""
    created_at: datetime = Field(default_factory=utcnow)
    """When the judgment was recorded."""


def judgment_key(item_id: str, judge: str, judge_version: str, order: Order) -> str:
    """Key of one judge's judgment of one item in one order."""
    return content_hash(
        {"item": item_id, "judge": judge, "version": judge_version, "order": order}, length=24
    )


def item_id_of(prompt: str, answer_a: str, answer_b: str) -> str:
    """Default item id: the content of the pair."""
    return content_hash({"prompt": prompt, "a": answer_a, "b": answer_b})


register_view(ViewSpec("preference", "preferences", PairwisePreference, key="id"))
register_view(ViewSpec("pairwise_judgment", "pairwise_judgments", PairwiseJudgment, key="key"))
