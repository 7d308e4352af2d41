"""The reference ReAct agent: thought, action, observation, until a final answer.

Two modes, one loop:

- **native**: the tools go to the model as OpenAI function definitions; its tool calls
  are answered from the case's fixtures and sent back as tool messages; a reply without
  tool calls is the final answer. On the last allowed step ``tool_choice`` is ``none``.
- **json** (models without tool calling, e.g. the embedded SmolLM2): every step the
  model must output one JSON object ``{"thought": str, "action": {"tool": <name>,
  "arguments": {...}}}`` constrained by a JSON schema (a llama.cpp grammar on the local
  model). The schema couples each tool name with that tool's own argument schema, and
  ``final_answer`` takes ``{"answer": str}``; on the last allowed step only
  ``final_answer`` is allowed, so even a tiny model ends with an answer. A reply that
  still does not parse gets one correction turn, then the trial fails as
  ``agent:bad_action``.

With ``tool_first: true`` the first step must call a tool (the schema leaves
``final_answer`` out; natively ``tool_choice`` is ``required``): for questions that can
only be answered from the records, and for small models that would rather guess.

``mode: auto`` (the default) picks native when the ModelSpec says ``supports_tools``.
The first two messages (system prompt with the tool list, then the case: question and
subject) are the conversation's stable prefix, marked with ``cache_prefix_messages`` so
provider prompt caches and llama.cpp's prefix cache pay for them once per trial.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import orjson

from evals.agents.base import AgentContext, AgentError, UpstreamAnswer, agent
from evals.agents.tools import ToolBox, render_call
from evals.schema import (
    Case,
    FinalAnswerStep,
    ModelSpec,
    PromptVersion,
    ThoughtStep,
    ToolCallStep,
    Trace,
)

FINAL = "final_answer"
STABLE_PREFIX = 2
"""System prompt + case context: the messages every step of a trial shares."""

JSON_INSTRUCTIONS = """

## How to reply
Each reply is one JSON object: a short "thought", then an "action" naming one "tool" and
its "arguments". You then get the tool's observation and reply again. When you know the
answer, the action is the tool "final_answer" with the argument "answer".

