"""The data model: one pydantic model per serialized thing.

Every record the harness writes (trials with their traces, verdicts, labels, review
events, decisions) is one of these models. `evals schema` writes their JSON Schemas so
that other tools (and auditors) can validate the workspace's files.

Field docstrings (the string literal under each field) become the JSON Schema
descriptions, so they are written for a reader of the files, not of the code.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    """Timezone-aware now; every timestamp in the store is UTC."""
    return datetime.now(UTC)


def canonical_json(value: Any) -> bytes:
    """Key-order and whitespace independent JSON: the input to every content hash."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def content_hash(value: Any, length: int = 16) -> str:
    """Stable short sha256 of a JSON-able value (models are dumped in JSON mode first)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return hashlib.sha256(canonical_json(value)).hexdigest()[:length]


class Record(BaseModel):
    """Base of every serialized model: unknown fields are errors, docstrings are kept."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


# --------------------------------------------------------------------------- golden set


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


# --------------------------------------------------------------------------- what is replayed


class ModelSpec(Record):
    """A model configuration; `alias` is what suites and reports call it."""

    alias: str
    """Name used in suites and reports, e.g. 'local-smollm2-t0'."""
    model: str
    """litellm model string, e.g. 'openai/smollm2' or 'anthropic/claude-...'."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Request parameters (temperature, max_tokens, api_base, ...). Never secrets."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key; the key itself is never stored."""
    supports_tools: bool = False
    """Native tool calling; otherwise agents use JSON actions under constrained decoding."""
    max_concurrency: int = 32
    """Requests in flight to this model at once (per model, so one cannot starve another)."""
    rpm: int | None = None
    """Requests-per-minute limit."""
    tpm: int | None = None
    """Tokens-per-minute limit."""
    timeout_s: float = 600.0
    """Per-request timeout; minutes are normal for slow agents."""
    max_retries: int = 4
    """Retries on 429 (honouring Retry-After), 5xx, timeouts and connection errors."""
    fallbacks: list[str] = Field(default_factory=list)
    """Aliases tried in order when this model still fails after its retries."""

    def spec_hash(self) -> str:
        """Identity of the configuration: what changes answers. The alias, limits,
        timeouts, retries and fallbacks are operational and excluded."""
        return content_hash({"model": self.model, "params": self.params})


class PromptVersion(Record):
    """A prompt file; its content hash is part of every trial's identity."""

    name: str
    """Version name, e.g. 'v1'."""
    path: str
    """File it was read from, relative to the suite."""
    sha256: str
    """Content hash of the file's text."""
    text: str
    """The prompt text."""


class AgentSpec(Record):
    """Which agent runs: a registered name or 'module:function', with its parameters."""

    name: str
    """Registry name (e.g. 'react') or an import path 'package.module:function'."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Agent parameters (max_steps, mode, timeouts, ...)."""


class Usage(Record):
    """Token and cost accounting; cached input tokens are kept apart."""

    input_tokens: int = 0
    """Prompt tokens billed at the full rate (excluding cached ones)."""
    cached_input_tokens: int = 0
    """Prompt tokens served from the provider's prompt cache."""
    output_tokens: int = 0
    """Completion tokens."""
    cost_usd: float = 0.0
    """Cost in USD (0 for local models)."""
    calls: int = 0
    """Number of LLM calls."""
    cache_hits: int = 0
    """Calls answered by the harness's own response cache (no provider call made)."""

    def add(self, other: Usage) -> Usage:
        """Sum of two usages."""
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            calls=self.calls + other.calls,
            cache_hits=self.cache_hits + other.cache_hits,
        )


# --------------------------------------------------------------------------- traces


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


# --------------------------------------------------------------------------- judging


class Verdict(Record):
    """One judge's decision on one trial."""

    key: str
    """Trial key + judge spec hash: judging is exactly-once like trials."""
    trial_key: str
    """Trial judged."""
    run_id: str
    """Run of the trial."""
    judge: str
    """Judge name."""
    judge_version: str
    """Content hash of the judge's spec and prompt."""
    stage: int | None = None
    """Cascade stage index, when judged in a cascade."""
    label: Literal["pass", "fail", "abstain"]
    """The decision."""
    score: float | None = None
    """Score in [0, 1] when the judge gives one."""
    confidence: float | None = None
    """Confidence in [0, 1] (from log-probabilities or the judge's stated probability)."""
    reason: str = ""
    """Why; names the evidence. Untrusted text when written by an LLM."""
    error: str | None = None
    """Set when the judge failed (then label is 'abstain')."""
    infra_error: bool = False
    """The judge could not be reached (a gateway error after its retries, or its
    timeout), as opposed to answering unusably. Such a verdict is provisional: the next
    `evals judge` of the run judges the trial again, and the retry's verdict replaces it
    (the `verdicts` view prefers it). On a final verdict: a stage abstained this way."""
    raw_label: Literal["pass", "fail", "abstain"] | None = None
    """The judge's own label before its confidence threshold turned a low-confidence
    decision into 'abstain' (None when no threshold applied); calibration reads it."""
    usage: Usage = Field(default_factory=Usage)
    """The judge's own tokens and cost. Zero on a cascade's final verdict: the stage
    verdicts carry the cost, so summing over verdicts counts it once."""
    latency_s: float = 0.0
    """Time the judge took."""
    created_at: datetime = Field(default_factory=utcnow)
    """When the verdict was recorded."""


