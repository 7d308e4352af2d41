"""The golden set: cases with their recorded tool observations, questions, the manifest."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from evals.schema._base import Record


class ToolSpec(Record):
    """A tool the agent may call; its calls are answered from recorded observations."""

    name: str
    """Tool name as the agent calls it."""
    description: str
    """What the tool does, shown to the model."""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    """JSON Schema of the tool's arguments."""
    live: bool = False
    """True when the team wants this tool called for real instead of replayed."""


class ToolFixture(Record):
    """One recorded tool call and what it returned when the case was recorded."""

    tool: str
    """Name of the tool called."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Arguments of the call; matched after normalisation (case, whitespace, key order)."""
    observation: Any
    """What the tool returned (any JSON value)."""


class CaseInput(Record):
    """What the agent is given."""

    question: str
    """The question of the review this case asks, in words."""
    subject: dict[str, Any] = Field(default_factory=dict)
    """The subject under review (e.g. the business: name, registration number, country)."""


IDENTITY_OPTIONAL: dict[str, tuple[str, ...]] = {
    "Case": ("review",),
    "Question": ("depends_on",),
}
"""Fields added after golden sets were first hashed: left out of a content hash while
unset, so a golden set that does not use them keeps its identity (and its runs' ids)."""


def identity_dump(record: Record) -> dict[str, Any]:
    """The JSON form a content hash is computed from (see IDENTITY_OPTIONAL)."""
    data = record.model_dump(mode="json")
    for name in IDENTITY_OPTIONAL.get(type(record).__name__, ()):
        if data.get(name) in (None, [], {}):
            data.pop(name, None)
    return data


class Case(Record):
    """One golden-set item: a question asked about one subject, with its expected answer."""

    id: str
    """Unique id within the golden set."""
    question_id: str
    """Which question (node of the review) this case answers."""
    input: CaseInput
    """The question and the subject given to the agent."""
    reference: str
    """The expected answer, written as a reviewer would."""
    key_facts: list[str] = Field(default_factory=list)
    """Facts a correct answer must state."""
    forbidden: list[str] = Field(default_factory=list)
    """Claims a correct answer must not make (e.g. a near-miss name reported as a match)."""
    rubric: str | None = None
    """Case-specific rubric; the question's rubric applies when empty."""
    required_tools: list[str] = Field(default_factory=list)
    """Tools the agent must call to answer this case properly."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Free tags: jurisdiction, risk tier, ..."""
    fixtures: list[ToolFixture] = Field(default_factory=list)
    """The recorded world: observations for the tool calls of this case."""
    review: str | None = None
    """The review (one subject) this case is a node of: cases sharing it form one review,
    one case per question, run in the questions' dependency order (`review: true` suites)."""


class GateThresholds(Record):
    """Per-question launch thresholds (all optional; absent means not gated)."""

    min_helpful_lower_bound: float | None = None
    """Minimum Wilson 95% lower bound of the helpful rate."""
    min_judge_pass_rate: float | None = None
    """Minimum share of trials that pass the judge cascade."""
    max_handling_time_ratio: float | None = None
    """Maximum assisted/unassisted ratio of geometric mean handling time."""
    max_cost_per_trial: float | None = None
    """Maximum mean cost per trial in USD."""
    max_p95_latency_s: float | None = None
    """Maximum 95th percentile trial latency in seconds."""
    noninferiority_margin: float | None = None
    """Margin (absolute rate) a candidate may trail its baseline by and still ship."""

    def problems(self) -> list[tuple[str, str]]:
        """Out-of-range thresholds as (key, 'must be ..., got v'); empty when all are
        fine. Checked where thresholds are loaded (gate files, questions.yaml), so each
        problem is reported at its own line."""
        out = []
        for key in ("min_helpful_lower_bound", "min_judge_pass_rate"):
            v = getattr(self, key)
            if v is not None and not 0.0 < v < 1.0:
                out.append((key, f"must be in (0, 1), got {v}"))
        m = self.noninferiority_margin
        if m is not None and not 0.0 <= m < 1.0:
            out.append(("noninferiority_margin", f"must be in [0, 1), got {m}"))
        for key in ("max_handling_time_ratio", "max_cost_per_trial", "max_p95_latency_s"):
            v = getattr(self, key)
            if v is not None and v <= 0:
                out.append((key, f"must be > 0, got {v}"))
        return out


class Question(Record):
    """The unit of launch: one node of the human review."""

    id: str
    """Stable id, referenced by cases."""
    title: str
    """Short title shown to reviewers."""
    rubric: str
    """What a helpful, correct answer does; shown to reviewers and LLM judges."""
    required_tools: list[str] = Field(default_factory=list)
    """Tools every case of this question is expected to call."""
    answer_schema: dict[str, Any] | None = None
    """JSON Schema a structured final answer must satisfy (checked by the answer_schema
    judge); None when the answer is free text."""
    gate: GateThresholds = Field(default_factory=GateThresholds)
    """Launch thresholds for this question."""
    depends_on: list[str] = Field(default_factory=list)
    """Questions whose answers this one uses as context (the review DAG's edges): in a
    review run, their answers (the agent's own, or the references in teacher mode) are
    given to this question's agent."""


class DatasetManifest(Record):
    """`dataset.yaml`: what a golden set is and which tools its agents may use."""

    name: str
    """Golden-set name (its folder name)."""
    description: str = ""
    """What the set covers."""
    version: str = "1"
    """Human version label; the content hash is the real identity."""
    license: str = ""
    """Licence of the data and where it came from."""
    tools: list[ToolSpec] = Field(default_factory=list)
    """Tools the agent may call."""
