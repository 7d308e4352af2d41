"""tau-bench (v1) results: a JSON list of ``{task_id, trial, reward, info, traj}``.

Shapes (sierra-research/tau-bench ``EnvRunResult``): ``traj`` is the agent's chat in the
OpenAI format (system prompt = the domain wiki; assistant ``tool_calls`` with
``function.arguments`` as a JSON string; ``tool`` results with ``tool_call_id``), or
for the ``act``/``react`` strategies plain text turns ("Action: {json}" answered by a
user turn "API output: ..."), which are converted to tool calls here. ``info.task`` holds
the task (``user_id``, expected ``actions`` with ``kwargs``, ``instruction``,
``outputs``), ``info.reward_info`` the evaluation, ``info.user_cost`` the simulator's
cost; a run that raised has ``info.error`` and an empty ``traj``.

The file does not name the model, so ``--model`` is required. Case id = task id;
repetition = ``trial``; the system prompt is the prompt (its hash the prompt hash). A
result that raised is recorded as an infrastructure error (tau-bench already retried it;
what is left is mostly provider faults), so comparisons leave it out rather than count
it as the model's failure; its recorded reward 0 stays on the trial and its verdict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from evals.importers.common import (
    ImportBatch,
    ImportFormatError,
    ImportOptions,
    ImportProblem,
    file_sha256,
    load_json_file,
    register_importer,
    slug,
    validate_into,
)
from evals.importers.formats.messages import trace_from_messages
from evals.importers.golden_export import attach_golden
from evals.importers.trials import RunContext, import_agent, outcome_label, outcome_verdict
from evals.schema import Case, CaseInput, ModelSpec, Question, Trace, TrialError, content_hash
from evals.store.workspace import Workspace

FORMAT = "tau-bench"
QUESTION = "tau-bench"


class TauResult(BaseModel):
    """One ``EnvRunResult``."""

    model_config = ConfigDict(extra="allow")

    task_id: str
    trial: int = 0
    reward: float
    info: dict[str, Any] = {}
    traj: list[dict[str, Any]] = []

    @field_validator("task_id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("traj")
    @classmethod
    def _roles(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, m in enumerate(value):
            if m.get("role") not in ("system", "user", "assistant", "tool"):
                raise ValueError(f"message {i}: role {m.get('role')!r} is not a chat role")
        return value


@register_importer(FORMAT, "tau-bench results JSON: a list of {task_id, trial, reward, info, traj}")
def parse_tau(path: Path, options: ImportOptions, ws: Workspace) -> ImportBatch:
    """Parse a tau-bench results file into a run (every problem listed, nothing written)."""
    data = load_json_file(path)
    file = str(path)
    if not isinstance(data, list):
        raise ImportFormatError(
            [
                ImportProblem(
                    file,
                    "top level",
                    None,
                    f"expected a list of results, got {type(data).__name__}",
                )
            ]
        )
    problems: list[ImportProblem] = []
    if not options.model_alias:
        problems.append(
            ImportProblem(
                file, "top level", "model", "tau-bench results do not name the model: pass --model"
            )
        )
    results: list[TauResult] = []
    seen: dict[tuple[str, int], int] = {}
    for i, raw in enumerate(data):
        tid = raw.get("task_id") if isinstance(raw, dict) else None
        where = f"record {i} (task_id {tid})"
        res = validate_into(TauResult, raw, file, where, problems)
        if res is None:
            continue
        if (res.task_id, res.trial) in seen:
            problems.append(
                ImportProblem(
                    file,
                    where,
                    "trial",
                    f"task {res.task_id} trial "
                    f"{res.trial} already in record {seen[res.task_id, res.trial]}",
                )
            )
        seen[res.task_id, res.trial] = i
        results.append(res)
    if not data:
        problems.append(ImportProblem(file, "top level", None, "no results"))
    if problems:
        raise ImportFormatError(problems)
    return _build(path, options, results, ws.root)


def _build(path: Path, options: ImportOptions, results: list[TauResult], root: Path) -> ImportBatch:
    batch = ImportBatch(FORMAT, path, file_sha256(path))
    alias = options.model_alias or ""
    model = ModelSpec(alias=alias, model=alias)
    cases = _cases(results)
    ctx = RunContext(
        run_id=options.run_id or f"import-tau-{slug(alias)}-{batch.sha256[:8]}",
        dataset=options.dataset or "tau-bench",
        dataset_hash=content_hash([cases[k].model_dump(mode="json") for k in sorted(cases)]),
        agent=import_agent(FORMAT, batch.sha256),
    )
    system = next((m.get("content") for r in results for m in r.traj if m["role"] == "system"), "")
    prompt = (
        options.prompt or ("tau-bench-wiki" if system else "recorded"),
        content_hash({"system": system or ""}),
    )
    for res in results:
        meta = {
            "format": FORMAT,
            "user_cost": res.info.get("user_cost"),
            "reward_info": res.info.get("reward_info"),
            "source": res.info.get("source"),
        }
        trial = ctx.trial(
            cases[res.task_id], model, prompt, res.trial, _trace(res, alias), res.reward, meta
        )
        batch.trials.append(trial)
        batch.verdicts.append(outcome_verdict(trial, res.reward, _reason(res)))
    question = Question(
        id=QUESTION,
        title="tau-bench task",
        rubric="Do what the user asks as the domain policy requires: the "
        "right database changes and the requested information.",
    )
    batch.cases = ctx.cases(cases.values(), {QUESTION: question})
    batch.run = ctx.manifest(
        batch,
        [model],
        [prompt[0]],
        max(r.trial for r in results) + 1,
        attach_golden(batch, root, [question]),
    )
    passed = sum(outcome_label(r.reward) == "pass" for r in results)
    batch.summary.append(
        f"{len(results)} results of {len(cases)} tasks as '{alias}': "
        f"{passed}/{len(results)} passed (reward >= 1)"
    )
    return batch


def _cases(results: list[TauResult]) -> dict[str, Case]:
    """Cases from ``info.task`` (a result that raised borrows its task from another trial)."""
    cases: dict[str, Case] = {}
    for res in sorted(results, key=lambda r: "task" not in r.info):
        task = res.info.get("task")
        if res.task_id in cases:
            continue
        if not isinstance(task, dict):
            first_user = next((m.get("content") for m in res.traj if m["role"] == "user"), "")
            cases[res.task_id] = Case(
                id=res.task_id,
                question_id=QUESTION,
                input=CaseInput(question=str(first_user or "")),
                reference="",
                tags={"source": FORMAT},
            )
            continue
        actions = [a for a in task.get("actions") or [] if isinstance(a, dict)]
        cases[res.task_id] = Case(
            id=res.task_id,
            question_id=QUESTION,
            input=CaseInput(
                question=str(task.get("instruction") or ""),
                subject={"user_id": task.get("user_id")},
            ),
            reference="\n".join(
                f"{a.get('name')}({json.dumps(a.get('kwargs') or {})})" for a in actions
            ),
            key_facts=[str(o) for o in task.get("outputs") or []],
            required_tools=list(
                dict.fromkeys(str(a.get("name")) for a in actions if a.get("name") != "respond")
            ),
            tags={"source": FORMAT},
        )
    return cases


def _trace(res: TauResult, alias: str) -> Trace:
    traj = res.traj
    if not any(m.get("tool_calls") for m in traj) and any(
        m["role"] == "assistant" and "Action:" in str(m.get("content") or "") for m in traj
    ):
        traj = react_to_tool_calls(traj)
    trace = trace_from_messages(traj, alias)
    if "error" in res.info:
        trace.error = TrialError(
            kind="infra", code="exception", message=str(res.info["error"])[:2000]
        )
    return trace


def react_to_tool_calls(traj: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """tau-bench's text agents (act/react) as tool calls: "Action: {name, arguments}"
    becomes a call, the next "API output: ..." user turn its result, and a ``respond``
    action the assistant's text."""
    out: list[dict[str, Any]] = []
    pending: str | None = None
    for i, m in enumerate(traj):
        content = str(m.get("content") or "")
        if m["role"] == "assistant" and "Action:" in content:
            thought, _, action_text = content.partition("Action:")
            try:
                action = json.loads(action_text.strip())
            except json.JSONDecodeError:
                out.append(m)
                continue
            name = str(action.get("name")) if isinstance(action, dict) else "unknown"
            args = action.get("arguments") if isinstance(action, dict) else None
            args = args if isinstance(args, dict) else {}
            if name == "respond":
                out.append({"role": "assistant", "content": str(args.get("content", ""))})
            else:
                pending = f"react-{i}"
                out.append(
                    {
                        "role": "assistant",
                        "content": thought.strip() or None,
                        "tool_calls": [{"id": pending, "name": name, "arguments": args}],
                    }
                )
        elif m["role"] == "user" and pending and content.startswith("API output:"):
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": pending,
                    "content": content.removeprefix("API output:").strip(),
                }
            )
            pending = None
        else:
            out.append(m)
    return out


def _reason(res: TauResult) -> str:
    parts = [f"tau-bench reward {res.reward:g}"]
    if "error" in res.info:
        parts.append(f"the run raised: {str(res.info['error'])[:300]}")
    reward_info = res.info.get("reward_info") or {}
    detail = reward_info.get("info") if isinstance(reward_info, dict) else None
    if isinstance(detail, dict):
        if "r_actions" in detail:
            parts.append(f"database check r_actions={detail['r_actions']:g}")
        outputs = detail.get("outputs")
        if isinstance(outputs, dict):
            missing = [k for k, ok in outputs.items() if not ok]
            if missing:
                parts.append("outputs not given: " + ", ".join(missing))
    return "; ".join(parts)
