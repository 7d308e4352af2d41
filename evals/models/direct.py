"""The gateway's direct HTTP path for OpenAI-compatible endpoints (aiohttp + orjson).

Why a second path, and why here. litellm spends about 2 ms of CPU on every call (its
HTTP stack, a synchronous `completion()` run in a thread, response transformation and
pricing; bench/bench_gateway_cpu.py), against 0.2 ms for a raw aiohttp client: on 2
cores that caps a run at a fraction of what the network allows (issue 18). For the
endpoints that already speak OpenAI's chat-completions wire format (`openai/`,
`hosted_vllm/`, and the embedded `local/` server) litellm translates nothing, so the
gateway posts the request itself. The design says nothing but the gateway talks to an
LLM: this module is part of the gateway, imported only by evals.models.gateway, and
shares everything but the HTTP exchange with the litellm path: the request is shaped by
`wire.shape_request` (the keyword arguments litellm would get), and the gateway's one
retry loop, limiter, response cache, error taxonomy (evals.models.errors) and usage and
cost accounting (`wire.charge`, prices from litellm's own cost map via
evals.models.prices) wrap both. tests/models/test_direct_differential.py replays the same
scripted answers and faults through both paths and compares every recorded field.

What the direct path reproduces of litellm for these providers: the body it sends
(`model` without the provider prefix, None-valued parameters dropped, `extra_body`
merged into the body, and for `hosted_vllm/` the tool schemas without
`additionalProperties: false` and `strict`), the API base and key it reads from the
environment (OPENAI_BASE_URL / OPENAI_API_BASE / OPENAI_API_KEY, HOSTED_VLLM_API_BASE /
HOSTED_VLLM_API_KEY), and the finish-reason mapping. What it does not: OpenAI's
reasoning models (their parameters are renamed) and any parameter outside DIRECT_PARAMS
keep the litellm path (`direct_eligible`), as does a model whose ModelSpec says
`transport: litellm`. Like litellm's handler, a connection reset or refusal is tried
once more at once inside the same attempt (not a gateway retry on either path).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson

from evals.models.errors import ProviderHTTPError
from evals.models.types import Completion, GatewayError
from evals.models.wire import Prices, read_completion_json

if TYPE_CHECKING:
    import aiohttp

DIRECT_PROVIDERS = ("openai", "hosted_vllm")
"""litellm providers whose wire format is OpenAI's chat completions, verbatim."""
TRANSPORT_KEYS = frozenset(
    {"model", "api_base", "api_key", "timeout", "max_retries", "extra_body", "extra_headers"}
)
"""Request keys that configure the call rather than go into the body."""
DIRECT_PARAMS = TRANSPORT_KEYS | {
    "messages", "tools", "tool_choice", "parallel_tool_calls", "response_format",
    "temperature", "top_p", "max_tokens", "stop", "seed", "presence_penalty",
    "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "n", "user",
}  # fmt: skip
"""Request keys the direct path sends as litellm would; any other keeps litellm."""
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5", "codex")
"""OpenAI models whose parameters litellm renames (max_tokens, temperature): litellm."""
_ENV_BASES = {
    "openai": ("OPENAI_BASE_URL", "OPENAI_API_BASE"),
    "hosted_vllm": ("HOSTED_VLLM_API_BASE",),
}
_ENV_KEYS = {"openai": "OPENAI_API_KEY", "hosted_vllm": "HOSTED_VLLM_API_KEY"}
_DEFAULT_BASES = {"openai": "https://api.openai.com/v1"}
_DEFAULT_KEYS = {"hosted_vllm": "fake-api-key"}  # litellm's placeholder for keyless servers


def direct_eligible(model: str, param_keys: Any) -> bool:
    """Whether the direct path sends exactly what litellm would for this model string
    (after `local/` was resolved) and these ModelSpec parameters."""
    provider, _, name = model.partition("/")
    if provider not in DIRECT_PROVIDERS or not name:
        return False
    if provider == "openai" and name.startswith(_REASONING_PREFIXES):
        return False
    return all(key in DIRECT_PARAMS for key in param_keys)


