"""Generic JSONL: one recorded trial per line, from any harness.

Fields of a line (unknown fields are errors, so a typo is caught rather than dropped)::

    case_id        required  the case (trials of one case id are paired across runs)
    input          required  the question as text, or {"question": ..., "subject": {...}}
    output                   the final answer (default: the last assistant message)
    messages                 the conversation in the OpenAI chat format (tool calls and
                             tool results become trace steps)
    reward | outcome         the recorded result: a number (pass when >= 1), or
                             "pass"/"fail"/true/false (give one of them, or neither)
    model                    model name (or --model for the whole file)
    prompt                   prompt version name (alias prompt_version; default 'recorded')
    repetition               repetition index (default: 0, 1, ... per case, model, prompt)
    question_id              question the case answers (default 'imported')
    reference, key_facts, required_tools   what a correct answer contains (for judges)
    usage                    {input_tokens, output_tokens, cached_input_tokens, cost_usd}
    cost_usd, latency_s      totals, when usage is not itemised
    error                    the trial failed with this message (no answer)
    started_at, finished_at  ISO timestamps
    metadata                 anything else, kept verbatim on the trial
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from evals.importers.common import (
    ImportBatch,
    ImportFormatError,
    ImportOptions,
    ImportProblem,
    file_sha256,
    parse_time,
    register_importer,
    slug,
    validate_into,
)
from evals.importers.formats.messages import trace_from_messages
from evals.importers.golden_export import attach_golden
from evals.importers.trials import RunContext, import_agent, outcome_verdict
from evals.schema import (
    Case,
    CaseInput,
    FinalAnswerStep,
    Message,
    ModelSpec,
    Question,
    Trace,
    TrialError,
    Usage,
    content_hash,
)
from evals.store.workspace import Workspace

FORMAT = "jsonl"


class JsonlTrial(BaseModel):
    """One line of a generic JSONL import."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    input: str | CaseInput
    output: str | None = None
    messages: list[dict[str, Any]] | None = None
    reward: float | None = None
    outcome: Literal["pass", "fail"] | bool | None = None
    model: str | None = None
    prompt: str | None = Field(None, validation_alias=AliasChoices("prompt", "prompt_version"))
    repetition: int | None = Field(None, ge=0)
    question_id: str = "imported"
    reference: str = ""
    key_facts: list[str] = []
    required_tools: list[str] = []
    usage: Usage | None = None
    cost_usd: float | None = None
    latency_s: float | None = None
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    metadata: dict[str, Any] = {}

    @field_validator("case_id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("messages")
    @classmethod
    def _roles(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        for i, m in enumerate(value or []):
            role = m.get("role")
            if role not in ("system", "developer", "user", "assistant", "tool", "function"):
                raise ValueError(f"message {i}: role {role!r} is not a chat role")
        return value

    def reward_value(self) -> float | None:
        """The outcome as a reward (1 pass, 0 fail), or None when not recorded."""
        if self.reward is not None:
            return self.reward
        if self.outcome is None:
            return None
        return 1.0 if self.outcome in (True, "pass") else 0.0


def read_jsonl(path: Path, problems: list[ImportProblem]) -> list[tuple[int, Any]]:
    """(line number, parsed value) for every non-blank line; bad lines become problems."""
    out = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(ImportProblem(str(path), f"byte {exc.start}", None, "not UTF-8 text"))
        return []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((n, json.loads(line)))
        except json.JSONDecodeError as exc:
            problems.append(
                ImportProblem(
                    str(path), f"line {n}", None, f"invalid JSON: {exc.msg} (column {exc.colno})"
                )
            )
    return out


@register_importer(FORMAT, "generic JSONL: one recorded trial per line")
def parse_jsonl(path: Path, options: ImportOptions, ws: Workspace) -> ImportBatch:
    """Parse a JSONL file of recorded trials into a run."""
    problems: list[ImportProblem] = []
    rows: list[tuple[int, JsonlTrial]] = []
    for n, raw in read_jsonl(path, problems):
        rec = validate_into(JsonlTrial, raw, str(path), f"line {n}", problems)
        if rec is None:
            continue
        if rec.reward is not None and rec.outcome is not None:
            problems.append(
                ImportProblem(str(path), f"line {n}", "outcome", "give reward or outcome, not both")
            )
        if rec.output is None and not rec.messages and not rec.error:
            problems.append(
                ImportProblem(
                    str(path), f"line {n}", "output", "missing (give output, messages or error)"
                )
            )
        if not (options.model_alias or rec.model):
            problems.append(
                ImportProblem(
                    str(path), f"line {n}", "model", "missing (or pass --model for the whole file)"
                )
            )
        rows.append((n, rec))
    cases = _cases(rows, str(path), problems)
    if not rows and not problems:
        problems.append(ImportProblem(str(path), "line 1", None, "no records"))
    if problems:
        raise ImportFormatError(problems)
    return _build(path, options, rows, cases, ws.root)


def _cases(
    rows: list[tuple[int, JsonlTrial]], file: str, problems: list[ImportProblem]
) -> dict[str, Case]:
    """One Case per case id; every line of a case must describe it the same way."""
    cases: dict[str, Case] = {}
    first: dict[str, int] = {}
    for n, rec in rows:
        question = rec.input if isinstance(rec.input, CaseInput) else CaseInput(question=rec.input)
        case = Case(
            id=rec.case_id,
            question_id=rec.question_id,
            input=question,
            reference=rec.reference,
            key_facts=rec.key_facts,
            required_tools=rec.required_tools,
            tags={"source": FORMAT},
        )
        if rec.case_id not in cases:
            cases[rec.case_id], first[rec.case_id] = case, n
        elif cases[rec.case_id] != case:
            problems.append(
                ImportProblem(
                    file,
                    f"line {n}",
                    "input",
                    f"case {rec.case_id} is described differently on line {first[rec.case_id]} "
                    "(input, question_id, reference, key_facts and required_tools must match)",
                )
            )
    return cases


def _build(
    path: Path,
    options: ImportOptions,
    rows: list[tuple[int, JsonlTrial]],
    cases: dict[str, Case],
    root: Path,
) -> ImportBatch:
    batch = ImportBatch(FORMAT, path, file_sha256(path))
    ctx = RunContext(
        run_id=options.run_id or f"import-jsonl-{slug(path.stem)}-{batch.sha256[:8]}",
        dataset=options.dataset or slug(path.stem),
        dataset_hash=content_hash([cases[k].model_dump(mode="json") for k in sorted(cases)]),
        agent=import_agent(FORMAT, batch.sha256),
    )
    models: dict[str, ModelSpec] = {}
    reps: dict[tuple[str, str, str], int] = {}
    for n, rec in rows:
        name = options.model_alias or rec.model or ""
        model = models.setdefault(name, ModelSpec(alias=name, model=rec.model or name))
        prompt = options.prompt or rec.prompt or "recorded"
        cell = (rec.case_id, name, prompt)
        rep = rec.repetition if rec.repetition is not None else reps.get(cell, 0)
        reps[cell] = rep + 1
        reward = rec.reward_value()
        meta = {"format": FORMAT, "line": n, **({"metadata": rec.metadata} if rec.metadata else {})}
        trial = ctx.trial(
            cases[rec.case_id],
            model,
            (prompt, content_hash({"prompt": prompt})),
            rep,
            _trace(rec, name),
            reward,
            meta,
            (parse_time(rec.started_at), parse_time(rec.finished_at)),
        )
        batch.trials.append(trial)
        if reward is not None:
            batch.verdicts.append(outcome_verdict(trial, reward, f"recorded outcome {reward:g}"))
    questions = {
        q: Question(id=q, title=q, rubric="(imported: no rubric recorded)")
        for q in sorted({c.question_id for c in cases.values()})
    }
    batch.cases = ctx.cases(cases.values(), questions)
    config = {
        "questions": sorted(questions),
        **attach_golden(batch, root, list(questions.values())),
    }
    batch.run = ctx.manifest(
        batch,
        list(models.values()),
        sorted({t.prompt for t in batch.trials}),
        max(reps.values()),
        config,
        min((t.started_at for t in batch.trials), default=None),
    )
    passed = sum(v.label == "pass" for v in batch.verdicts)
    batch.summary.append(
        f"{len(rows)} trials of {len(cases)} cases, {len(models)} model(s); "
        f"{len(batch.verdicts)} with a recorded outcome, {passed} passed"
    )
    return batch


def _trace(rec: JsonlTrial, model: str) -> Trace:
    question = rec.input if isinstance(rec.input, str) else rec.input.question
    if rec.messages:
        trace = trace_from_messages(rec.messages, model)
    else:
        trace = Trace(messages=[Message(role="user", content=question)])
        if rec.output is not None:
            trace.messages.append(Message(role="assistant", content=rec.output))
    if rec.output is not None and trace.final_answer != rec.output:
        trace.steps = [s for s in trace.steps if not isinstance(s, FinalAnswerStep)]
        trace.steps.append(FinalAnswerStep(text=rec.output))
        trace.final_answer = rec.output
    if rec.usage is not None:
        trace.usage = rec.usage
    if rec.cost_usd is not None:
        trace.usage.cost_usd = rec.cost_usd
    priced = rec.cost_usd is not None or (
        rec.usage is not None and "cost_usd" in rec.usage.model_fields_set
    )
    # No cost anywhere in the record: unknown, not free (reports and gates say so).
    trace.usage.cost_unknown = not priced and not trace.usage.cost_usd
    trace.latency_s = rec.latency_s or 0.0
    if rec.error:
        trace.error = TrialError(kind="agent", code="recorded_error", message=rec.error[:2000])
    return trace
