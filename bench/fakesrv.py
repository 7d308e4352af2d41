"""The fake LLM server of the benchmarks, in its own process(es), with per-run statistics.

It is `evals.testing.FakeLLMServer` (the server behind `evals fake-llm`, same code) plus
what a benchmark needs and the CLI does not expose:

- a scripted conversation: ``react5`` answers five tool calls (``lookup`` with
  ``{"step": n}``), then a final answer; ``echo`` is the server's default reply;
- on shutdown (SIGTERM) each server process writes its request count, the monotonic
  time of its first request and of its last response, and its own CPU time to
  ``<stats-dir>/server-<n>.json``. CLOCK_MONOTONIC is system-wide on Linux, so the
  benchmark measures every harness over the same window, seen from the server: first
  request to last response.

Run: ``python -m bench.fakesrv --latency-ms 200 --workers 1 --script echo --stats-dir D``;
it prints ``listening <port>`` once every server process is bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from evals.testing import FakeLLMServer, FakeRequest, Reply

TOOL = "lookup"
"""The tool the react5 script calls (the bench golden sets define it)."""
REACT_STEPS = 5
"""Tool calls before the final answer in the react5 script."""


def react5(request: FakeRequest) -> Reply:
    """Five tool calls, one per turn, then a final answer."""
    done = sum(1 for m in request.messages if m.get("role") == "tool")
    if done < REACT_STEPS:
        return Reply(tool_calls=[{"name": TOOL, "arguments": {"step": done + 1}}])
    return Reply(text=f"Final answer after {done} lookups.")


SCRIPTS: dict[str, Any] = {"echo": None, "react5": react5}


class StatsServer(FakeLLMServer):
    """FakeLLMServer recording the window it served in (first request, last response)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.first: float | None = None
        self.last: float | None = None
        self.in_flight = 0
        self.peak_in_flight = 0

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        chat = request.method == "POST"
        if not chat:
            return await super()._handle(request)
        if self.first is None:
            self.first = time.monotonic()
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return await super()._handle(request)
        finally:
            self.in_flight -= 1
            self.last = time.monotonic()

    def stats(self) -> dict[str, Any]:
        """What this process served."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "count": self.count,
            "first": self.first,
            "last": self.last,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_in_flight": self.peak_in_flight,
        }


def serve(
    number: int,
    port: int,
    reuse: bool,
    options: dict[str, Any],
    stats_dir: str,
    ready: Any = None,
) -> None:
    """Serve until SIGTERM/SIGINT, then write this process's stats file."""
    server = StatsServer(
        script=SCRIPTS[options["script"]],
        port=port,
        reuse_port=reuse,
        latency_ms=options["latency_ms"],
        seed=number,
        log_limit=0,
    )

    async def main() -> None:
        await server.start_async()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if ready is not None:
            ready.put(server.port)
        await stop.wait()
        await server.stop_async()

    asyncio.run(main())
    out = Path(stats_dir) / f"server-{number}.json"
    out.write_text(json.dumps(server.stats()))


def main(argv: list[str] | None = None) -> None:
    """Start `--workers` server processes on one port (SO_REUSEPORT)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--script", choices=sorted(SCRIPTS), default="echo")
    parser.add_argument("--stats-dir", required=True)
    args = parser.parse_args(argv)
    options = {"script": args.script, "latency_ms": args.latency_ms}
    ctx = mp.get_context("spawn")
    ready: Any = ctx.Queue()
    reuse = args.workers > 1
    first = ctx.Process(target=serve, args=(0, args.port, reuse, options, args.stats_dir, ready))
    first.start()
    port = ready.get(timeout=60)
    procs = [first]
    for n in range(1, args.workers):
        proc = ctx.Process(target=serve, args=(n, port, reuse, options, args.stats_dir, ready))
        proc.start()
        ready.get(timeout=60)
        procs.append(proc)
    print(f"listening {port}", flush=True)

    def stop(*_: Any) -> None:
        for proc in procs:
            if proc.pid is not None and proc.is_alive():
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for proc in procs:
        proc.join()
    sys.exit(0)


if __name__ == "__main__":
    main()