def _strip_schema(value: Any) -> Any:
    """A copy without `additionalProperties: false` and `strict` (litellm's hosted_vllm
    tool cleaning, which it does in place on the caller's tools; we copy)."""
    if isinstance(value, dict):
        return {
            k: _strip_schema(v)
            for k, v in value.items()
            if k != "strict" and not (k == "additionalProperties" and v is False)
        }
    if isinstance(value, list):
        return [_strip_schema(v) for v in value]
    return value


class DirectClient:
    """One aiohttp session per event loop, posting chat completions."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_here(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or loop is not self._loop or self._session.closed:
            import aiohttp  # on the first call: importing it costs about 20 MB (its SSL
            # contexts), which a process that never calls a model (the parent of
            # `evals run --workers N`) does not need

            self._drop()
            # No pool limit: the gateway's per-model limiter bounds what is in flight.
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, json_serialize=lambda o: orjson.dumps(o).decode()
            )
            self._loop = loop
            # A gateway dropped unclosed (its loop gone, or at exit): release the sockets
            # quietly, whatever order the collector finalises things in.
            weakref.finalize(self, _release, self._session)
        return self._session

    async def complete(self, request: dict[str, Any], prices: Prices | None) -> Completion:
        """Post one request (the keyword arguments litellm would get) and read the answer.
        Raises ProviderHTTPError on a non-2xx status, TimeoutError, aiohttp's connection
        errors, or a decoding error on a malformed body (errors.classify maps them)."""
        provider, _, name = request["model"].partition("/")
        body = {k: v for k, v in request.items() if k not in TRANSPORT_KEYS and v is not None}
        body["model"] = name
        extra = request.get("extra_body")
        if extra:
            body.update(extra)
        if provider == "hosted_vllm" and "tools" in body:
            body["tools"] = _strip_schema(body["tools"])
        url, headers = _endpoint(request, provider)
        payload = orjson.dumps(body)
        session = self._session_here()
        timeout = request.get("timeout")
        limit = _timeout(float(timeout) if timeout else None)
        try:
            raw = await self._post(session, url, payload, headers, limit)
        except _client_os_error():
            # As litellm's HTTP handler does (httpx ConnectError: a reset or refused
            # connection), once more at once on a fresh connection, inside this attempt.
            raw = await self._post(self._session_here(), url, payload, headers, limit)
        return read_completion_json(orjson.loads(raw), prices)

    @staticmethod
    async def _post(
        session: aiohttp.ClientSession,
        url: str,
        payload: bytes,
        headers: dict[str, str],
        limit: aiohttp.ClientTimeout,
    ) -> bytes:
        async with session.post(url, data=payload, headers=headers, timeout=limit) as response:
            raw = await response.read()
            if response.status >= 400:
                raise ProviderHTTPError(response.status, raw, response.headers)
        return raw

    def _drop(self) -> None:
        """Forget the session (its loop is gone or closing): close its connector now."""
        if self._session is not None:
            _release(self._session)
        self._session = None

    async def aclose(self) -> None:
        """Close the session on its own loop."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def close(self) -> None:
        """Close without a loop (sync callers)."""
        self._drop()


def _release(session: aiohttp.ClientSession) -> None:
    """Close a session's connector without a loop (sync: the sockets)."""
    if not session.closed and session.connector is not None:
        session.connector._close()


@lru_cache(maxsize=64)
def _timeout(total: float | None) -> aiohttp.ClientTimeout:
    import aiohttp

    return aiohttp.ClientTimeout(total=total)


def _client_os_error() -> type[Exception]:
    import aiohttp

    return aiohttp.ClientOSError


def _endpoint(request: dict[str, Any], provider: str) -> tuple[str, dict[str, str]]:
    """URL and headers of a request, with litellm's fallbacks to the environment."""
    base = request.get("api_base") or _env_base(provider)
    if not base:
        variable = _ENV_BASES[provider][0]
        raise GatewayError("bad_request", f"no api_base for {request['model']} (set {variable})")
    key = (
        request.get("api_key") or os.environ.get(_ENV_KEYS[provider]) or _DEFAULT_KEYS.get(provider)
    )
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = "Bearer " + key
    if request.get("extra_headers"):
        headers.update(request["extra_headers"])
    return base.rstrip("/") + "/chat/completions", headers


def _env_base(provider: str) -> str | None:
    for name in _ENV_BASES[provider]:
        value = os.environ.get(name)
        if value:
            return value
    return _DEFAULT_BASES.get(provider)
