"""The OpenAI chat-completions wire format of the fake server's answers
(:mod:`evals.testing.fake_server`): completion bodies with usage, tool calls and
log-probabilities, and error responses. Pure functions of the request and the reply."""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from evals.testing.script import Reply

JSON = "application/json"


def completion(
    body: dict[str, Any], reply: Reply, index: int, prompt_tokens: tuple[int, int]
) -> bytes:
    """The chat.completion body answering request ``body`` (the ``index``-th) with
    ``reply``; ``prompt_tokens``: the request's estimated prompt tokens and those a
    prefix cache served (the reply may override either)."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_calls:
        message["tool_calls"] = [_tool_call(c, index, i) for i, c in enumerate(reply.tool_calls)]
    prompt, cached = prompt_tokens
    tokens = reply.completion_tokens
    if tokens is None:
        tool_chars = sum(len(str(c.get("arguments", ""))) for c in reply.tool_calls)
        tokens = 1 + (len(reply.text or "") + tool_chars) // 4
    prompt = prompt if reply.prompt_tokens is None else reply.prompt_tokens
    cached = min(prompt, cached if reply.cached_tokens is None else reply.cached_tokens)
    choice: dict[str, Any] = {
        "index": 0,
        "message": message,
        "finish_reason": reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop"),
    }
    if body.get("logprobs"):
        choice["logprobs"] = _logprobs(reply.text or "", int(body.get("top_logprobs") or 0))
    return orjson.dumps(
        {
            "id": f"chatcmpl-fake-{index}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [choice],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": tokens,
                "total_tokens": prompt + tokens,
                "prompt_tokens_details": {"cached_tokens": cached},
            },
        }
    )


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """An OpenAI-style error response."""
    body = {"error": {"message": message, "type": code, "code": code}}
    return web.Response(status=status, body=orjson.dumps(body), content_type=JSON, headers=headers)


def _tool_call(call: dict[str, Any], index: int, position: int) -> dict[str, Any]:
    arguments = call.get("arguments", {})
    if not isinstance(arguments, str):
        arguments = orjson.dumps(arguments).decode()
    return {
        "id": call.get("id") or f"call_{index}_{position}",
        "type": "function",
        "function": {"name": call["name"], "arguments": arguments},
    }


def _logprobs(text: str, top: int) -> dict[str, Any]:
    """Deterministic per-word log-probabilities with `top` alternatives each."""
    content = []
    for i, token in enumerate(text.split(" ") if text else []):
        logprob = -0.1 * (i % 5)
        alternatives = [{"token": token, "logprob": logprob, "bytes": None}]
        alternatives += [
            {"token": f"{token}~{k}", "logprob": logprob - k, "bytes": None} for k in range(1, top)
        ]
        content.append(
            {"token": token, "logprob": logprob, "bytes": None, "top_logprobs": alternatives[:top]}
        )
    return {"content": content}
