"""What is decided about trials: judges' verdicts, reviewers' labels and events, gates."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from evals.schema._base import Record, utcnow
from evals.schema.replay import Usage


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
    judge_kind: str | None = None
    """The registered judge that decided (e.g. 'key_facts', or a 'package.module:Class'
    path); None on a cascade's final verdict and on imported outcomes."""
    judge_params: dict[str, Any] | None = None
    """The params the judge ran with (defaults filled in for class-based judges)."""
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
    crashed: bool = False
    """The judge raised (a bug, a missing plugin file) instead of deciding: an error,
    counted apart from honest abstentions (label is 'abstain', the error in `error`).
    Provisional like infra_error: the next `evals judge` asks again. On a final verdict:
    a stage abstained this way."""
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
    kind: Literal[
        "claim",
        "shown",
        "heartbeat",
        "hidden",
        "visible",
        "submit",
        "skip",
        "flag",
        "undo",
        "release",
    ]
    """Event kind."""
    at: datetime = Field(default_factory=utcnow)
    """When it happened."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Event details."""


# --------------------------------------------------------------------------- decisions


class TrialSelection(Record):
    """The trials behind a figure, as the selection that finds them again (not a list of
    keys: a decision over a million trials stays small; evals.analysis.evidence lists them)."""

    run_ref: str
    """The run as selected, 'RUN[:MODEL[:PROMPT]]': its trials (own and reused)."""
    question: str | None = None
    """Only this question's trials (None: every question)."""
    where: Literal["all", "outcome", "priced", "reviewed", "labels", "paired"] = "all"
    """Which of them: all; with an outcome (the decision's outcome source); with a known
    cost; the helpfulness units (reviewed, or judge-failed with base 'candidates');
    those of the timed assisted labels; with an outcome in a case paired with the other run."""
    count: int = 0
    """How many trials the selection held when the figure was computed."""


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
    """Trials behind the number, as listed by decisions recorded before `evidence`
    (empty now: evidence.where selects them)."""
    evidence: list[TrialSelection] = Field(default_factory=list)
    """The trials behind the number, by selection (a non-inferiority check: one per run)."""
    estimate: float | None = None
    """The point estimate behind the check when `value` is a bound of it (the helpful
    rate of a lower-bound check), else None."""
    simulated: bool = False
    """Built on simulated reviewers' labels (sim:*, asked for with --include-simulated)."""


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
    caveats: list[str] = Field(default_factory=list)
    """What a reader must know about the numbers (simulated labels, unknown costs)."""
    gate_config: dict[str, Any] = Field(default_factory=dict)
    """The gate as loaded (thresholds, confidence, outcome source), so the decision
    stands on its own without the YAML file."""
