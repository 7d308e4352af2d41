"""The model gateway: the one place that talks to an LLM (through litellm).

`Gateway(models, cache_dir)` implements `ChatModel`: model aliases map to litellm model
strings and parameters (`ModelSpec`); each alias has its own concurrency limit and
requests/tokens-per-minute buckets (so one busy model never starves another), its own
timeout and retry budget, and fallbacks to other aliases. Answers are cached on disk,
keyed by the whole request, across processes. `local/<name>` models start the embedded
llama.cpp server on first use (once per process, shared) and are reached as a self-hosted
OpenAI-compatible endpoint (`hosted_vllm/<name>` + api_base, evals.models.routes); with an
`api_base` in the ModelSpec's params they use that llama.cpp server instead (e.g. one
started by `evals models serve`). llama.cpp routes send `cache_prompt: true` and
constrain JSON with llama.cpp's `json_schema`; Anthropic-style routes mark the first
`cache_prefix_messages` messages cacheable (`cache_control`); OpenAI caches on its own.

Why not litellm's Router: measured on this 2-core machine against the fake server
(bench/bench_gateway_cpu.py), `Router.acompletion` costs 25-75% more CPU per call than
`litellm.acompletion` (deployment selection, cooldown and callback bookkeeping on every
call), and the harness may add at most 10% over bare litellm (issue 8). The gateway
therefore calls `litellm.acompletion` directly and does what we needed from the Router
itself: retries with backoff (honouring Retry-After on 429) on 429, 5xx, timeouts,
connection errors and malformed bodies; fallbacks; per-model limits. The OpenAI client's
own retries are off (`max_retries=0`) so every retry is ours and counted once.

Two transports under the one control flow. OpenAI-compatible routes (`openai/`,
`hosted_vllm/`, `local/`) are posted by the gateway itself over aiohttp
(evals.models.direct, whose docstring says why: litellm's ~2 ms of CPU a call against
0.2 ms); every other provider, and any model whose ModelSpec says `transport: litellm`
or whose params the direct path does not reproduce, goes through litellm. Only the
innermost exchange differs (`_exchange`): limits, retries, fallbacks, the cache, the
error taxonomy and the accounting are the same code for both.

litellm is imported when the first Gateway with a litellm route is built, never at
`import evals.models` and never when every route is direct (it costs about 3 s and 200
MB), and configured for a lean hot path: no debug info, no telemetry, no callbacks, its
loggers at WARNING; cost is computed from prices looked up once per model (none for
local models) rather than by litellm's per-call cost machinery.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.models.cache import ResponseCache, request_key
from evals.models.direct import DirectClient
from evals.models.errors import classify, gateway_error, register_secret, retry_after_s
from evals.models.limits import Bucket
from evals.models.litellm_setup import load_litellm, quiet_calls
from evals.models.routes import Route, build_route
from evals.models.types import ChatModel, Completion, GatewayError
from evals.models.wire import (
    estimate_tokens,
    read_completion,
    shape_request,
)
from evals.schema import ModelSpec, Usage

if TYPE_CHECKING:
    from evals.store.workspace import Workspace

log = logging.getLogger("evals.models")

RESERVED_PARAMS = ("cache", "cache_salt")
"""Per-call keywords the gateway consumes instead of sending: `cache=False` skips the
response cache for this call; `cache_salt` (e.g. the repetition number) joins the cache
key so repeated samples of one request are cached apart."""


@dataclass
class GatewayStats:
    """Counters of one Gateway since it was built."""

    requests: int = 0
    """complete() calls."""
    provider_calls: int = 0
    """HTTP attempts made to providers (retries included; cache hits excluded)."""
    cache_hits: int = 0
    """Calls answered from the response cache."""
    retries: int = 0
    """Attempts repeated after a transient failure."""
    fallbacks: int = 0
    """Times a call moved on to a fallback alias."""
    failures: Counter[str] = field(default_factory=Counter)
    """Calls that raised GatewayError, by code."""


class Gateway:
    """Every LLM call of agents and judges: limits, retries, fallbacks, cache, accounting."""

    def __init__(
        self,
        models: Sequence[ModelSpec],
        cache_dir: Path | None = None,
        *,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        retry_after_max_s: float = 120.0,
    ) -> None:
        """models: the aliases this gateway serves. cache_dir: where the response cache
        lives (e.g. <workspace>/cache; None: no cache). backoff_*: exponential backoff
        with jitter between retries; a 429's Retry-After is honoured up to
        retry_after_max_s."""
        self._litellm: Any = None
        self._direct = DirectClient()
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.retry_after_max_s = retry_after_max_s
        self.specs = {spec.alias: spec for spec in models}
        if len(self.specs) != len(models):
            raise ValueError("model aliases must be unique")
        for spec in models:
            unknown = [a for a in spec.fallbacks if a not in self.specs]
            if unknown:
                raise ValueError(f"model '{spec.alias}': unknown fallback alias(es) {unknown}")
        self._routes = {spec.alias: build_route(spec, self._load_litellm) for spec in models}
        self._cache = ResponseCache(cache_dir) if cache_dir is not None else None
        self.stats = GatewayStats()

    def _load_litellm(self) -> Any:
        """litellm, imported on the first route that needs it (evals.models.routes)."""
        if self._litellm is None:
            self._litellm = load_litellm()
        return self._litellm

    # ------------------------------------------------------------------ the call

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
        """One chat completion (see ChatModel.complete); `cache` and `cache_salt` are
        consumed here (RESERVED_PARAMS). Raises GatewayError when the alias and all its
        fallbacks failed."""
        started = time.perf_counter()
        self.stats.requests += 1
        use_cache = params.pop("cache", True) and self._cache is not None
        salt = params.pop("cache_salt", None)
        last: GatewayError | None = None
        for position, current in enumerate(self._chain(alias)):
            if position:
                self.stats.fallbacks += 1
            route = self._routes[current]
            key = None
            if use_cache:
                key = request_key(
                    route.spec_hash,
                    {
                        "messages": messages,
                        "tools": tools,
                        "json_schema": json_schema,
                        "logprobs": logprobs,
                        "params": params,
                        "salt": salt,
                    },
                )
                hit = self._cache.get(key) if self._cache is not None else None
                if hit is not None:
                    return self._from_cache(hit, started)
            try:
                completion = await self._attempts(
                    current,
                    route,
                    messages,
                    tools,
                    json_schema,
                    logprobs,
                    cache_prefix_messages,
                    params,
                )
            except GatewayError as exc:
                last = exc
                continue
            completion.model = current
            if key is not None and self._cache is not None:
                self._cache.put(key, completion.model_dump_json().encode())
            completion.latency_s = time.perf_counter() - started
            return completion
        assert last is not None
        self.stats.failures[last.code] += 1
        raise last

    def _chain(self, alias: str) -> Iterator[str]:
        """The alias, then its fallbacks (depth first, each alias at most once)."""
        if alias not in self._routes:
            raise GatewayError(
                "bad_request",
                f"unknown model alias '{alias}'; known: {', '.join(sorted(self._routes))}",
            )
        seen: set[str] = set()
        stack = [alias]
        while stack:
            current = stack.pop(0)
            if current in seen:
                continue
            seen.add(current)
            yield current
            stack[:0] = self.specs[current].fallbacks

    def _from_cache(self, raw: bytes, started: float) -> Completion:
        self.stats.cache_hits += 1
        completion = Completion.model_validate_json(raw)
        completion.cache_hit = True
        completion.usage = Usage(cache_hits=1)
        completion.latency_s = time.perf_counter() - started
        return completion

    async def _attempts(
        self,
        alias: str,
        route: Route,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        json_schema: dict[str, Any] | None,
        logprobs: int | None,
        cache_prefix_messages: int,
        params: dict[str, Any],
    ) -> Completion:
        """Call one alias with its retries; raises GatewayError when they are spent."""
        if route.missing_key:
            key = os.environ.get(route.missing_key)
            if not key:
                raise GatewayError(
                    "auth",
                    f"model '{alias}': environment variable "
                    f"{route.missing_key} (its API key) is not set",
                )
            register_secret(key)
            route.base["api_key"], route.missing_key = key, None
        if route.local_name is not None and "api_base" not in route.base:
            await self._start_local(alias, route)
        request = shape_request(
            route.base,
            route.dialect,
            messages,
            tools,
            json_schema,
            logprobs,
            cache_prefix_messages,
            params,
        )
        limiter, spec = route.limiter, route.spec
        estimate = estimate_tokens(messages, request) if limiter.tpm is not None else 0
        guard_s = float(request.get("timeout") or spec.timeout_s) * 1.5 + 5.0
        for attempt in range(spec.max_retries + 1):
            try:
                async with limiter.slot(estimate):
                    self.stats.provider_calls += 1
                    async with asyncio.timeout(guard_s):
                        completion = await self._exchange(route, request)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                code, transient = classify(exc)
                if not transient or attempt >= spec.max_retries:
                    raise gateway_error(alias, exc) from None
                delay = self._backoff(attempt, retry_after_s(exc) if code == "rate_limit" else None)
                self.stats.retries += 1
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("model '%s': %s, retry %d in %.2fs", alias, code, attempt + 1, delay)
                await asyncio.sleep(delay)
                continue
            if limiter.tpm is not None:
                used = completion.usage.input_tokens + completion.usage.cached_input_tokens
                limiter.tpm.refund(estimate - used - completion.usage.output_tokens)
            return completion
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _exchange(self, route: Route, request: dict[str, Any]) -> Completion:
        """One HTTP exchange: the only step where the two transports differ."""
        if route.direct:
            return await self._direct.complete(request, route.prices)
        with quiet_calls():
            response = await self._litellm.acompletion(**request)
        return read_completion(response, route.prices)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before the next attempt: the provider's Retry-After when given (capped),
        else exponential with jitter."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_max_s) * (1.0 + 0.1 * random.random())
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2**attempt))
        return ceiling * (0.5 + 0.5 * random.random())

    async def _start_local(self, alias: str, route: Route) -> None:
        """Start (once per process) the embedded server a `local/` model names."""
        from evals.models.local import LocalModelError, shared_server

        try:  # shared_server() starts at most one server per process (a thread lock)
            server = await asyncio.to_thread(shared_server, route.local_name or "")
        except LocalModelError as exc:
            raise GatewayError("connection", f"model '{alias}': {exc}") from None
        register_secret(server.api_key)
        route.base["api_key"] = server.api_key
        route.base["api_base"] = server.base_url

    def share_buckets(self, make: Callable[[str, str, int], Bucket]) -> None:
        """Replace every rate bucket by `make(alias, "rpm" | "tpm", per_minute)`: the Ray
        executor's actors draw from one cluster-wide bucket per model (a process's own
        buckets would let N actors spend N times the rate)."""
        for alias, route in self._routes.items():
            spec, limiter = route.spec, route.limiter
            if spec.rpm:
                limiter.rpm = make(alias, "rpm", spec.rpm)
            if spec.tpm:
                limiter.tpm = make(alias, "tpm", spec.tpm)

    def transport(self, alias: str) -> str:
        """How this alias is reached: "direct" (the gateway's own HTTP) or "litellm"."""
        return "direct" if self._routes[alias].direct else "litellm"

    def in_flight(self, alias: str) -> int:
        """Calls to this alias holding a concurrency slot right now."""
        return self._routes[alias].limiter.in_flight

    # ------------------------------------------------------------------ lifecycle

    def flush(self) -> None:
        """Commit buffered cache entries (also done every second and at exit)."""
        if self._cache is not None:
            self._cache.flush()

    def close(self) -> None:
        """Flush and close the response cache; drop the direct path's connections."""
        self._direct.close()
        if self._cache is not None:
            self._cache.close()

    async def aclose(self) -> None:
        """close(), closing the direct path's connections on their own loop."""
        await self._direct.aclose()
        self.close()

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


GatewayOpener = Callable[["list[ModelSpec]", "Workspace"], AbstractAsyncContextManager[ChatModel]]
"""Opens the gateway for a set of models in a workspace (a seam for tests and executors)."""


@asynccontextmanager
async def workspace_gateway(models: list[ModelSpec], ws: Workspace) -> AsyncIterator[ChatModel]:
    """The harness's gateway for these models, its response cache in the workspace."""
    gateway = Gateway(models, cache_dir=ws.root / "cache")
    try:
        yield gateway
    finally:
        await gateway.aclose()
