"""tau2-bench results: ``{timestamp, info, tasks, simulations}`` as tau2's ``run`` writes.

Shapes (tau2-bench, MIT, as in ../shared/data/tau2_retail):

* ``info``: ``agent_info.llm`` (the model) and ``llm_args``, ``user_info`` (the user
  simulator), ``environment_info.domain_name`` and ``.policy`` (the agent's policy),
  ``num_trials``, ``git_commit``, ``seed``.
* ``tasks[]``: ``id``, ``user_scenario.instructions`` (``reason_for_call``,
  ``known_info``, ...), ``evaluation_criteria`` (expected ``actions`` with ``name`` and
  ``arguments``; ``communicate_info``; ``reward_basis``).
* ``simulations[]``: ``task_id``, ``trial``, ``messages`` (``role`` assistant / user /
  tool; assistant ``tool_calls`` as ``{id, name, arguments}``; tool results as
  ``{id, role: tool, content, error}``; per-message ``usage``, ``cost``, ``errors``),
  ``reward_info.reward`` (+ ``db_check``, ``action_checks``, ``communicate_checks``,
  ``reward_breakdown``), ``agent_cost``, ``user_cost``, ``duration``, ``start_time``,
  ``end_time``, ``termination_reason``.

Mapping: one Trial per simulation; case id = task id; repetition = ``trial``; question =
the domain; the domain policy is the prompt (its hash the prompt hash) and the trace's
first, system message (tau2 wraps it in its own short instructions, not recorded here).
User-simulator turns are kept as user messages; their cost stays out of the trial's
usage (it is not the agent's) and is kept in ``imported_meta.user_cost``. A simulation
that ended other than by the user or agent stopping (max_steps, too_many_errors, an
agent or user error) is recorded with ``trace.error``; its reward is still the outcome.
"""

from __future__ import annotations

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
    parse_time,
    register_importer,
    slug,
    validate_into,
)
from evals.importers.formats.messages import SCRIPTED, trace_from_messages
from evals.importers.golden_export import attach_golden
from evals.importers.trials import RunContext, import_agent, outcome_label, outcome_verdict
from evals.schema import Case, CaseInput, ModelSpec, Question, Trace, TrialError, content_hash
from evals.store.workspace import Workspace

FORMAT = "tau2-bench"
NORMAL_ENDINGS = {"user_stop", "agent_stop", None}


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


