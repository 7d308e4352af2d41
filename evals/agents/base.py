"""The Agent protocol, the context a trial runs in, and the registry of agents.

An agent is anything with ``async def __call__(case, model, prompt, ctx) -> Trace``
(a small Protocol, as Inspect AI does it). Agents are registered by name with
:func:`agent`, as *factories* taking the suite's ``agent.params``, so a run's config
(``AgentSpec(name, params)``) is enough to replay it. A user's own agent is referenced as
``package.module:function`` and runs the same way:

- if ``function`` is a coroutine function, it *is* the agent (its params are in
  ``ctx.params``);
- otherwise it is a factory: called with the params as keyword arguments, it returns an
  agent.

Agents write their steps into ``ctx.trace`` (and return it), so a trial cut by the
per-trial timeout still keeps everything it did up to then for the audit.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import ChainMap
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import orjson

from evals import registry
from evals.agents.tools import ToolBox
from evals.errors import InputError, RunError
from evals.models.types import ChatModel, Completion, GatewayError
from evals.schema import (
    AgentSpec,
    Case,
    Message,
    ModelCallStep,
    ModelSpec,
    PromptVersion,
    Question,
    ToolCallStep,
    Trace,
)


class AgentError(RunError):
    """The agent itself failed (bad action, max steps...): a TrialError of kind 'agent'."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class UpstreamAnswer:
    """An earlier node's answer given to a review node as context (review runs only)."""

    question_id: str
    """The upstream question."""
    title: str
    """Its title, as shown to the agent."""
    answer: str | None
    """The answer (the agent's own in free mode, the reference in teacher mode); None
    when the upstream node has none (it failed, or the review has no case of it)."""
    source: Literal["agent", "reference", "missing"]
    """Where the answer comes from."""


@dataclass
class AgentContext:
    """Everything a trial's agent may use besides the case, model and prompt."""

    gateway: ChatModel
    """The model gateway: the only way to call an LLM."""
    tools: ToolBox
    """The case's tools, answered from its recorded observations."""
    question: Question | None = None
    """The question the case answers (title, rubric), when the golden set defines it."""
    params: dict[str, Any] = field(default_factory=dict)
    """The suite's agent parameters."""
    max_steps: int = 8
    """Maximum model calls (reasoning steps) per trial."""
    step_timeout_s: float | None = None
    """Timeout of one model call, on top of the gateway's own request timeout."""
    repetition: int = 0
    """Repetition index of the trial; repeated samples are cached apart (cache_salt)."""
    trace: Trace = field(default_factory=Trace)
    """The trace being written; kept even when the trial is cut by its timeout."""
    upstream: list[UpstreamAnswer] = field(default_factory=list)
    """In a review run: the answers of this node's upstream questions, in DAG order."""

    async def call_tool(
        self, tool: str, arguments: Any, call_id: str | None = None
    ) -> ToolCallStep:
        """Answer one tool call from the ToolBox and record it (arguments, observation)."""
        result = await self.tools.call(tool, arguments)
        recorded_args = arguments if isinstance(arguments, dict) else {"_raw": str(arguments)}
        step = ToolCallStep(
            tool=tool,
            arguments=recorded_args,
            observation=result.observation,
            matched=result.matched,
            live=result.live,
            call_id=call_id,
            latency_s=result.latency_s,
        )
        self.trace.steps.append(step)
        self.trace.unmatched_tool_calls = self.tools.unmatched
        return step

    def record_message(self, message: dict[str, Any]) -> None:
        """Add one chat message to the trace's conversation (as it was sent)."""
        self.trace.messages.append(
            Message.model_validate({k: v for k, v in message.items() if k in Message.model_fields})
        )

    async def complete(
        self, model: ModelSpec, messages: list[dict[str, Any]], **kwargs: Any
    ) -> Completion:
        """One LLM call through the gateway, recorded as a ModelCallStep with its usage
        and latency (errors included), under the per-step timeout.

        A call cut by the step timeout raises GatewayError('timeout', transient=True):
        the model did not answer in time, an infrastructure fault, not the agent's."""
        start = time.perf_counter()
        if self.repetition:  # the gateway's response cache must not replay repetition 0
            kwargs.setdefault("cache_salt", f"rep{self.repetition}")
        try:
            # asyncio.timeout, not wait_for: no extra task per call (CPU per trial, issue 18)
            async with asyncio.timeout(self.step_timeout_s):
                completion = await self.gateway.complete(model.alias, messages, **kwargs)
        except (TimeoutError, GatewayError) as exc:
            if isinstance(exc, TimeoutError):
                exc = GatewayError(
                    "timeout",
                    f"model call exceeded the step timeout of {self.step_timeout_s:g}s",
                    transient=True,
                )
            self.trace.steps.append(
                ModelCallStep(
                    model=model.alias,
                    latency_s=time.perf_counter() - start,
                    error=f"{exc.code}: {exc}",
                )
            )
            raise exc from None
        self.trace.usage = self.trace.usage.add(completion.usage)
        output = completion.text
        if completion.tool_calls:
            output = orjson.dumps(completion.tool_calls).decode()
        self.trace.steps.append(
            ModelCallStep(
                model=completion.model or model.alias,
                usage=completion.usage,
                latency_s=completion.latency_s or time.perf_counter() - start,
                output=output,
            )
        )
        return completion


