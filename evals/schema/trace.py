"""What a replay records: traces (messages, model calls, tool calls), trials, runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from evals.schema._base import Record, content_hash, utcnow
from evals.schema.replay import AgentSpec, ModelSpec, Usage


class Message(Record):
    """One chat message as sent to or received from the model."""

    role: Literal["system", "user", "assistant", "tool"]
    """Chat role."""
    content: str | None = None
    """Text content."""
    tool_calls: list[dict[str, Any]] | None = None
    """Native tool calls requested by the assistant (OpenAI format)."""
    tool_call_id: str | None = None
    """For tool messages: the call this answers."""
    name: str | None = None
    """For tool messages: the tool's name."""


class ModelCallStep(Record):
    """One LLM call made by the agent."""

    kind: Literal["model_call"] = "model_call"
    """Step kind."""
    model: str
    """Model alias called."""
    usage: Usage = Field(default_factory=Usage)
    """Tokens and cost of this call."""
    latency_s: float = 0.0
    """Wall time of the call."""
    output: str | None = None
    """Raw text the model returned."""
    error: str | None = None
    """Error when the call failed."""


class ThoughtStep(Record):
    """The agent's stated reasoning before acting."""

    kind: Literal["thought"] = "thought"
    """Step kind."""
    text: str
    """The thought."""


class ToolCallStep(Record):
    """A tool call with its arguments and the observation that came back."""

    kind: Literal["tool_call"] = "tool_call"
    """Step kind."""
    tool: str
    """Tool name."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Arguments as the agent gave them."""
    observation: Any = None
    """What the tool returned (recorded fixture, live result, or the no-match notice)."""
    matched: bool = True
    """False when no recorded observation matched the call."""
    live: bool = False
    """True when the tool was called for real rather than replayed."""
    call_id: str | None = None
    """Native tool-call id, when the model gave one."""
    latency_s: float = 0.0
    """Time spent answering the call."""
    requestor: Literal["agent", "user"] = "agent"
    """Who made the call: the agent, or the user (a simulated user with its own tools,
    as in tau2-bench's telecom domain); only the agent's count as its tool calls."""


class FinalAnswerStep(Record):
    """The agent's final answer."""

    kind: Literal["final_answer"] = "final_answer"
    """Step kind."""
    text: str
    """The answer."""


class ErrorStep(Record):
    """Something went wrong during the trial."""

    kind: Literal["error"] = "error"
    """Step kind."""
    error_kind: str
    """Category, e.g. 'infra:rate_limit', 'agent:max_steps', 'agent:bad_action'."""
    message: str
    """What happened (never contains secrets)."""


class NodeStep(Record):
    """One node of a blueprint (a workflow defined in code): what kind of step ran, on
    what, and what it gave. The model calls and tool calls the node made follow it in
    the trace (``inner_steps`` of them), so a reader sees each node's own work."""

    kind: Literal["node"] = "node"
    """Step kind."""
    node: str
    """The node's name within its blueprint."""
    node_kind: Literal["lookup", "parse", "rule", "llm", "agent"]
    """'lookup': a tool call with arguments derived in code; 'parse' and 'rule':
    deterministic code; 'llm': one bounded LLM call; 'agent': an agentic loop."""
    inputs: dict[str, Any] = Field(default_factory=dict)
    """What the node was given (arguments, earlier nodes' outputs it used), as JSON."""
    output: Any = None
    """What the node produced (JSON)."""
    inner_steps: int = 0
    """How many of the following steps (model calls, tool calls) this node made."""
    latency_s: float = 0.0
    """Wall time of the node."""
    usage: Usage = Field(default_factory=Usage)
    """Tokens and cost of the node's LLM calls (zero for deterministic nodes)."""
    error: str | None = None
    """Why the node failed, when it did."""


Step = Annotated[
    ModelCallStep | ThoughtStep | ToolCallStep | FinalAnswerStep | ErrorStep | NodeStep,
    Field(discriminator="kind"),
]


class TrialError(Record):
    """Why a trial did not produce an answer; infrastructure and agent failures kept apart."""

    kind: Literal["infra", "agent"]
    """'infra': provider or harness fault; 'agent': the agent itself failed."""
    code: str
    """Short code: rate_limit, server_error, timeout, malformed, connection, max_steps, ..."""
    message: str
    """Human-readable detail."""


class UpstreamLink(Record):
    """One upstream answer a review node was given."""

    question_id: str
    """The upstream question."""
    case_id: str | None = None
    """Its case in the same review (None when the review has no case of it)."""
    trial_key: str | None = None
    """In free mode: the upstream trial whose answer was used (None: no such trial)."""
    source: Literal["agent", "reference", "missing"]
    """'agent': the agent's own answer (free mode); 'reference': the golden reference
    (teacher mode); 'missing': the upstream node has no answer (failed or absent)."""


