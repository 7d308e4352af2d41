"""What the fake LLM server answers: scripted rules, replies, faults and the default answer.

A script is either a callable `(FakeRequest) -> Reply | str | None` or a list of `Rule`s
tried in order (the first that matches and is not used up answers). `None` (or no
matching rule) falls through to the deterministic default: under a JSON schema, a
minimal valid instance of the schema; otherwise "Echo: <last user or tool message>".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["rate_limit", "server_error", "hang", "malformed", "reset"]
"""Injected failures: 429 with Retry-After, 500, no answer until the client gives up,
a 200 whose body is not JSON, a TCP connection reset."""

FAULT_KINDS: tuple[FaultKind, ...] = ("rate_limit", "server_error", "hang", "malformed", "reset")


@dataclass(slots=True)
class FakeRequest:
    """One parsed chat-completion request, as scripts see it."""

    body: dict[str, Any]
    """The JSON body as sent."""
    index: int
    """0-based arrival number of this request at the server (faulted ones included)."""

    @property
    def model(self) -> str:
        """The `model` field of the body."""
        return str(self.body.get("model", ""))

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages."""
        return self.body.get("messages") or []

    @property
    def last_message(self) -> dict[str, Any]:
        """The last user or tool message (empty dict when there is none)."""
        for message in reversed(self.messages):
            if message.get("role") in ("user", "tool"):
                return message
        return {}

    @property
    def last_text(self) -> str:
        """Text of the last user or tool message (content parts joined)."""
        return content_text(self.last_message.get("content"))

    @property
    def json_schema(self) -> dict[str, Any] | None:
        """The JSON schema the output is constrained to, from `response_format`
        ({type: json_schema}) or llama.cpp's `json_schema` field."""
        if isinstance(self.body.get("json_schema"), dict):
            return self.body["json_schema"]
        fmt = self.body.get("response_format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            inner = fmt.get("json_schema") or {}
            schema = inner.get("schema") if isinstance(inner, dict) else None
            return schema if isinstance(schema, dict) else {}
        return None


@dataclass(slots=True)
class Reply:
    """What the server answers to one request."""

    text: str | None = None
    """Assistant text (None with tool calls only)."""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """Tool calls as {"name": ..., "arguments": dict or JSON string} (an "id" is optional)."""
    fault: FaultKind | None = None
    """Answer with this fault instead (scripted faults, e.g. "first call gets a 429")."""
    error_status: int | None = None
    """Answer with this HTTP status and an OpenAI-style error whose message is `text`
    (e.g. 401 for a bad key, 400 for a context-window error)."""
    finish_reason: str | None = None
    """Defaults to "tool_calls" with tool calls, otherwise "stop"."""
    prompt_tokens: int | None = None
    """Override the estimated prompt tokens."""
    completion_tokens: int | None = None
    """Override the estimated completion tokens."""
    cached_tokens: int | None = None
    """Override the simulated cached prompt tokens."""
    latency_s: float | None = None
    """Override the server's latency for this reply."""


ReplyFn = Callable[[FakeRequest], "Reply | str | None"]


@dataclass
class Rule:
    """A scripted answer for the requests it matches; all given conditions must hold."""

    reply: Reply | str | ReplyFn
    """The answer: a Reply, plain text, or a function of the request."""
    contains: str | None = None
    """Substring of the last user or tool message."""
    pattern: str | None = None
    """Regular expression searched in the last user or tool message."""
    model: str | None = None
    """Exact `model` field of the request."""
    role: Literal["user", "tool"] | None = None
    """Role of the last non-assistant message (e.g. "tool": after an observation)."""
    times: int | None = None
    """Answer at most this many requests, then stop matching (None: forever)."""
    used: int = 0
    """How many requests this rule has answered."""

    def __post_init__(self) -> None:
        self._regex = re.compile(self.pattern) if self.pattern else None

    def matches(self, request: FakeRequest) -> bool:
        """Whether this rule answers the request."""
        if self.times is not None and self.used >= self.times:
            return False
        if self.model is not None and request.model != self.model:
            return False
        if self.role is not None and request.last_message.get("role") != self.role:
            return False
        if self.contains is not None and self.contains not in request.last_text:
            return False
        return self._regex is None or self._regex.search(request.last_text) is not None


Script = ReplyFn | Sequence[Rule] | None


def resolve_reply(script: Script, request: FakeRequest) -> Reply:
    """The reply the script gives, or the default one."""
    answer: Reply | str | None = None
    if callable(script):
        answer = script(request)
    elif script:
        for rule in script:
            if rule.matches(request):
                rule.used += 1
                answer = rule.reply(request) if callable(rule.reply) else rule.reply
                break
    if answer is None:
        return default_reply(request)
    return Reply(text=answer) if isinstance(answer, str) else answer


def default_reply(request: FakeRequest) -> Reply:
    """Deterministic: a minimal instance of the schema, or an echo of the last message."""
    schema = request.json_schema
    if schema is not None:
        import orjson

        return Reply(text=orjson.dumps(example_of(schema)).decode())
    return Reply(text="Echo: " + request.last_text[:200])


def content_text(content: Any) -> str:
    """Plain text of a message content (a string or a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def example_of(schema: dict[str, Any], depth: int = 0) -> Any:
    """A small value valid under common JSON Schemas (const, enum, object, array, scalars)."""
    if depth > 8:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return example_of(schema[key][0], depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props: dict[str, Any] = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {k: example_of(props.get(k, {}), depth + 1) for k in required}
    if kind == "array":
        count = int(schema.get("minItems", 0))
        return [example_of(schema.get("items", {}), depth + 1) for _ in range(count)]
    scalars = {
        "string": "x" * int(schema.get("minLength", 1)),
        "integer": 0,
        "number": 0,
        "boolean": False,
        "null": None,
    }
    value = scalars.get(kind, "")
    if kind in ("integer", "number") and "minimum" in schema:
        value = schema["minimum"]
    return value
