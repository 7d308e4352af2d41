"""Request shaping and response reading: the provider-specific details of one call.

Kept apart from the gateway's control flow (limits, retries, fallbacks, cache) so each
stays small. Nothing here imports litellm: responses are read by attribute, which works
on litellm's ModelResponse.
"""

from __future__ import annotations

from typing import Any, Literal

from evals.models.types import Completion, TokenLogprob
from evals.schema import Usage

Dialect = Literal["llama_cpp", "anthropic", "openai"]
"""How a route's requests are shaped: llama.cpp's server, Anthropic-style prompt caching
(Anthropic, Bedrock and Vertex Claude models), or plain OpenAI-compatible."""

CACHE_CONTROL = {"type": "ephemeral"}


def dialect_of(model: str) -> Dialect:
    """The dialect of a litellm model string (after `local/` was resolved)."""
    provider, _, rest = model.partition("/")
    if provider == "anthropic" or (
        "claude" in rest
        and provider in ("bedrock", "bedrock_converse", "vertex_ai", "vertex_ai_beta")
    ):
        return "anthropic"
    return "openai"


def mark_cacheable_prefix(messages: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """A copy of the messages with `cache_control` on the last content block of the
    first `count` messages: Anthropic caches everything up to that breakpoint (tools,
    system prompt, the case context). The caller's messages are not modified."""
    count = min(count, len(messages))
    if count <= 0:
        return messages
    last = dict(messages[count - 1])
    content = last.get("content")
    if isinstance(content, str) and content:
        parts: list[dict[str, Any]] = [{"type": "text", "text": content}]
    elif isinstance(content, list) and content and isinstance(content[-1], dict):
        parts = list(content)
    else:
        return messages
    parts[-1] = {**parts[-1], "cache_control": CACHE_CONTROL}
    last["content"] = parts
    return [*messages[: count - 1], last, *messages[count:]]


def shape_request(
    base: dict[str, Any],
    dialect: Dialect,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    json_schema: dict[str, Any] | None,
    logprobs: int | None,
    cache_prefix_messages: int,
    params: dict[str, Any],
) -> dict[str, Any]:
    """The keyword arguments of one litellm.acompletion call."""
    request = {**base, **params} if params else dict(base)
    if dialect == "anthropic" and cache_prefix_messages > 0:
        messages = mark_cacheable_prefix(messages, cache_prefix_messages)
    request["messages"] = messages
    if tools:
        request["tools"] = tools
    if dialect == "llama_cpp":
        # llama.cpp's server: keep the prefix (KV) cache, constrain with its json_schema.
        extra = {**request.get("extra_body", {}), "cache_prompt": True}
        if json_schema is not None:
            extra["json_schema"] = json_schema
        request["extra_body"] = extra
    elif json_schema is not None:
        request["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": json_schema},
        }
    if logprobs is not None:
        request["logprobs"] = True
        if logprobs > 0:
            request["top_logprobs"] = logprobs
    return request


Prices = tuple[float, float, float, float]
"""USD per token: (input, cached input read, cache creation, output)."""


def read_completion(response: Any, prices: Prices | None) -> Completion:
    """A Completion from a litellm response (raises on a response without choices)."""
    choice = response.choices[0]
    message = choice.message
    usage = response.usage
    details = getattr(usage, "prompt_tokens_details", None)
    calls = [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.function.name, "arguments": call.function.arguments},
        }
        for call in (getattr(message, "tool_calls", None) or [])
    ]
    return Completion(
        text=message.content,
        tool_calls=calls,
        usage=charge(
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
            int(
                getattr(details, "cached_tokens", 0)
                or getattr(usage, "cache_read_input_tokens", 0)
                or 0
            ),
            int(getattr(usage, "cache_creation_input_tokens", 0) or 0),
            prices,
        ),
        finish_reason=choice.finish_reason,
        logprobs=read_logprobs(getattr(choice, "logprobs", None)),
    )


def read_completion_json(data: Any, prices: Prices | None) -> Completion:
    """A Completion from a decoded OpenAI-compatible response body (the direct path):
    the same fields, defaults and finish-reason mapping as `read_completion` gets from
    litellm (the differential test in tests/models compares them). Raises KeyError,
    IndexError or TypeError on a body without choices or message (code "malformed")."""
    choice = data["choices"][0]
    message = choice["message"]
    usage = data.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    calls = [
        {
            "id": call["id"],
            "type": "function",
            "function": {
                "name": call["function"]["name"],
                "arguments": call["function"].get("arguments"),
            },
        }
        for call in (message.get("tool_calls") or [])
    ]
    reason = choice.get("finish_reason")
    return Completion(
        text=message.get("content"),
        tool_calls=calls,
        usage=charge(
            int(usage.get("prompt_tokens") or 0),
            int(usage.get("completion_tokens") or 0),
            int(details.get("cached_tokens") or usage.get("cache_read_input_tokens") or 0),
            int(usage.get("cache_creation_input_tokens") or 0),
            prices,
        ),
        finish_reason=None if reason is None else FINISH_REASONS.get(reason, "stop"),
        logprobs=read_logprobs(choice.get("logprobs")),
    )


FINISH_REASONS = {
    **{r: r for r in ("stop", "length", "tool_calls", "content_filter", "function_call")},
    "eos": "stop",
    "eos_token": "stop",
    "stop_sequence": "stop",
    "end_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}
"""Finish reasons as litellm reports them (its map_finish_reason: anything else is
"stop"), for the servers the direct path speaks to."""


def charge(prompt: int, output: int, cached: int, created: int, prices: Prices | None) -> Usage:
    """One call's Usage: cached prompt tokens apart, cost from the per-token prices."""
    cached = min(cached, prompt)
    cost = 0.0
    if prices is not None:
        fresh = max(0, prompt - cached - created)
        cost = fresh * prices[0] + cached * prices[1] + created * prices[2] + output * prices[3]
    return Usage(
        input_tokens=prompt - cached,
        cached_input_tokens=cached,
        output_tokens=output,
        cost_usd=cost,
        calls=1,
    )


def read_logprobs(logprobs: Any) -> list[TokenLogprob] | None:
    """Token log-probabilities from an OpenAI-style `choice.logprobs`, if present."""
    if logprobs is None:
        return None
    content = (
        logprobs.get("content")
        if isinstance(logprobs, dict)
        else getattr(logprobs, "content", None)
    )
    if not content:
        return None
    out = []
    for item in content:
        get = item.get if isinstance(item, dict) else lambda k, i=item: getattr(i, k, None)
        top = {}
        for alt in get("top_logprobs") or []:
            alt_get = alt.get if isinstance(alt, dict) else lambda k, a=alt: getattr(a, k, None)
            top[str(alt_get("token"))] = float(alt_get("logprob") or 0.0)
        out.append(
            TokenLogprob(token=str(get("token")), logprob=float(get("logprob") or 0.0), top=top)
        )
    return out


def estimate_tokens(messages: list[dict[str, Any]], params: dict[str, Any]) -> int:
    """Rough tokens a request will use (4 characters a token, plus max_tokens), for tpm."""
    chars = sum(len(str(m.get("content") or "")) for m in messages)
    return chars // 4 + int(params.get("max_tokens") or 256)
