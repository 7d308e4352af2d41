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


Step = Annotated[
    ModelCallStep | ThoughtStep | ToolCallStep | FinalAnswerStep | ErrorStep,
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


def trial_key(
    case_hash: str, agent: AgentSpec, model: ModelSpec, prompt_hash: str, repetition: int
) -> str:
    """Identity of a trial: same inputs, same key, whatever run or machine computes it."""
    return content_hash(
        {
            "case": case_hash,
            "agent": agent.model_dump(mode="json"),
            "model": model.spec_hash(),
            "prompt": prompt_hash,
            "rep": repetition,
        },
        length=24,
    )


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