def _as_str(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class Tau2ToolCall(_Loose):
    """An assistant's tool call as tau2 records it."""

    id: str | None = None
    name: str
    arguments: dict[str, Any] = {}


class Tau2Message(_Loose):
    """One message of a simulation."""

    role: str
    content: str | None = None
    tool_calls: list[Tau2ToolCall] | None = None
    id: str | None = None
    usage: dict[str, Any] | None = None
    cost: float | None = None
    errors: list[Any] | None = None
    error: bool = False

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        if value not in ("system", "user", "assistant", "tool"):
            raise ValueError(f"unknown role {value!r} (expected system, user, assistant, tool)")
        return value


class Tau2RewardInfo(_Loose):
    """The evaluation of a simulation; only ``reward`` is required."""

    reward: float


class Tau2Simulation(_Loose):
    """One simulated conversation and its reward."""

    task_id: str
    trial: int = 0
    messages: list[Tau2Message]
    reward_info: Tau2RewardInfo
    agent_cost: float | None = None
    user_cost: float | None = None
    duration: float | None = None
    start_time: str | None = None
    end_time: str | None = None
    termination_reason: str | None = None

    @field_validator("task_id", mode="before")
    @classmethod
    def _task_id_text(cls, value: Any) -> Any:
        return _as_str(value)


class Tau2Task(_Loose):
    """A task (the case)."""

    id: str

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return _as_str(value)


class Tau2Info(_Loose):
    """Run information: the agent's model and the environment."""

    agent_info: dict[str, Any]
    environment_info: dict[str, Any] = {}
    num_trials: int | None = None


@register_importer(FORMAT, "tau2-bench results JSON: {info, tasks, simulations}")
def parse_tau2(path: Path, options: ImportOptions, ws: Workspace) -> ImportBatch:
    """Parse a tau2-bench results file into a run (every problem listed, nothing written)."""
    data = load_json_file(path)
    file = str(path)
    if not isinstance(data, dict) or not {"info", "tasks", "simulations"} <= data.keys():
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ImportFormatError(
            [
                ImportProblem(
                    file,
                    "top level",
                    None,
                    f"expected an object with info, tasks and simulations, got {keys}",
                )
            ]
        )
    problems: list[ImportProblem] = []
    info = validate_into(Tau2Info, data["info"], file, "info", problems)
    tasks: dict[str, dict[str, Any]] = {}
    for i, raw in enumerate(_list(data["tasks"], file, "tasks", problems)):
        task = validate_into(Tau2Task, raw, file, f"task {i}", problems)
        if task is not None:
            tasks[task.id] = raw
    sims = []
    seen: dict[tuple[str, int], int] = {}
    for i, raw in enumerate(_list(data["simulations"], file, "simulations", problems)):
        tid = raw.get("task_id") if isinstance(raw, dict) else None
        where = f"simulation {i} (task_id {tid})"
        sim = validate_into(Tau2Simulation, raw, file, where, problems)
        if sim is None:
            continue
        if sim.task_id not in tasks:
            problems.append(ImportProblem(file, where, "task_id", "not among the file's tasks"))
        elif (sim.task_id, sim.trial) in seen:
            problems.append(
                ImportProblem(
                    file,
                    where,
                    "trial",
                    f"task {sim.task_id} trial {sim.trial} already in simulation "
                    f"{seen[sim.task_id, sim.trial]}",
                )
            )
        else:
            seen[sim.task_id, sim.trial] = i
            sims.append(sim)
    if problems or info is None:
        raise ImportFormatError(problems)
    return _build(path, options, data, info, tasks, sims, ws.root)


def _list(value: Any, file: str, name: str, problems: list[ImportProblem]) -> list[Any]:
    if isinstance(value, list):
        return value
    problems.append(
        ImportProblem(file, "top level", name, f"expected a list, got {type(value).__name__}")
    )
    return []


def _build(
    path: Path,
    options: ImportOptions,
    data: dict[str, Any],
    info: Tau2Info,
    tasks: dict[str, dict[str, Any]],
    sims: list[Tau2Simulation],
    root: Path,
) -> ImportBatch:
    batch = ImportBatch(FORMAT, path, file_sha256(path))
    domain = str(info.environment_info.get("domain_name") or "tau2")
    policy = str(info.environment_info.get("policy") or "")
    llm = str(info.agent_info.get("llm") or "unknown")
    alias = options.model_alias or llm
    model = ModelSpec(alias=alias, model=llm, params=dict(info.agent_info.get("llm_args") or {}))
    prompt = (options.prompt or f"{domain}-policy", content_hash({"policy": policy}))
    ctx = RunContext(
        run_id=options.run_id or f"import-tau2-{slug(alias)}-{batch.sha256[:8]}",
        dataset=options.dataset or f"tau2-{domain}",
        dataset_hash=content_hash([tasks[k] for k in sorted(tasks)]),
        agent=import_agent(
            FORMAT, batch.sha256, implementation=info.agent_info.get("implementation")
        ),
    )
    question = Question(
        id=domain,
        title=f"tau2-bench {domain} customer service",
        rubric=f"Resolve the customer's request as the {domain} policy requires: the right "
        "database changes, the required information communicated, nothing the policy forbids.",
    )
    cases = {tid: _case(tid, raw, domain) for tid, raw in tasks.items()}
    for sim in sims:
        trial = ctx.trial(
            cases[sim.task_id],
            model,
            prompt,
            sim.trial,
            _trace(sim, policy, alias),
            sim.reward_info.reward,
            _meta(sim),
            (parse_time(sim.start_time), parse_time(sim.end_time)),
        )
        batch.trials.append(trial)
        batch.verdicts.append(
            outcome_verdict(trial, sim.reward_info.reward, _reason(sim.reward_info))
        )
    used = sorted({s.task_id for s in sims})
    batch.cases = ctx.cases([cases[t] for t in used], {domain: question})
    config = {k: v for k, v in data["info"].items() if k != "environment_info"}
    config.update(domain=domain, **attach_golden(batch, root, [question]))
    batch.run = ctx.manifest(
        batch,
        [model],
        [prompt[0]],
        info.num_trials or max((s.trial for s in sims), default=0) + 1,
        config,
        parse_time(data.get("timestamp")),
    )
    _summarise(batch, sims, llm, alias)
    return batch


def _summarise(batch: ImportBatch, sims: list[Tau2Simulation], llm: str, alias: str) -> None:
    passed = sum(outcome_label(s.reward_info.reward) == "pass" for s in sims)
    tasks = len({s.task_id for s in sims})
    batch.summary.append(
        f"{len(sims)} simulations of {tasks} tasks, model {llm} as "
        f"'{alias}': {passed}/{len(sims)} passed (reward >= 1)"
    )
    tokens = sum(t.trace.usage.input_tokens + t.trace.usage.output_tokens for t in batch.trials)
    if tokens and not any(s.agent_cost for s in sims):
        batch.summary.append(
            "the file records no agent cost (0 for every simulation: tau2 "
            "could not price this model); tokens are kept"
        )


def _case(task_id: str, raw: dict[str, Any], domain: str) -> Case:
    """A tau2 task as a Case: the customer's reason for calling is the question; the
    expected actions are the reference and their tools are required; the information the
    agent must communicate are the key facts."""
    scenario = raw.get("user_scenario") or {}
    instructions = scenario.get("instructions") or {}
    if not isinstance(instructions, dict):
        instructions = {"task_instructions": str(instructions)}
    criteria = raw.get("evaluation_criteria") or {}
    actions = [a for a in criteria.get("actions") or [] if isinstance(a, dict)]
    reference = "\n".join(_call_text(a) for a in actions) or "(no actions expected)"

    return Case(
        id=task_id,
        question_id=domain,
        input=CaseInput(
            question=str(instructions.get("reason_for_call") or ""),
            subject={k: v for k, v in instructions.items() if k != "reason_for_call" and v},
        ),
        reference=reference,
        key_facts=[str(x) for x in criteria.get("communicate_info") or []],
        required_tools=list(
            dict.fromkeys(
                str(a.get("name"))
                for a in actions
                if a.get("requestor", "assistant") == "assistant"
            )
        ),
        tags={"source": FORMAT, "domain": domain},
    )


def _call_text(action: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in (action.get("arguments") or {}).items())
    return f"{action.get('name')}({args})"


def _trace(sim: Tau2Simulation, policy: str, alias: str) -> Trace:
    raw: list[dict[str, Any]] = [{"role": "system", "content": policy}] if policy else []
    for m in sim.messages:
        body = m.model_dump()
        if m.role == "tool":
            body["tool_call_id"] = m.id
        elif m.role == "assistant" and m.usage is None and not m.cost and not m.tool_calls:
            body[SCRIPTED] = True  # tau2's fixed greeting: no model was called
        raw.append(body)
    trace = trace_from_messages(raw, alias)
    if sim.agent_cost is not None:
        trace.usage.cost_usd = sim.agent_cost
    # tau2 writes 0 (or nothing) when it cannot price the model: unknown, not free.
    trace.usage.cost_unknown = not sim.agent_cost
    trace.latency_s = sim.duration or 0.0
    if sim.termination_reason not in NORMAL_ENDINGS:
        reason = str(sim.termination_reason)
        kind = "infra" if reason.startswith("user") else "agent"
        trace.error = TrialError(
            kind=kind, code=reason, message=f"tau2 simulation ended with {reason}"
        )
    return trace


def _meta(sim: Tau2Simulation) -> dict[str, Any]:
    extra = sim.model_extra or {}
    return {
        "format": FORMAT,
        "simulation_id": extra.get("id"),
        "termination_reason": sim.termination_reason,
        "agent_cost": sim.agent_cost,
        "user_cost": sim.user_cost,
        "seed": extra.get("seed"),
        "reward_info": sim.reward_info.model_dump(),
    }


def _reason(reward: Tau2RewardInfo) -> str:
    """Why the recorded outcome is what it is, from tau2's own checks."""
    extra = reward.model_extra or {}
    parts = [f"tau2 reward {reward.reward:g}"]
    breakdown = extra.get("reward_breakdown") or {}
    if breakdown:
        parts.append("breakdown " + ", ".join(f"{k}={v:g}" for k, v in breakdown.items()))
    db = extra.get("db_check") or {}
    if db and not db.get("db_match", True):
        parts.append("final database differs from the expected one")
    missed = [
        c.get("action", {}).get("name")
        for c in extra.get("action_checks") or []
        if not c.get("action_match", True)
    ]
    if missed:
        parts.append("expected actions not matched: " + ", ".join(map(str, missed)))
    unmet = [c.get("info") for c in extra.get("communicate_checks") or [] if not c.get("met", True)]
    if unmet:
        parts.append("information not communicated: " + ", ".join(map(str, unmet)))
    return "; ".join(parts)
