"""The processes executor: a matrix over local worker processes (`--workers N`).

One process of Python drives a few hundred trials per second before its CPU is the
limit (JSON, HTTP and pydantic per call). Past that, the pending keys are sharded by
hash (evals.run.plan.shard_of) over N worker processes: every key belongs to exactly one
shard, so no trial runs twice, and every worker appends to its own segment files in the
one workspace (the store's design: one writer per process, readers see them all). The
parent holds the run's lock, shows the progress bar from the workers' counters and
summarises from the store at the end.

Memory (issue 18: `--workers N` at most N x 0.6 of one process's peak RSS): this
process runs shard 0 itself (it would otherwise only wait, holding the CLI's imports),
the other shards run in plain subprocesses (evals.run.executors.worker: no
multiprocessing, so neither the CLI re-imported in each nor a resource-tracker process),
and DuckDB is not loaded here while they run: the finished keys were read by a
short-lived child before (evals.run.executors.lookup), and every segment is compacted
after the workers exited.

Per-model concurrency and rate limits (ModelSpec.max_concurrency, rpm, tpm) are shared
out between the workers so that together they stay within them; lanes likewise.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.agents import Agent
from evals.run.event_loop import run_async
from evals.run.executors.base import ExecutionJob, ExecutorError, show, total
from evals.run.executors.worker import WorkerTask, child_env, share_limits
from evals.run.lanes import Counters
from evals.run.plan import RunPlan, shard_of
from evals.run.progress import RunProgress
from evals.store.workspace import Workspace

__all__ = ["ProcessesExecutor", "WorkerTask", "child_env", "run_sharded", "share_limits"]


class ProcessesExecutor:
    """Runs the pending cells over `workers` local processes."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)

    def run(self, job: ExecutionJob) -> Counters:
        """Shard the pending keys over the workers (see Executor.run)."""
        job.plan.workers = self.workers
        return run_sharded(
            job.plan,
            job.ws,
            set(job.finished),
            job.progress,
            job.open_gateway,
            job.journal_at,
            job.agent,
        )


@dataclass
class _Worker:
    """The parent's handle on one worker."""

    shard: int
    proc: subprocess.Popen[bytes]
    fd: int
    """The read end of its message pipe."""
    buffer: bytes = b""
    ready: bool = False
    """It has its plan and gateway and is about to run trials (or has ended)."""
    ended: bool = False
    """It reported done or an error, or its pipe closed."""
    counters: Counters = field(default_factory=Counters)
    sealed: list[str] = field(default_factory=list)


def start_worker(task: WorkerTask) -> _Worker:
    """Start one worker and hand it its task (see evals.run.executors.worker)."""
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "evals.run.executors.worker", str(write_fd)],
            stdin=subprocess.PIPE,
            pass_fds=(write_fd,),
            env=child_env(),
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)  # the worker holds the only write end: EOF when it exits
    worker = _Worker(task.shard, proc, read_fd)
    assert proc.stdin is not None
    try:
        pickle.dump(sys.path, proc.stdin)
        pickle.dump(task, proc.stdin)  # streamed: no copy of a big finished-key set
        proc.stdin.close()
    except BrokenPipeError:  # it died starting: reported with its exit code
        pass
    return worker


def run_sharded(
    plan: RunPlan,
    ws: Workspace,
    finished: set[str],
    progress: RunProgress,
    open_gateway: Any,
    journal_at: int = 0,
    agent: Agent | None = None,
) -> Counters:
    """Run the pending cells over `plan.workers` processes: shard 0 on asyncio lanes in
    this process (which would otherwise only wait: its imports serve a shard instead of
    costing a whole worker's), the others in worker processes. Returns the summed
    counters; ExecutorError when a worker failed (after the others finished)."""
    from evals.agents import resolve_agent
    from evals.store.workspace import compact_segment

    lanes = max(1, math.ceil(plan.lanes / plan.workers))
    shards: list[set[str]] = [set() for _ in range(plan.workers)]
    for key in finished:
        shards[shard_of(key, plan.workers)].add(key)
    here = Shard(plan, ws, frozenset(shards[0]), lanes, open_gateway, journal_at)
    workers: list[_Worker] = []
    try:
        for shard in range(1, plan.workers):
            task = WorkerTask(
                str(plan.suite.path),
                ws.url,
                plan.run_id,
                plan.limit,
                plan.limit is None,
                lanes,
                shard,
                plan.workers,
                frozenset(shards[shard]),
                open_gateway,
                os.getpid(),
                journal_at,
            )
            workers.append(start_worker(task))
        del shards
        agent = agent or resolve_agent(plan.suite.agent)
        errors = run_async(_run_all(here, agent, workers, progress))
    except Exception:  # this process's shard failed: the workers' run is moot
        for worker in workers:
            worker.proc.terminate()
        raise
    finally:  # (on Ctrl-C the workers got it too: they seal their segments and exit)
        _stop(workers)
    for worker in workers:  # their segments, sealed by them (see worker._work)
        for path in worker.sealed:
            compact_segment(Path(path))
    if errors:
        raise ExecutorError("; ".join(errors))
    return total([here.counters, *(w.counters for w in workers)])


