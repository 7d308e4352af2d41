"""One trial before it runs: the matrix cell a lane turns into a recorded Trial."""

from __future__ import annotations

from dataclasses import dataclass, field

from evals.agents.base import UpstreamAnswer
from evals.schema import Case, ModelSpec, PromptVersion, ReviewLink


@dataclass(slots=True)
class TrialSpec:
    """One cell of the matrix, before it runs."""

    key: str
    case: Case
    case_hash: str
    model: ModelSpec
    prompt: PromptVersion
    repetition: int
    run_id: str | None = None
    """The run the trial is recorded under (None: the plan's; teacher-mode review
    nodes are recorded under their own run)."""
    review: ReviewLink | None = None
    """Review runs: the node's review, mode and upstream links."""
    upstream: list[UpstreamAnswer] = field(default_factory=list)
    """Review runs: the upstream answers given to the agent."""
