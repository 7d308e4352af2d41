"""The processes executor: a matrix over local worker processes (`--workers N`).

One process of Python drives a few hundred trials per second before its CPU is the
limit (JSON, HTTP and pydantic per call). Past that, the pending keys are sharded by
hash (evals.run.plan.shard_of) over N spawned workers: every key belongs to exactly one
shard, so no trial runs twice, and every worker appends to its own segment files in the
one workspace (the store's design: one writer per process, readers see them all). The
parent holds the run's lock, shows the progress bar from the workers' counters and
summarises from the store at the end.

Per-model concurrency and rate limits (ModelSpec.max_concurrency, rpm, tpm) are shared
out between the workers so that together they stay within them; lanes likewise.
"""

from __future__ import annotations

import asyncio
import fcntl
import math
import multiprocessing as mp
import os
import queue
from dataclasses import asdict, dataclass
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

from evals.run.executors.base import ExecutionJob, ExecutorError, show, total
from evals.run.lanes import Counters, LaneRun
from evals.run.plan import RunPlan, make_plan
from evals.run.progress import RunProgress
from evals.schema import ModelSpec
from evals.store.workspace import Workspace, compact_segment

Message = tuple[str, int, Any]
"""(kind: 'progress' | 'done' | 'error', shard, payload) sent by a worker."""


@dataclass(frozen=True)
class WorkerTask:
    """What one worker needs to rebuild the plan and run its shard."""

    suite_path: str
    workspace: str
    run_id: str
    limit: int | None
    full: bool
    lanes: int
    shard: int
    shards: int
    finished: frozenset[str]
    open_gateway: Any
    """A module-level GatewayOpener (pickled by reference)."""
    parent_pid: int
    """The invoking process; a worker exits when it dies."""
    journal_at: int = 0
    """Where the finished-keys journal ended before `finished` was read (key_claims)."""


def share_limits(model: ModelSpec, shards: int) -> ModelSpec:
    """The part of a model's limits one of `shards` workers may use."""

    def part(value: int | None) -> int | None:
        return None if value is None else max(1, math.ceil(value / shards))

    return model.model_copy(
        update={
            "max_concurrency": part(model.max_concurrency) or 1,
            "rpm": part(model.rpm),
            "tpm": part(model.tpm),
        }
    )


