"""What a replay is configured with: models, prompt versions, agents, and usage."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from evals.schema._base import Record, content_hash


class ModelSpec(Record):
    """A model configuration; `alias` is what suites and reports call it."""

    alias: str
    """Name used in suites and reports, e.g. 'local-smollm2-t0'."""
    model: str
    """litellm model string, e.g. 'openai/smollm2' or 'anthropic/claude-...'."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Request parameters (temperature, max_tokens, api_base, ...). Never secrets."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key; the key itself is never stored."""
    supports_tools: bool = False
    """Native tool calling; otherwise agents use JSON actions under constrained decoding."""
    max_concurrency: int = 32
    """Requests in flight to this model at once (per model, so one cannot starve another)."""
    rpm: int | None = None
    """Requests-per-minute limit."""
    tpm: int | None = None
    """Tokens-per-minute limit."""
    timeout_s: float = 600.0
    """Per-request timeout; minutes are normal for slow agents."""
    max_retries: int = 4
    """Retries on 429 (honouring Retry-After), 5xx, timeouts and connection errors."""
    fallbacks: list[str] = Field(default_factory=list)
    """Aliases tried in order when this model still fails after its retries."""
    transport: Literal["auto", "direct", "litellm"] = "auto"
    """How the gateway reaches the model: `auto` posts OpenAI-compatible requests
    (`openai/`, `hosted_vllm/`, `local/`) itself and uses litellm for every other
    provider; `litellm` forces litellm; `direct` requires the direct path (an error
    when the model or its params need litellm). Operational: not part of spec_hash."""

    def spec_hash(self) -> str:
        """Identity of the configuration: what changes answers. The alias, limits,
        timeouts, retries and fallbacks are operational and excluded."""
        return content_hash({"model": self.model, "params": self.params})


class PromptVersion(Record):
    """A prompt file; its content hash is part of every trial's identity."""

    name: str
    """Version name, e.g. 'v1'."""
    path: str
    """File it was read from, relative to the suite."""
    sha256: str
    """Content hash of the file's text."""
    text: str
    """The prompt text."""


class AgentSpec(Record):
    """Which agent runs: a registered name or 'module:function', with its parameters."""

    name: str
    """Registry name (e.g. 'react') or an import path 'package.module:function'."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Agent parameters (max_steps, mode, timeouts, ...)."""


class Usage(Record):
    """Token and cost accounting; cached input tokens are kept apart."""

    input_tokens: int = 0
    """Prompt tokens billed at the full rate (excluding cached ones)."""
    cached_input_tokens: int = 0
    """Prompt tokens served from the provider's prompt cache."""
    output_tokens: int = 0
    """Completion tokens."""
    cost_usd: float = 0.0
    """Cost in USD (0 for local models)."""
    cost_unknown: bool = False
    """The source recorded no price for these calls (an import without costs): cost_usd
    0 then means unknown, not free; reports say so and cost gates leave it out."""
    calls: int = 0
    """Number of LLM calls."""
    cache_hits: int = 0
    """Calls answered by the harness's own response cache (no provider call made)."""

    def add(self, other: Usage) -> Usage:
        """Sum of two usages."""
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            cost_unknown=self.cost_unknown or other.cost_unknown,
            calls=self.calls + other.calls,
            cache_hits=self.cache_hits + other.cache_hits,
        )
