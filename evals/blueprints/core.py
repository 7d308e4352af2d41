"""Blueprints: workflows defined in code that keep an agent on rails.

A blueprint decides, step by step, where deterministic logic runs (a lookup with
arguments derived from the case, a parse, a rule) and where an LLM runs (one bounded
call, or a whole agentic loop). It is written as an ordinary async function of a
`BlueprintRun`, whose methods are the node kinds::

    @blueprint("registry_only")
    async def registry_only(run: BlueprintRun) -> str:
        record = await run.lookup("registry", "registry_lookup",
                                  {"registration_number": run.subject["registration_number"]})
        facts = run.rule("facts", lambda: [f"Status: {record['status']}"], kind="parse")
        return await run.llm("write", [{"role": "user", "content": "\\n".join(facts)}])

Why code and not a graph in YAML: the edges of a review's workflow are data
dependencies between Python values (an entity id found by one lookup is the argument of
the next); code states them plainly, type-checks them, and stays debuggable.

To the runner a blueprint is an agent (registered in evals.registry as a factory
taking the suite's ``agent.params``): it runs through the same gateway, replay ToolBox,
limits, trace, resume and exactly-once machinery. Its trace shows every node as a
``NodeStep`` (kind, inputs, output, timing, tokens, cost) followed by the model calls
and tool calls the node made, so an auditor sees which step was code and which was a
model.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from evals import registry
from evals.agents.base import Agent, AgentContext, AgentError, UpstreamAnswer
from evals.schema import (
    Case,
    FinalAnswerStep,
    ModelSpec,
    NodeStep,
    PromptVersion,
    Question,
    Trace,
    Usage,
)

T = TypeVar("T")

BlueprintFn = Callable[["BlueprintRun"], Awaitable[str]]
"""A blueprint: given the run of one case, returns the final answer."""

NodeKind = str  # one of NodeStep.node_kind's literals


@dataclass
class BlueprintRun:
    """One case being run by a blueprint: the case, the model, the prompt version, the
    agent context, and the node methods that record themselves in the trace."""

    case: Case
    model: ModelSpec
    prompt: PromptVersion
    ctx: AgentContext
    params: dict[str, Any] = field(default_factory=dict)
    """The suite's agent params (the blueprint's own settings)."""

    @property
    def subject(self) -> dict[str, Any]:
        """The subject under review (what an agent is given in production)."""
        return self.case.input.subject

    @property
    def question(self) -> Question | None:
        """The question the case answers (title, rubric), when the golden set has it."""
        return self.ctx.question

    @property
    def upstream(self) -> list[UpstreamAnswer]:
        """In a review run: the upstream questions' answers, in DAG order."""
        return self.ctx.upstream

    @asynccontextmanager
    async def node(
        self, name: str, kind: NodeKind, inputs: dict[str, Any] | None = None
    ) -> AsyncIterator[NodeStep]:
        """Record a node around a block: its step goes in first, the block's own steps
        follow, and on exit the node gets its output (set ``step.output``), timing,
        usage and the count of inner steps. A failure is recorded, then re-raised."""
        trace = self.ctx.trace
        step = NodeStep(node=name, node_kind=kind, inputs=inputs or {})
        trace.steps.append(step)
        index, usage0, t0 = len(trace.steps), trace.usage, time.perf_counter()
        try:
            yield step
        except BaseException as exc:
            step.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            step.latency_s = time.perf_counter() - t0
            step.inner_steps = len(trace.steps) - index
            step.usage = _usage_since(usage0, trace.usage)

    async def lookup(self, name: str, tool: str, arguments: dict[str, Any]) -> Any:
        """A deterministic tool call (arguments derived in code), answered from the
        recorded world like any agent's call. Returns the observation, or None when no
        recorded observation matched (the miss is counted in the trace)."""
        async with self.node(name, "lookup", {"tool": tool, "arguments": arguments}) as step:
            call = await self.ctx.call_tool(tool, arguments)
            step.output = {"matched": call.matched}
            return call.observation if call.matched else None

    def rule(
        self,
        name: str,
        fn: Callable[..., T],
        *args: Any,
        kind: NodeKind = "rule",
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> T:
        """A deterministic step (``kind`` 'rule' or 'parse'): ``fn(*args, **kwargs)``,
        recorded with `inputs` (what to show of its arguments) and its result."""
        trace = self.ctx.trace
        step = NodeStep(node=name, node_kind=kind, inputs=inputs or {})
        trace.steps.append(step)
        t0 = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            step.error = f"{type(exc).__name__}: {exc}"
            raise AgentError("blueprint_rule", f"node {name!r} failed: {step.error}") from exc
        finally:
            step.latency_s = time.perf_counter() - t0
        step.output = _jsonable(result)
        return result

    async def llm(
        self,
        name: str,
        messages: list[dict[str, Any]],
        *,
        inputs: dict[str, Any] | None = None,
        **call: Any,
    ) -> str:
        """One bounded LLM call through the gateway (``call``: max_tokens, json_schema,
        ...). The messages are recorded in the trace's conversation; returns the text."""
        async with self.node(name, "llm", inputs) as step:
            for message in messages:
                self.ctx.record_message(message)
            completion = await self.ctx.complete(self.model, messages, **call)
            text = (completion.text or "").strip()
            self.ctx.record_message({"role": "assistant", "content": completion.text or ""})
            step.output = text
            return text

    async def agent(self, name: str, loop: Agent, case: Case | None = None) -> str | None:
        """An agentic node: run another agent (e.g. the ReAct loop) on this case within
        this trace; returns its final answer (its steps follow the node)."""
        async with self.node(name, "agent", {"agent": type(loop).__name__}) as step:
            trace = await loop(case or self.case, self.model, self.prompt, self.ctx)
            answer = trace.final_answer
            trace.final_answer = None  # the blueprint decides the final answer
            if trace.steps and isinstance(trace.steps[-1], FinalAnswerStep):
                trace.steps.pop()
            step.output = answer
            return answer


def _usage_since(before: Usage, after: Usage) -> Usage:
    """What a node's LLM calls used: the trace's totals after minus before."""
    fields = Usage.model_fields
    values = {
        name: getattr(after, name) - getattr(before, name)
        for name in fields
        if isinstance(getattr(after, name), int | float)
    }
    return Usage.model_validate(values)


def _jsonable(value: Any) -> Any:
    """A node's output as JSON: JSON values as they are, anything else as its repr."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


class BlueprintAgent:
    """A blueprint as an Agent: runs the function, records its answer."""

    def __init__(self, fn: BlueprintFn, params: dict[str, Any]) -> None:
        self.fn = fn
        self.params = params

    async def __call__(
        self, case: Case, model: ModelSpec, prompt: PromptVersion, ctx: AgentContext
    ) -> Trace:
        """Run the blueprint on one case; the trace is written as it goes."""
        run = BlueprintRun(case, model, prompt, ctx, dict(self.params))
        answer = await self.fn(run)
        if not isinstance(answer, str) or not answer.strip():
            raise AgentError("empty_answer", "the blueprint produced no answer")
        ctx.trace.steps.append(FinalAnswerStep(text=answer))
        ctx.trace.final_answer = answer
        return ctx.trace


def blueprint(name: str | None = None) -> Callable[[BlueprintFn], Callable[..., BlueprintAgent]]:
    """Decorator: make an async function of a BlueprintRun an agent factory, registered
    under `name` (when given) as a ``blueprint`` in evals.registry (a suite's ``agent:``
    finds it there). The decorated name is the factory, so ``package.module:function`` in
    a suite works for unregistered ones."""

    def wrap(fn: BlueprintFn) -> Callable[..., BlueprintAgent]:
        def factory(**params: Any) -> BlueprintAgent:
            return BlueprintAgent(fn, params)

        factory.__doc__ = fn.__doc__
        factory.__name__ = getattr(fn, "__name__", "blueprint")
        factory.blueprint = fn  # type: ignore[attr-defined]  # the wrapped function, for introspection
        if name is not None:
            registry.register("blueprint", name, factory)
        return factory

    return wrap


def _as_factory(name: str, obj: Any) -> Any:
    """An installed blueprint may be a bare async function of a BlueprintRun: make it a
    factory like the decorator does (a decorated one is kept as it is)."""
    if hasattr(obj, "blueprint") or not inspect.iscoroutinefunction(obj):
        return obj
    return blueprint()(obj)


registry.set_adapter("blueprint", _as_factory)