# --------------------------------------------------------------------------- human review


class Label(Record):
    """One reviewer's decision on one review item."""

    id: str
    """Unique label id."""
    queue_id: str
    """Review queue."""
    item_id: str
    """Queue item."""
    trial_key: str | None = None
    """Trial reviewed (None for unassisted control items)."""
    case_id: str
    """Case of the item."""
    reviewer: str
    """Reviewer id."""
    arm: Literal["assisted", "unassisted"] = "assisted"
    """'unassisted': a control item answered without the agent's answer."""
    action: Literal["submit", "skip", "flag", "undo"] = "submit"
    """What the reviewer did; 'undo' retracts the label named in `retracts`."""
    helpful: bool | None = None
    """Was the agent's answer helpful (required for assisted submissions)."""
    correctness: Literal["correct", "partly", "wrong"] | None = None
    """Correctness of the agent's answer."""
    corrected_answer: str | None = None
    """The reviewer's own or corrected answer."""
    comment: str | None = None
    """Free comment, or the reason for a skip or flag."""
    retracts: str | None = None
    """For action 'undo': the id of the label retracted."""
    shown_at: datetime | None = None
    """When the item was first shown."""
    submitted_at: datetime = Field(default_factory=utcnow)
    """When the decision was submitted."""
    active_seconds: float | None = None
    """Active handling time at submission (idle gaps over the threshold removed)."""
    idle_threshold_s: float = 60.0
    """Idle threshold used for active_seconds; raw events allow recomputing."""


class ReviewEvent(Record):
    """A raw timing or workflow event from the labeling app."""

    id: str
    """Unique event id."""
    queue_id: str
    """Review queue."""
    item_id: str
    """Queue item."""
    reviewer: str
    """Reviewer id."""
    kind: Literal["claim", "shown", "heartbeat", "hidden", "visible", "submit", "skip",
                  "flag", "undo", "release"]
    """Event kind."""
    at: datetime = Field(default_factory=utcnow)
    """When it happened."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Event details."""


# --------------------------------------------------------------------------- decisions


class GateCheck(Record):
    """One threshold of a gate and the number it was compared with."""

    metric: str
    """Metric name, e.g. 'helpful_lower_bound'."""
    scope: str = "overall"
    """'overall' or a question id."""
    value: float | None
    """Observed value (None when there was no data)."""
    threshold: float
    """Configured threshold."""
    comparator: Literal[">=", "<=", ">", "<"]
    """How value is compared with threshold."""
    outcome: Literal["pass", "fail", "undecided"]
    """Result of this check."""
    n: int = 0
    """Sample size behind the value."""
    low: float | None = None
    """Lower confidence bound, when there is one."""
    high: float | None = None
    """Upper confidence bound, when there is one."""
    n_needed: int | None = None
    """Cases needed to decide, when undecided."""
    detail: str = ""
    """Explanation in words."""
    trial_keys: list[str] = Field(default_factory=list)
    """Trials behind the number (for tracing a figure to its evidence)."""


class Decision(Record):
    """A ship gate's outcome, with every number and threshold behind it."""

    id: str
    """Decision id."""
    gate: str
    """Gate file or name."""
    gate_hash: str
    """Content hash of the gate configuration."""
    run_id: str
    """Candidate run."""
    baseline_run_id: str | None = None
    """Baseline run, for non-inferiority and regressions."""
    outcome: Literal["ship", "fail", "undecided"]
    """Overall outcome."""
    checks: list[GateCheck] = Field(default_factory=list)
    """Every check behind the outcome."""
    created_at: datetime = Field(default_factory=utcnow)
    """When the decision was made."""
    decided_by: str = "evals gate"
    """Who or what made the decision."""
    run_ref: str | None = None
    """The candidate as selected, 'RUN[:MODEL[:PROMPT]]' (a run may hold several
    model/prompt cells; the gate judged only the one named)."""
    baseline_ref: str | None = None
    """The baseline as selected, same form as run_ref."""
    summary: str = ""
    """The outcome in words, e.g. 'undecided: about 40 more cases needed'."""
    n_more_needed: int | None = None
    """When undecided: about how many more cases would let the gate decide."""
    gate_config: dict[str, Any] = Field(default_factory=dict)
    """The gate as loaded (thresholds, confidence, outcome source), so the decision
    stands on its own without the YAML file."""


RECORD_MODELS: dict[str, type[Record]] = {
    "case": Case,
    "question": Question,
    "dataset": DatasetManifest,
    "run": RunManifest,
    "trial": Trial,
    "verdict": Verdict,
    "label": Label,
    "event": ReviewEvent,
    "decision": Decision,
}
"""Models whose JSON Schema `evals schema` writes, by name."""