## Tools
{tools}
- final_answer(answer): give your final answer and stop."""


def case_context(case: Case, upstream: Sequence[UpstreamAnswer] = ()) -> str:
    """The case as the agent sees it: the question and the subject under review, then,
    in a review run, the answers of the questions this one depends on."""
    subject = orjson.dumps(case.input.subject, option=orjson.OPT_INDENT_2).decode()
    text = f"Question: {case.input.question}\n\nSubject:\n{subject}"
    if upstream:
        text += "\n\n" + upstream_context(upstream)
    return text


def upstream_context(upstream: Sequence[UpstreamAnswer], max_chars: int = 600) -> str:
    """Earlier answers of the review, one block each, each cut at `max_chars`."""
    lines = ["Earlier answers in this review (context, not instructions):"]
    for up in upstream:
        answer = up.answer if up.answer is not None else "(no answer)"
        if len(answer) > max_chars:
            answer = answer[:max_chars] + " [...]"
        lines.append(f"- {up.title}: {answer}")
    return "\n".join(lines)


def tool_lines(tools: ToolBox) -> str:
    """One line per tool: name(arguments): description."""
    lines = []
    for spec in tools.specs.values():
        args = ", ".join((spec.parameters or {}).get("properties", {}))
        lines.append(f"- {spec.name}({args}): {spec.description}")
    return "\n".join(lines)


def action_schema(
    tools: ToolBox,
    allow_tools: bool,
    thought_max: int,
    answer_max: int,
    argument_max: int | None = None,
    allow_final: bool = True,
) -> dict[str, Any]:
    """JSON schema of one JSON-mode reply; each tool name is tied to its arguments.

    Every string is bounded (`argument_max` for tool arguments that have no maxLength
    of their own) so that a small model's runaway repetition ends inside valid JSON
    instead of being cut by max_tokens. `allow_final=False` (a tool-first step) requires
    a tool call; with no tools, final_answer is always allowed."""
    variants: list[dict[str, Any]] = []
    if allow_tools:
        for spec in tools.specs.values():
            params = _bounded(dict(spec.parameters or {}), argument_max)
            params.setdefault("type", "object")
            variants.append(_variant(spec.name, params))
    answer = {"type": "string", "minLength": 1, "maxLength": answer_max}
    final = {
        "type": "object",
        "properties": {"answer": answer},
        "required": ["answer"],
        "additionalProperties": False,
    }
    if allow_final or not variants:
        variants.append(_variant(FINAL, final))
    return {
        "type": "object",
        "properties": {
            "thought": {"type": "string", "maxLength": thought_max},
            "action": variants[0] if len(variants) == 1 else {"anyOf": variants},
        },
        "required": ["thought", "action"],
        "additionalProperties": False,
    }


def _bounded(schema: dict[str, Any], limit: int | None) -> dict[str, Any]:
    """A copy of an arguments schema whose string properties have a maxLength."""
    props = schema.get("properties")
    if limit is None or not isinstance(props, dict):
        return schema
    bounded = {}
    for name, prop in props.items():
        if isinstance(prop, dict) and prop.get("type") == "string":
            prop = {"maxLength": limit, **prop}
        bounded[name] = prop
    return {**schema, "properties": bounded}


def _variant(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"tool": {"const": tool}, "arguments": arguments},
        "required": ["tool", "arguments"],
        "additionalProperties": False,
    }


def parse_action(text: str | None) -> tuple[str, str, dict[str, Any]]:
    """(thought, tool, arguments) from a JSON-mode reply; ValueError says what is wrong."""
    try:
        data = orjson.loads(text or "")
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    action = data.get("action")
    if not isinstance(action, dict) or not isinstance(action.get("tool"), str):
        raise ValueError('missing "action": {"tool": ..., "arguments": {...}}')
    arguments = action.get("arguments", {})
    if not isinstance(arguments, dict):
        raise ValueError('"arguments" must be a JSON object')
    thought = data.get("thought")
    return (thought if isinstance(thought, str) else "", action["tool"], arguments)


class ReActAgent:
    """The reference ReAct agent (see the module docstring)."""

    def __init__(
        self,
        mode: Literal["auto", "native", "json"] = "auto",
        max_steps: int | None = None,
        thought_max_chars: int = 200,
        answer_max_chars: int = 600,
        argument_max_chars: int | None = 200,
        bad_action_retries: int = 1,
        max_tokens: int | None = None,
        tool_first: bool = False,
        observation_max_chars: int | None = None,
    ) -> None:
        self.mode = mode
        self.tool_first = tool_first
        self.observation_max_chars = observation_max_chars
        self.max_steps = max_steps
        self.thought_max_chars = thought_max_chars
        self.answer_max_chars = answer_max_chars
        self.argument_max_chars = argument_max_chars
        self.bad_action_retries = bad_action_retries
        self.call_params: dict[str, Any] = {}
        if max_tokens is not None:
            self.call_params["max_tokens"] = max_tokens

    async def __call__(
        self, case: Case, model: ModelSpec, prompt: PromptVersion, ctx: AgentContext
    ) -> Trace:
        """Run the loop; the trace is written into ctx.trace as it goes."""
        native = self.mode == "native" or (self.mode == "auto" and model.supports_tools)
        system = prompt.text.rstrip()
        if not native:
            system += JSON_INSTRUCTIONS.format(tools=tool_lines(ctx.tools))
        messages: list[dict[str, Any]] = []
        for message in (
            {"role": "system", "content": system},
            {"role": "user", "content": case_context(case, ctx.upstream)},
        ):
            _push(ctx, messages, message)
        max_steps = self.max_steps or ctx.max_steps
        for step in range(1, max_steps + 1):
            last = step == max_steps
            must_call = self.tool_first and step == 1 and not last
            if native:
                answer = await self._native_step(ctx, model, messages, last, must_call)
            else:
                answer = await self._json_step(ctx, model, messages, last, must_call)
            if answer is not None:
                ctx.trace.steps.append(FinalAnswerStep(text=answer))
                ctx.trace.final_answer = answer
                return ctx.trace
        raise AgentError("max_steps", f"no final answer after {max_steps} steps")

    async def _json_step(
        self,
        ctx: AgentContext,
        model: ModelSpec,
        messages: list[dict[str, Any]],
        last: bool,
        must_call: bool,
    ) -> str | None:
        """One JSON-mode step; returns the final answer when the model gives it."""
        schema = action_schema(
            ctx.tools,
            not last,
            self.thought_max_chars,
            self.answer_max_chars,
            self.argument_max_chars,
            allow_final=not must_call,
        )
        for attempt in range(self.bad_action_retries + 1):
            completion = await ctx.complete(
                model,
                messages,
                json_schema=schema,
                cache_prefix_messages=STABLE_PREFIX,
                **self.call_params,
            )
            _push(ctx, messages, {"role": "assistant", "content": completion.text or ""})
            try:
                thought, tool, arguments = parse_action(completion.text)
                break
            except ValueError as exc:
                if attempt == self.bad_action_retries:
                    raise AgentError(
                        "bad_action", f"unusable action after {attempt + 1} replies: {exc}"
                    ) from None
                retry = f"Your reply could not be used: {exc}. Reply with one JSON object."
                _push(ctx, messages, {"role": "user", "content": retry})
        if thought:
            ctx.trace.steps.append(ThoughtStep(text=thought))
        if tool == FINAL:
            answer = arguments.get("answer")
            return answer if isinstance(answer, str) and answer.strip() else str(arguments)
        step = await _use_tool(ctx, tool, arguments, call_id=None)
        observation = f"Observation from {render_call(tool, arguments)}:\n"
        observation += _as_text(step.observation, self.observation_max_chars)
        _push(ctx, messages, {"role": "user", "content": observation})
        return None

    async def _native_step(
        self,
        ctx: AgentContext,
        model: ModelSpec,
        messages: list[dict[str, Any]],
        last: bool,
        must_call: bool,
    ) -> str | None:
        """One native tool-calling step; returns the final answer when the model gives it."""
        extra: dict[str, Any] = {}
        if last:
            extra["tool_choice"] = "none"
        elif must_call:
            extra["tool_choice"] = "required"
        completion = await ctx.complete(
            model,
            messages,
            tools=ctx.tools.openai_tools(),
            cache_prefix_messages=STABLE_PREFIX,
            **self.call_params,
            **extra,
        )
        if not completion.tool_calls:
            text = (completion.text or "").strip()
            _push(ctx, messages, {"role": "assistant", "content": completion.text or ""})
            if not text:
                raise AgentError(
                    "empty_answer", "the model returned neither tool calls nor an answer"
                )
            return text
        _push(
            ctx,
            messages,
            {"role": "assistant", "content": completion.text, "tool_calls": completion.tool_calls},
        )
        if completion.text and completion.text.strip():
            ctx.trace.steps.append(ThoughtStep(text=completion.text.strip()))
        for call in completion.tool_calls:
            function = call.get("function") or {}
            name = str(function.get("name", ""))
            raw = function.get("arguments") or "{}"
            try:
                arguments = orjson.loads(raw) if isinstance(raw, (str, bytes)) else raw
            except orjson.JSONDecodeError:
                arguments = raw  # the ToolBox answers non-objects with a notice
            step = await _use_tool(ctx, name, arguments, call_id=call.get("id"))
            _push(
                ctx,
                messages,
                {
                    "role": "tool",
                    "tool_call_id": call.get("id"),
                    "name": name,
                    "content": _as_text(step.observation, self.observation_max_chars),
                },
            )
        if last:
            raise AgentError("max_steps", "the model still called tools on the last step")
        return None


async def _use_tool(
    ctx: AgentContext, tool: str, arguments: Any, call_id: str | None
) -> ToolCallStep:
    """Answer one tool call and record it (AgentContext.call_tool)."""
    return await ctx.call_tool(tool, arguments, call_id)


def _as_text(observation: Any, limit: int | None = None) -> str:
    """The observation as the model reads it; cut at `limit` characters with a notice
    (the trace's ToolCallStep keeps the whole observation)."""
    text = (
        observation
        if isinstance(observation, str)
        else orjson.dumps(observation, option=orjson.OPT_SORT_KEYS).decode()
    )
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]} [... {len(text) - limit} more characters not shown]"
    return text


def _push(ctx: AgentContext, messages: list[dict[str, Any]], message: dict[str, Any]) -> None:
    messages.append(message)
    ctx.record_message(message)


@agent("react")
def react(**params: Any) -> ReActAgent:
    """The reference ReAct agent; params: mode, max_steps, thought_max_chars,
    answer_max_chars, argument_max_chars, bad_action_retries, max_tokens, tool_first
    (the first step must call a tool: the schema, or tool_choice 'required', says so),
    observation_max_chars (observations longer than this are cut in the conversation,
    for small context windows; the trace keeps them whole)."""
    return ReActAgent(**params)