class ReviewLink(Record):
    """Where a trial sits in a review run: its review, mode and what it consumed."""

    review_id: str
    """The review (subject) the case is a node of."""
    mode: Literal["free", "teacher"]
    """'free': upstream answers are the agent's own, as in production; 'teacher':
    upstream answers are the golden references (error propagation is the difference)."""
    upstream: list[UpstreamLink] = Field(default_factory=list)
    """The upstream answers this node was given, in dependency order."""


class Trace(Record):
    """The audit trail of one trial: everything the agent saw and did."""

    messages: list[Message] = Field(default_factory=list)
    """The full conversation, in order."""
    steps: list[Step] = Field(default_factory=list)
    """Model calls, thoughts, tool calls and the final answer, in order."""
    final_answer: str | None = None
    """The answer, if the agent produced one."""
    usage: Usage = Field(default_factory=Usage)
    """Totals over the trial's LLM calls."""
    latency_s: float = 0.0
    """Wall time of the whole trial."""
    unmatched_tool_calls: int = 0
    """Tool calls that found no recorded observation."""
    error: TrialError | None = None
    """Set when the trial failed."""

    def tool_calls(self) -> list[ToolCallStep]:
        """The tool-call steps, in order."""
        return [s for s in self.steps if isinstance(s, ToolCallStep)]


class Trial(Record):
    """One replay: (case, agent, model, prompt version, repetition) and its trace."""

    key: str
    """Stable hash of the identity fields; the runner never runs the same key twice."""
    run_id: str
    """Run this trial belongs to."""
    dataset: str
    """Golden-set name."""
    dataset_hash: str
    """Content hash of the golden set."""
    case_id: str
    """Case replayed."""
    case_hash: str
    """Content hash of the case (input, reference and fixtures)."""
    question_id: str
    """Question the case answers."""
    agent: AgentSpec
    """Agent that ran."""
    model: ModelSpec
    """Model configuration."""
    prompt: str
    """Prompt version name."""
    prompt_hash: str
    """Content hash of the prompt text."""
    repetition: int = 0
    """Repetition index, from 0."""
    status: Literal["ok", "error"] = "ok"
    """'error' when the trial produced no answer (see trace.error)."""
    trace: Trace = Field(default_factory=Trace)
    """Full trace."""
    started_at: datetime = Field(default_factory=utcnow)
    """When the trial started."""
    finished_at: datetime = Field(default_factory=utcnow)
    """When the trial finished."""
    imported_outcome: float | None = None
    """For imported runs: the recorded reward/outcome (ground truth from the source)."""
    imported_meta: dict[str, Any] = Field(default_factory=dict)
    """For imported runs: source details kept verbatim for audit (e.g. tau2-bench's reward
    breakdown, termination reason and user-simulator cost); empty for replayed trials."""
    review: ReviewLink | None = None
    """For review runs: the review, the mode and the upstream trials consumed."""


def trial_key(
    case_hash: str,
    agent: AgentSpec,
    model: ModelSpec,
    prompt_hash: str,
    repetition: int,
    review: dict[str, Any] | None = None,
) -> str:
    """Identity of a trial: same inputs, same key, whatever run or machine computes it.

    `review` (review runs only) adds the mode and what the node's upstream answers are:
    the upstream trials' keys (free mode) or the upstream cases' hashes (teacher mode)."""
    identity: dict[str, Any] = {
        "case": case_hash,
        "agent": agent.model_dump(mode="json"),
        "model": model.spec_hash(),
        "prompt": prompt_hash,
        "rep": repetition,
    }
    if review is not None:
        identity["review"] = review
    return content_hash(identity, length=24)


class RunManifest(Record):
    """One `evals run` (or import): what was asked for."""

    run_id: str
    """Run id (also the folder name of the run's files)."""
    suite: str
    """Suite file, or the import source."""
    suite_hash: str
    """Content hash of the suite configuration."""
    dataset: str
    """Golden-set name."""
    dataset_hash: str
    """Content hash of the golden set."""
    models: list[ModelSpec] = Field(default_factory=list)
    """Model configurations in the matrix."""
    prompts: list[str] = Field(default_factory=list)
    """Prompt version names in the matrix."""
    agent: AgentSpec | None = None
    """Agent replayed."""
    repetitions: int = 1
    """Repetitions per cell."""
    config: dict[str, Any] = Field(default_factory=dict)
    """The suite as loaded (no secrets), so the run can be replayed."""
    source: Literal["run", "import"] = "run"
    """How the trials came to be."""
    started_at: datetime = Field(default_factory=utcnow)
    """When the run started."""
