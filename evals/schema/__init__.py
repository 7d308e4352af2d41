"""The data model: one pydantic model per serialized thing.

Every record the harness writes (trials with their traces, verdicts, labels, review
events, decisions) is one of these models. `evals schema` writes their JSON Schemas so
that other tools (and auditors) can validate the workspace's files.

Field docstrings (the string literal under each field) become the JSON Schema
descriptions, so they are written for a reader of the files, not of the code.

Modules: ``dataset`` (golden sets), ``replay`` (models, prompts, agents, usage), ``trace``
(traces, trials, runs), ``review`` (verdicts, labels, events, gate decisions); every
name is re-exported here, so ``from evals.schema import Trial`` is the API.
"""

from evals.schema._base import Record, canonical_json, content_hash, utcnow
from evals.schema.dataset import (
    Case,
    CaseInput,
    DatasetManifest,
    GateThresholds,
    Question,
    ToolFixture,
    ToolSpec,
)
from evals.schema.replay import AgentSpec, ModelSpec, PromptVersion, Usage
from evals.schema.review import (
    Decision,
    GateCheck,
    Label,
    ReviewEvent,
    TrialSelection,
    Verdict,
)
from evals.schema.trace import (
    ErrorStep,
    FinalAnswerStep,
    Message,
    ModelCallStep,
    NodeStep,
    ReviewLink,
    RunManifest,
    Step,
    ThoughtStep,
    ToolCallStep,
    Trace,
    Trial,
    TrialError,
    UpstreamLink,
    trial_key,
)

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

__all__ = [
    "RECORD_MODELS",
    "AgentSpec",
    "Case",
    "CaseInput",
    "DatasetManifest",
    "Decision",
    "ErrorStep",
    "FinalAnswerStep",
    "GateCheck",
    "GateThresholds",
    "Label",
    "Message",
    "ModelCallStep",
    "ModelSpec",
    "NodeStep",
    "PromptVersion",
    "Question",
    "Record",
    "ReviewEvent",
    "ReviewLink",
    "RunManifest",
    "Step",
    "ThoughtStep",
    "ToolCallStep",
    "ToolFixture",
    "ToolSpec",
    "Trace",
    "Trial",
    "TrialError",
    "TrialSelection",
    "UpstreamLink",
    "Usage",
    "Verdict",
    "canonical_json",
    "content_hash",
    "trial_key",
    "utcnow",
]
