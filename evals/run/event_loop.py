"""The event loop every hot asyncio path runs on: uvloop when installed, else asyncio's.

The lanes of `evals run` (and of `evals judge`) spend much of a trial's harness CPU in
the event loop and its socket transports. uvloop (libuv, in C) does that work with the
same semantics for what the harness uses (tasks, timeouts, threads, subprocesses,
aiohttp). In A/B runs of single-turn trials at 64 lanes it took about 10% less CPU per
trial on a busy machine (load 3-4) and made no measurable difference on a quiet one
(docs/benchmarks.md). ``EVALS_EVENT_LOOP=asyncio`` chooses asyncio's own loop (e.g. to rule the loop
out while debugging).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LOOP_ENV = "EVALS_EVENT_LOOP"
"""Environment variable: ``asyncio`` for the standard loop, ``uvloop`` (or unset) for the
default."""


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop constructor, or None for asyncio's default (not installed, or
    EVALS_EVENT_LOOP=asyncio). Raises InputError on any other value (a typo must not
    silently keep the loop it meant to rule out)."""
    chosen = os.environ.get(LOOP_ENV, "").strip().lower()
    if chosen == "asyncio":
        return None
    if chosen not in ("", "uvloop"):
        from evals.errors import InputError

        raise InputError(f"{LOOP_ENV}={chosen!r}: use 'asyncio' or 'uvloop'")
    try:
        import uvloop
    except ImportError:  # an optional speed-up: a platform without it runs on asyncio's
        return None
    return uvloop.new_event_loop


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on the chosen loop (loop_factory)."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)


def running_loop_name() -> str:
    """The running loop's class and module, e.g. ``uvloop.Loop`` (for tests and logs)."""
    loop = asyncio.get_running_loop()
    return f"{type(loop).__module__.split('.')[0]}.{type(loop).__name__}"