class ProcessesExecutor:
    """Runs the pending cells over `workers` spawned local processes."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)

    def run(self, job: ExecutionJob) -> Counters:
        """Shard the pending keys over the workers (see Executor.run)."""
        job.plan.workers = self.workers
        return run_sharded(
            job.plan, job.ws, set(job.finished), job.progress, job.open_gateway, job.journal_at
        )


def run_sharded(
    plan: RunPlan,
    ws: Workspace,
    finished: set[str],
    progress: RunProgress,
    open_gateway: Any,
    journal_at: int = 0,
) -> Counters:
    """Run the pending cells over `plan.workers` processes; returns the summed counters."""
    ctx = mp.get_context("spawn")  # a clean interpreter: no inherited loop, threads or locks
    messages: Queue[Message] = ctx.Queue()
    lanes = max(1, math.ceil(plan.lanes / plan.workers))
    frozen = frozenset(finished)
    procs = []
    for shard in range(plan.workers):
        task = WorkerTask(
            str(plan.suite.path),
            ws.url,
            plan.run_id,
            plan.limit,
            plan.limit is None,
            lanes,
            shard,
            plan.workers,
            frozen,
            open_gateway,
            os.getpid(),
            journal_at,
        )
        proc = ctx.Process(
            target=worker_main,
            args=(task, messages),
            daemon=False,
            name=f"evals-run-worker-{shard}",
        )
        proc.start()
        procs.append(proc)
    latest: dict[int, Counters] = {}
    sealed: list[str] = []
    ended: set[int] = set()
    errors: list[str] = []
    try:
        while len(ended) < len(procs):
            try:
                kind, shard, payload = messages.get(timeout=0.25)
            except queue.Empty:
                for shard, proc in enumerate(procs):
                    if shard not in ended and proc.exitcode is not None:
                        ended.add(shard)
                        errors.append(f"worker {shard} died (exit code {proc.exitcode})")
                show(progress, total(latest.values()))  # keeps the heartbeat line going
                continue
            if kind == "error":
                errors.append(f"worker {shard}: {payload}")
                ended.add(shard)
                continue
            if kind == "done":
                sealed += payload.pop("sealed", [])
            latest[shard] = Counters(**payload)
            if kind == "done":
                ended.add(shard)
            show(progress, total(latest.values()))
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.exitcode is None:
                proc.terminate()
                proc.join()
    for path in sealed:  # the workers' segments, sealed by them (see _work)
        compact_segment(Path(path))
    if errors:
        raise ExecutorError("; ".join(errors))
    return total(latest.values())


def worker_main(task: WorkerTask, messages: Queue[Message]) -> None:
    """Entry point of a worker process."""
    from evals.run.locks import workers_lock

    sealed: list[str] = []
    try:
        ws = Workspace(task.workspace, create=False)
        with workers_lock(ws, task.run_id, fcntl.LOCK_SH):
            counters = asyncio.run(_work(task, ws, messages, sealed))
    except BaseException as exc:
        for path in sealed:  # the parent compacts only what a finished worker reports
            compact_segment(Path(path))
        messages.put(("error", task.shard, f"{type(exc).__name__}: {exc}"))
        raise SystemExit(1) from None
    messages.put(("done", task.shard, {**asdict(counters), "sealed": sealed}))


async def _work(
    task: WorkerTask, ws: Workspace, messages: Queue[Message], sealed: list[str]
) -> Counters:
    """Run the worker's shard. A local worker only seals its segments (their paths go
    to `sealed`): the parent compacts them once the workers have exited, because the
    DuckDB that compaction loads cost each worker 30-40 MB at the process tree's peak
    (issue 18: `--workers N` at most N x 0.6 of one process)."""
    from evals.agents import resolve_agent
    from evals.run.suite import load_suite

    suite = load_suite(task.suite_path)
    plan = make_plan(suite, limit=task.limit, full=task.full, lanes=task.lanes, workers=1)
    if plan.run_id != task.run_id:
        raise RuntimeError(
            f"the suite changed since the run started ({plan.run_id} != {task.run_id}); rerun"
        )
    agent = resolve_agent(suite.agent)
    models = [share_limits(m, task.shards) for m in suite.models]
    from evals.run.links import link_finished_elsewhere

    claims = ws.key_claims(task.run_id, task.journal_at)
    try:
        async with task.open_gateway(models, ws) as gateway:
            lanes = LaneRun(plan, ws.writer("trial"), gateway, agent, task.lanes, claims=claims)
            helpers = [
                asyncio.ensure_future(_report(messages, task.shard, lanes.counters)),
                asyncio.ensure_future(_orphan_watch(task.parent_pid)),
            ]
            try:
                return await lanes.run(plan.pending(task.finished, task.shard, task.shards))
            finally:
                for helper in helpers:
                    helper.cancel()
                link_finished_elsewhere(ws, task.run_id, lanes.reused)
    finally:
        claims.close()
        if ws.remote:  # an object store's parts are compacted where they were written
            ws.close()
        else:
            sealed += [str(p) for p in ws.close(compact=False)]


async def _orphan_watch(parent_pid: int) -> None:
    """Exit at once when the parent dies (e.g. kill -9): the next invocation reruns what
    was in flight, and must not race with orphans (run_lock waits for them)."""
    while True:
        await asyncio.sleep(0.2)
        if os.getppid() != parent_pid:
            os._exit(3)


async def _report(messages: Queue[Message], shard: int, counters: Counters) -> None:
    while True:
        await asyncio.sleep(0.5)
        messages.put(("progress", shard, asdict(counters)))