@dataclass
class Shard:
    """Shard 0, run in this process."""

    plan: RunPlan
    ws: Workspace
    finished: frozenset[str]
    lanes: int
    open_gateway: Any
    journal_at: int
    counters: Counters = field(default_factory=Counters)


async def _run_all(
    here: Shard, agent: Agent, workers: list[_Worker], progress: RunProgress
) -> list[str]:
    """Run shard 0 here while following the workers; returns the workers' errors."""
    from evals.run.lanes import LaneRun
    from evals.run.links import link_finished_elsewhere

    plan, ws = here.plan, here.ws
    errors: list[str] = []
    following = _Following(workers, errors)
    models = [share_limits(m, plan.workers) for m in plan.suite.models]
    claims = ws.key_claims(plan.run_id, here.journal_at)
    ticker = asyncio.ensure_future(_tick(progress, here, workers))
    try:
        async with here.open_gateway(models, ws) as gateway:
            lanes = LaneRun(plan, ws.writer("trial"), gateway, agent, here.lanes, claims=claims)
            here.counters = lanes.counters
            # Start with the workers (an interpreter's start-up later): the shards then
            # run side by side, none left to finish alone at half the lanes.
            await following.ready
            try:
                await lanes.run(plan.pending(here.finished, 0, plan.workers))
            finally:
                link_finished_elsewhere(ws, plan.run_id, lanes.reused)
        await following.ended
    finally:
        ticker.cancel()
        following.close()
        claims.close()
        show(progress, total([here.counters, *(w.counters for w in workers)]))
    return errors


async def _tick(progress: RunProgress, here: Shard, workers: list[_Worker]) -> None:
    """Refresh the progress bar from every process's counters (also the heartbeat)."""
    while True:
        show(progress, total([here.counters, *(w.counters for w in workers)]))
        await asyncio.sleep(0.25)


class _Following:
    """The workers' messages, read on this loop: `ready` is done once each is ready to
    run trials (or has ended), `ended` once each has reported done or an error, or its
    pipe closed (it exited)."""

    def __init__(self, workers: list[_Worker], errors: list[str]) -> None:
        self.workers, self.errors = workers, errors
        self.loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = self.loop.create_future()
        self.ended: asyncio.Future[None] = self.loop.create_future()
        for worker in workers:
            self.loop.add_reader(worker.fd, self._readable, worker)
        self._check()

    def _check(self) -> None:
        for future, seen in ((self.ready, "ready"), (self.ended, "ended")):
            if all(getattr(w, seen) for w in self.workers) and not future.done():
                future.set_result(None)

    def _readable(self, worker: _Worker) -> None:
        chunk = os.read(worker.fd, 1 << 16)
        if not chunk:  # its pipe closed: it exited
            self.loop.remove_reader(worker.fd)
            if not worker.ended:
                worker.ready = worker.ended = True
                code = worker.proc.wait()
                self.errors.append(f"worker {worker.shard} died (exit code {code})")
        else:
            *lines, worker.buffer = (worker.buffer + chunk).split(b"\n")
            for line in lines:
                _receive(worker, json.loads(line), self.errors)
        self._check()

    def close(self) -> None:
        """Stop reading (the pipes are closed by _stop)."""
        for future in (self.ready, self.ended):
            future.cancel()
        for worker in self.workers:
            self.loop.remove_reader(worker.fd)


def _receive(worker: _Worker, message: list[Any], errors: list[str]) -> None:
    """One message of a worker (see evals.run.executors.worker)."""
    kind = message[0]
    worker.ready = True  # "ready", or anything after it
    if kind == "error":
        errors.append(f"worker {worker.shard}: {message[1]}")
        worker.ended = True
    elif kind != "ready":
        worker.counters = Counters(**message[1])
        if kind == "done":
            worker.sealed = message[2]
            worker.ended = True


def _stop(workers: list[_Worker]) -> None:
    """Wait for the workers to exit (terminated after 30 s) and close their pipes."""
    for worker in workers:
        try:
            worker.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.proc.terminate()
            worker.proc.wait()
        os.close(worker.fd)
