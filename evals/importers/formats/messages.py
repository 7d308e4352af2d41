"""Recorded chat messages (OpenAI format, or tau2's close variant) as a Trace."""

from __future__ import annotations

import json
from typing import Any

from evals.schema import (
    ErrorStep,
    FinalAnswerStep,
    Message,
    ModelCallStep,
    Step,
    ToolCallStep,
    Trace,
    Usage,
)


def _text(content: Any) -> str | None:
    """Message content as text (OpenAI content parts are joined)."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in content]
        return "\n".join(p for p in parts if p)
    return json.dumps(content, ensure_ascii=False)


def parse_observation(content: str | None) -> Any:
    """A tool result: parsed when it is a JSON object or array, else the text itself."""
    if content and content.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(content)
        except json.JSONDecodeError:
            pass
    return content


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            return {"_unparsed": raw}
        return parsed if isinstance(parsed, dict) else {"_value": parsed}
    return {} if raw is None else {"_value": raw}


def openai_tool_call(call_id: str | None, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A tool call in the OpenAI message format (arguments as a JSON string)."""
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)},
    }


def usage_of(raw: dict[str, Any] | None, cost: float | None) -> Usage:
    """Usage of one call from OpenAI-style counts (cached prompt tokens kept apart)."""
    raw = raw or {}
    prompt = int(raw.get("prompt_tokens") or raw.get("input_tokens") or 0)
    details = raw.get("prompt_tokens_details") or {}
    cached = int((details.get("cached_tokens") if isinstance(details, dict) else 0) or 0)
    return Usage(
        input_tokens=max(prompt - cached, 0),
        cached_input_tokens=cached,
        output_tokens=int(raw.get("completion_tokens") or raw.get("output_tokens") or 0),
        cost_usd=float(cost or 0.0),
        calls=1,
    )


ROLE_ALIASES = {"developer": "system", "function": "tool"}
SCRIPTED = "_scripted"
"""Set on an assistant message the framework wrote without calling the model (tau2's
greeting): it is kept as a message but is not a model call."""


def trace_from_messages(raw_messages: list[dict[str, Any]], model_alias: str) -> Trace:
    """A Trace from recorded chat messages in the OpenAI format.

    Each assistant message is one model call (its ``usage``/``cost``, when recorded, are
    the call's) unless marked SCRIPTED; each of its tool calls becomes a ToolCallStep
    whose observation is the matching tool message (JSON results parsed). Assistant
    ``errors`` (tau2) become error steps. The final answer is the last assistant text.
    Roles must be system, user, assistant or tool (``developer`` counts as system); the
    caller validated that.
    """
    builder = _TraceBuilder(model_alias)
    for raw in raw_messages:
        role = ROLE_ALIASES.get(raw["role"], raw["role"])
        text = _text(raw.get("content"))
        if role == "assistant":
            builder.assistant(raw, text)
        elif role == "tool":
            builder.tool(raw, text)
        else:
            builder.messages.append(Message(role=role, content=text))
            if role == "user":
                builder.user_calls(raw)
    return builder.trace()


class _TraceBuilder:
    """Accumulates messages and steps; tool calls wait for their results by call id."""

    def __init__(self, model_alias: str) -> None:
        self.model_alias = model_alias
        self.messages: list[Message] = []
        self.steps: list[Step] = []
        self.pending: dict[str, ToolCallStep] = {}
        self.final: str | None = None
        self.usage = Usage()

    def assistant(self, raw: dict[str, Any], text: str | None) -> None:
        calls = [_call_of(c) for c in raw.get("tool_calls") or []]
        tool_calls = [openai_tool_call(*c) for c in calls] or None
        self.messages.append(Message(role="assistant", content=text, tool_calls=tool_calls))
        errors = [str(e) for e in raw.get("errors") or []]
        if not raw.get(SCRIPTED):
            call_usage = usage_of(raw.get("usage"), raw.get("cost"))
            self.usage = self.usage.add(call_usage)
            output = text
            if output is None:
                listed = [{"name": n, "arguments": a} for _, n, a in calls]
                output = json.dumps(listed, ensure_ascii=False)
            self.steps.append(
                ModelCallStep(
                    model=self.model_alias,
                    usage=call_usage,
                    output=output,
                    error="; ".join(errors) or None,
                )
            )
        self.steps.extend(
            ErrorStep(error_kind="agent:invalid_message", message=e[:2000]) for e in errors
        )
        for call_id, name, args in calls:
            step = ToolCallStep(tool=name, arguments=args, call_id=call_id, live=True)
            self.steps.append(step)
            if call_id:
                self.pending[call_id] = step
        if text and text.strip():
            self.final = text

    def user_calls(self, raw: dict[str, Any]) -> None:
        """Tool calls of the user (tau2's telecom user simulator has tools): recorded as
        steps with requestor 'user', never counted as the agent's."""
        for call_id, name, args in (_call_of(c) for c in raw.get("tool_calls") or []):
            step = ToolCallStep(
                tool=name, arguments=args, call_id=call_id, live=True, requestor="user"
            )
            self.steps.append(step)
            if call_id:
                self.pending[call_id] = step

    def tool(self, raw: dict[str, Any], text: str | None) -> None:
        call_id = raw.get("tool_call_id") or raw.get("id")
        step = self.pending.pop(call_id) if call_id in self.pending else None
        name = raw.get("name") or (step.tool if step else None)
        self.messages.append(Message(role="tool", content=text, tool_call_id=call_id, name=name))
        if step is None:  # a result without a recorded call: keep it as evidence
            by = "user" if raw.get("requestor") == "user" else "agent"
            step = ToolCallStep(
                tool=name or "unknown", call_id=call_id, live=True, matched=False, requestor=by
            )
            self.steps.append(step)
        step.observation = parse_observation(text)

    def trace(self) -> Trace:
        steps = list(self.steps)
        if self.final is not None:
            steps.append(FinalAnswerStep(text=self.final))
        return Trace(messages=self.messages, steps=steps, final_answer=self.final, usage=self.usage)


def _call_of(raw: dict[str, Any]) -> tuple[str | None, str, dict[str, Any]]:
    """(id, name, arguments) of a tool call in the OpenAI or the tau2 format."""
    fn = raw.get("function")
    if isinstance(fn, dict):
        return raw.get("id"), str(fn.get("name") or "unknown"), _arguments(fn.get("arguments"))
    return raw.get("id"), str(raw.get("name") or "unknown"), _arguments(raw.get("arguments"))
