"""A fake OpenAI-compatible chat-completions server for tests and benchmarks.

`FakeLLMServer` serves POST /v1/chat/completions over real HTTP (aiohttp's low-level
server: no router, no middleware, no access log, orjson bodies) so the gateway's real
code paths run. It runs on a background thread with its own event loop:

    with FakeLLMServer(script=[Rule(contains="hi", reply="hello")], latency_ms=5) as srv:
        srv.base_url   # "http://127.0.0.1:<port>/v1": the api_base of an openai/ model
        ...
        srv.count      # requests received (faulted ones included)
        srv.requests   # their JSON bodies, in arrival order

(`async with` works the same way.) Faults are drawn per request from a seeded RNG in
arrival order; latency is fixed or lognormal around `latency_ms`. Usage reports
estimated prompt and completion tokens (4 characters a token) and simulates a provider's
prefix cache: `cached_tokens` counts the tokens of the longest message prefix already
seen. For benchmarks, `evals fake-llm --workers N` runs N processes on one port
(SO_REUSEPORT) via `serve_forever`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import signal
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson
from aiohttp import web

from evals.testing.fake_wire import JSON, completion, error_response
from evals.testing.script import (
    FAULT_KINDS,
    FakeRequest,
    FaultKind,
    Reply,
    Script,
    content_text,
    resolve_reply,
)


class FakeLLMServer:
    """An OpenAI-compatible chat-completions server with scripted answers and faults."""

    def __init__(
        self,
        script: Script = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0.0,
        latency_sigma: float = 0.0,
        fault_rate: float = 0.0,
        fault_kinds: Sequence[FaultKind] = FAULT_KINDS,
        seed: int = 0,
        retry_after_s: float = 1.0,
        hang_s: float = 3600.0,
        prompt_cache: bool = True,
        log_limit: int = 100_000,
        reuse_port: bool = False,
    ) -> None:
        """script: a list of Rules or a function of the request (see evals.testing.script).
        latency_ms: median latency per request; latency_sigma > 0 makes it lognormal.
        fault_rate: share of requests answered with a fault, its kind drawn uniformly
            from fault_kinds; seed makes faults and latencies reproducible.
        retry_after_s: the Retry-After of a 429. hang_s: how long a "hang" waits (the
            client's timeout is expected to fire first).
        prompt_cache: simulate prefix caching in usage.cached_tokens.
        log_limit: keep at most this many request bodies (counts are always exact)."""
        unknown = set(fault_kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError("fault_rate must be within [0, 1]")
        self.script = script
        self.host, self.port = host, port
        self.latency_s, self.latency_sigma = latency_ms / 1000.0, latency_sigma
        self.fault_rate, self.fault_kinds = fault_rate, tuple(fault_kinds)
        self.retry_after_s, self.hang_s = retry_after_s, hang_s
        self.prompt_cache, self.log_limit, self.reuse_port = prompt_cache, log_limit, reuse_port
        self._fault_rng, self._latency_rng = random.Random(seed), random.Random(seed + 1)
        self.count = 0
        """Chat-completion requests received, faulted ones included."""
        self.requests: list[dict[str, Any]] = []
        """Request bodies in arrival order (at most log_limit)."""
        self.arrivals: list[float] = []
        """time.monotonic() of each logged request's arrival."""
        self.faults: Counter[str] = Counter()
        """Faults injected, by kind."""
        self._seen_prefixes: set[int] = set()
        self._runner: web.ServerRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL, e.g. http://127.0.0.1:PORT/v1."""
        return f"http://{self.host}:{self.port}/v1"

    url = base_url

    async def start_async(self) -> None:
        """Serve on the running event loop (what the thread and the CLI use)."""
        sock = _bind(self.host, self.port, self.reuse_port)
        self.port = sock.getsockname()[1]
        server = web.Server(self._handle, handler_cancellation=True, access_log=None)
        self._runner = web.ServerRunner(server, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, backlog=4096).start()

    async def stop_async(self) -> None:
        """Stop serving; requests still hanging are cancelled."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> FakeLLMServer:
        """Start serving on a background thread; returns once the port is bound."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop_async())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="fake-llm", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop the background server and join its thread."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeLLMServer:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    def reset_log(self) -> None:
        """Forget logged requests and counts (not the scripts' rule usage)."""
        self.count = 0
        self.requests.clear()
        self.arrivals.clear()
        self.faults.clear()

    # ------------------------------------------------------------------ handling

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.method == "POST" and request.path.endswith("/chat/completions"):
            return await self._chat(request)
        if request.path in ("/health", "/v1/health"):
            return web.Response(body=b'{"status":"ok"}', content_type=JSON)
        if request.path.endswith("/models"):
            body = {"object": "list", "data": [{"id": "fake", "object": "model"}]}
            return web.Response(body=orjson.dumps(body), content_type=JSON)
        return error_response(404, "not_found", f"no route {request.method} {request.path}")

    async def _chat(self, request: web.BaseRequest) -> web.StreamResponse:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return error_response(400, "invalid_request_error", "request body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return error_response(400, "invalid_request_error", "'messages' must be a list")
        index = self.count
        self.count += 1
        if len(self.requests) < self.log_limit:
            self.requests.append(body)
            self.arrivals.append(time.monotonic())
        reply: Reply | None = None
        fault = self._draw_fault()
        if fault is None:
            try:
                reply = resolve_reply(self.script, FakeRequest(body, index))
            except Exception as exc:  # a broken script is the test's bug: say so
                return error_response(500, "script_error", f"{type(exc).__name__}: {exc}")
            fault = reply.fault
        delay = self._latency() if reply is None or reply.latency_s is None else reply.latency_s
        if fault is not None:
            self.faults[fault] += 1
            return await self._fault(request, fault, delay)
        if delay > 0:
            await asyncio.sleep(delay)
        assert reply is not None
        if reply.error_status is not None:
            text = reply.text or "scripted error"
            return error_response(reply.error_status, "scripted_error", text)
        prompt = self._prompt_tokens(body["messages"])
        return web.Response(body=completion(body, reply, index, prompt), content_type=JSON)

    def _draw_fault(self) -> FaultKind | None:
        if self.fault_rate <= 0.0 or self._fault_rng.random() >= self.fault_rate:
            return None
        return self._fault_rng.choice(self.fault_kinds)

    def _latency(self) -> float:
        if self.latency_sigma <= 0.0 or self.latency_s <= 0.0:
            return self.latency_s
        return self._latency_rng.lognormvariate(math.log(self.latency_s), self.latency_sigma)

    async def _fault(
        self, request: web.BaseRequest, fault: FaultKind, delay: float
    ) -> web.StreamResponse:
        if fault == "hang":
            await asyncio.sleep(self.hang_s)  # cancelled when the client disconnects
            return error_response(504, "timeout", "hung request")
        if delay > 0:
            await asyncio.sleep(delay)
        if fault == "rate_limit":
            headers = {
                "Retry-After": f"{self.retry_after_s:g}",
                "retry-after-ms": str(int(self.retry_after_s * 1000)),
            }
            return error_response(429, "rate_limit_exceeded", "Rate limit reached (fake)", headers)
        if fault == "server_error":
            return error_response(500, "server_error", "Internal server error (fake)")
        if fault == "malformed":
            return web.Response(body=b'{"id": "chatcmpl-broken", "choices": [', content_type=JSON)
        _reset(request)
        raise asyncio.CancelledError  # aiohttp drops the request quietly

    def _prompt_tokens(self, messages: list[Any]) -> tuple[int, int]:
        """Estimated prompt tokens, and those a prefix cache would have served."""
        total = cached = 0
        prefix = 0
        for i, message in enumerate(messages):
            text = content_text(message.get("content")) if isinstance(message, dict) else ""
            total += 4 + len(text) // 4
            if self.prompt_cache and i < len(messages) - 1:
                prefix = hash((prefix, message.get("role"), text))
                if prefix in self._seen_prefixes:
                    cached = total
                else:
                    if len(self._seen_prefixes) > 1_000_000:
                        self._seen_prefixes.clear()
                    self._seen_prefixes.add(prefix)
        return total, cached


def _bind(host: str, port: int, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _reset(request: web.BaseRequest) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0), as a crashed proxy would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def serve_forever(workers: int = 1, **kwargs: Any) -> None:
    """Serve in the foreground until SIGINT/SIGTERM; workers > 1 forks that many
    processes sharing one port (SO_REUSEPORT), each with seed + worker number."""
    import multiprocessing

    port = kwargs.pop("port", 0)
    if workers > 1 and port == 0:
        probe = _bind(kwargs.get("host", "127.0.0.1"), 0, True)
        port = probe.getsockname()[1]
        probe.close()
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_serve_one, args=(port, workers > 1, n, kwargs), daemon=True)
        for n in range(1, workers)
    ]
    for child in children:
        child.start()
    try:
        _serve_one(port, workers > 1, 0, kwargs, announce=True)
    finally:
        for child in children:
            child.terminate()
            child.join(timeout=5)


def _serve_one(
    port: int, reuse: bool, worker: int, kwargs: dict[str, Any], announce: bool = False
) -> None:
    kwargs = dict(kwargs, seed=kwargs.get("seed", 0) + worker)
    server = FakeLLMServer(port=port, reuse_port=reuse, log_limit=0, **kwargs)

    async def main() -> None:
        await server.start_async()
        if announce:
            print(f"fake LLM server listening on {server.base_url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop_async()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
