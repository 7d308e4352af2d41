"""The gateway's public types: what every LLM call takes and returns.

Agents and judges depend on these, never on litellm: the gateway (evals.models.gateway)
is the only module that imports it.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from evals.errors import ProviderError
from evals.schema import Usage

ErrorCode = Literal[
    "rate_limit", "server_error", "timeout", "malformed", "connection", "auth",
    "bad_request", "context_window", "unknown",
]


class GatewayError(ProviderError):
    """An LLM call that failed after the gateway's retries and fallbacks.

    `code` classifies it; `transient` says whether a later retry could succeed. The
    message never contains secrets (the gateway scrubs API keys from provider errors).
    """

    def __init__(self, code: ErrorCode, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.transient = transient


class TokenLogprob(BaseModel):
    """Log-probability of one generated token, with the top alternatives."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    token: str
    """The token generated."""
    logprob: float
    """Its natural-log probability."""
    top: dict[str, float] = Field(default_factory=dict)
    """Top alternative tokens at this position and their log-probabilities."""


class Completion(BaseModel):
    """The result of one gateway call."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    text: str | None = None
    """Assistant text (None when the model only called tools)."""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    """Native tool calls, OpenAI format: {id, type: 'function', function: {name, arguments}}."""
    usage: Usage = Field(default_factory=Usage)
    """Tokens (cached input apart) and cost of this call; zero tokens on a cache hit."""
    latency_s: float = 0.0
    """Wall time including retries."""
    cache_hit: bool = False
    """True when answered from the harness's response cache."""
    model: str = ""
    """Model alias that finally answered (after fallbacks)."""
    finish_reason: str | None = None
    """Provider finish reason."""
    logprobs: list[TokenLogprob] | None = None
    """Token log-probabilities, when requested and the model gives them."""


class ChatModel(Protocol):
    """What agents and judges need from the gateway."""

    async def complete(
        self,
        alias: str,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        json_schema: dict[str, Any] | None = None,
        logprobs: int | None = None,
        cache_prefix_messages: int = 0,
        **params: Any,
    ) -> Completion:
        """One chat completion.

        alias: a model alias from the suite's config.
        messages: OpenAI-format chat messages.
        tools: OpenAI-format tool definitions (native tool calling).
        json_schema: constrain the output to this JSON Schema (response_format for
            providers that support it, a llama.cpp grammar for the local model).
        logprobs: ask for this many top log-probabilities per token (when supported).
        cache_prefix_messages: the first N messages are a stable prefix (system prompt,
            tool definitions, case context) to mark cacheable for provider prompt caching.
        params: per-call overrides (temperature, max_tokens, ...).
        Raises GatewayError after retries and fallbacks are exhausted.
        """
        ...