@runtime_checkable
class Agent(Protocol):
    """Replays one case: returns the trace of everything it saw and did."""

    async def __call__(
        self, case: Case, model: ModelSpec, prompt: PromptVersion, ctx: AgentContext
    ) -> Trace:
        """Run the case; raise AgentError for agent failures, let GatewayError through."""
        ...


AgentFactory = Callable[..., Agent]
"""Builds an agent from the suite's agent params (keyword arguments)."""

REGISTRY: MutableMapping[str, AgentFactory] = ChainMap(
    registry.entries("agent"), registry.entries("blueprint")
)
"""Agent and blueprint factories registered in-process by name (the registry's ``agent``
and ``blueprint`` kinds; writing registers an agent). Installed packages add more
through the ``agent_evals.agent`` and ``agent_evals.blueprint`` entry-point groups."""


def agent(name: str) -> Callable[[AgentFactory], AgentFactory]:
    """Decorator registering an agent factory under `name` (evals.registry)."""
    return registry.registrar("agent", name)


class UnknownAgentError(InputError, ValueError):
    """An AgentSpec that names no registered agent and no importable function."""


def _find(name: str) -> tuple[registry.Kind, Any]:
    """The kind and object a name stands for: an agent, else a blueprint (also agents)."""
    registry.load_builtins("agent")
    registry.load_builtins("blueprint")
    kinds: list[registry.Kind] = ["agent", "blueprint"]
    if name in registry.entries("blueprint") and name not in registry.entries("agent"):
        kinds.reverse()  # a registered blueprint: no need to look for installed agents
    for kind in kinds:
        try:
            return kind, registry.lookup(kind, name)
        except registry.RegistryError as exc:
            if exc.reason != "unknown":
                raise UnknownAgentError(f"cannot import agent {name!r}: {exc.cause}") from None
    known = sorted({*registry.names("agent"), *registry.names("blueprint")})
    raise UnknownAgentError(
        f"unknown agent {name!r} (registered: {', '.join(known) or 'none'}; "
        "or give 'module:function')"
    )


def resolve_agent(spec: AgentSpec) -> Agent:
    """The agent an AgentSpec names: a registry name (an agent or a blueprint, built-in,
    registered or installed) or 'module:function'. The built agent records its name and
    params (evals.registry.registry_info)."""
    kind, target = _find(spec.name)
    if ":" not in spec.name:
        return registry.built_with(target(**spec.params), kind, spec.name, spec.params)
    if _is_blueprint_function(target):
        kind, target = "blueprint", registry.adapt("blueprint", spec.name, target)
    call_method = getattr(type(target), "__call__", None)  # noqa: B004 (the method itself)
    is_agent_instance = not inspect.isclass(target) and inspect.iscoroutinefunction(call_method)
    if inspect.iscoroutinefunction(target) or is_agent_instance:
        return target
    if not callable(target):
        raise UnknownAgentError(f"agent {spec.name!r} is not callable")
    built = target(**spec.params)
    if not callable(built):
        raise UnknownAgentError(f"agent factory {spec.name!r} did not return an agent")
    return registry.built_with(built, kind, spec.name, spec.params)  # type: ignore[no-any-return]


def _is_blueprint_function(target: Any) -> bool:
    """A bare blueprint named by path: an async function of one argument (the run); an
    agent takes four (case, model, prompt, ctx)."""
    if not inspect.iscoroutinefunction(target):
        return False
    params = inspect.signature(target).parameters.values()
    return len([p for p in params if p.default is p.empty]) == 1
