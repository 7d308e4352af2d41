"""One `--workers` process: `python -m evals.run.executors.worker FD`.

Started by evals.run.executors.processes with subprocess (not multiprocessing: spawn
re-imports the parent's main module, the whole CLI, in every worker, and its Queue starts
a resource-tracker process, 12 MB; issue 18: `--workers N` at most N x 0.6 of one
process). The parent writes the worker's sys.path and its WorkerTask, pickled, to its
stdin; the worker writes JSON lines to the pipe FD:

    ["ready"]                     once set up, about to run trials
    ["progress", counters]        every 0.5 s
    ["done", counters, sealed]    at the end (sealed: its segments, for the parent to compact)
    ["error", "Type: message"]    when it failed (then it exits with 1)

A worker imports only what running trials needs: no CLI, no DuckDB (the parent compacts
its segments once it has exited), no litellm when every model is on the direct path.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import math
import os
import pickle
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.run.event_loop import run_async
from evals.schema import ModelSpec

if TYPE_CHECKING:
    from evals.run.lanes import Counters
    from evals.store.workspace import Workspace


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
    """The finished keys of this shard (the others' are not sent)."""
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


def child_env() -> dict[str, str]:
    """A child's environment: this one, with this interpreter's sys.path (as
    multiprocessing's spawn passes it), so that it imports the same modules."""
    path = [p or os.getcwd() for p in sys.path]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


class Messages:
    """The worker's end of the message pipe (one JSON line per message)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, *message: Any) -> None:
        """Write one message; exit at once when the parent is gone (nobody reads it)."""
        data = json.dumps(message).encode() + b"\n"
        try:
            while data:
                data = data[os.write(self.fd, data) :]
        except BrokenPipeError:
            os._exit(3)


def main(argv: list[str] | None = None) -> None:
    """Entry point: read the task from stdin, run it, report on the pipe."""
    fd = int((argv or sys.argv[1:])[0])
    os.set_inheritable(fd, False)  # a subprocess of an agent must not hold it open
    stdin = sys.stdin.buffer
    sys.path[:] = pickle.load(stdin)  # before the task: its gateway is found on it
    task: WorkerTask = pickle.load(stdin)
    stdin.close()
    worker_main(task, Messages(fd))


def worker_main(task: WorkerTask, messages: Messages) -> None:
    """Run one shard; a failure is reported as one line and exit code 1."""
    from evals.run.locks import workers_lock
    from evals.store.workspace import Workspace, compact_segment

    sealed: list[str] = []
    try:
        ws = Workspace(task.workspace, create=False)
        with workers_lock(ws, task.run_id, fcntl.LOCK_SH):
            counters = run_async(_work(task, ws, messages, sealed))
    except BaseException as exc:
        for path in sealed:  # the parent compacts only what a finished worker reports
            compact_segment(Path(path))
        messages.send("error", f"{type(exc).__name__}: {exc}")
        raise SystemExit(1) from None
    messages.send("done", asdict(counters), sealed)


async def _work(task: WorkerTask, ws: Workspace, messages: Messages, sealed: list[str]) -> Counters:
    """Run the worker's shard. A local worker only seals its segments (their paths go
    to `sealed`): the parent compacts them once the workers have exited, because the
    DuckDB that compaction loads cost each worker 30-40 MB at the process tree's peak
    (issue 18: `--workers N` at most N x 0.6 of one process)."""
    from evals.agents import resolve_agent
    from evals.run.lanes import LaneRun
    from evals.run.links import link_finished_elsewhere
    from evals.run.plan import make_plan
    from evals.run.suite import load_suite

    suite = load_suite(task.suite_path)
    plan = make_plan(suite, limit=task.limit, full=task.full, lanes=task.lanes, workers=1)
    if plan.run_id != task.run_id:
        raise RuntimeError(
            f"the suite changed since the run started ({plan.run_id} != {task.run_id}); rerun"
        )
    agent = resolve_agent(suite.agent)
    models = [share_limits(m, task.shards) for m in suite.models]
    claims = ws.key_claims(task.run_id, task.journal_at)
    try:
        async with task.open_gateway(models, ws) as gateway:
            lanes = LaneRun(plan, ws.writer("trial"), gateway, agent, task.lanes, claims=claims)
            messages.send("ready")
            helpers = [
                asyncio.ensure_future(_report(messages, lanes.counters)),
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


async def _report(messages: Messages, counters: Counters) -> None:
    while True:
        await asyncio.sleep(0.5)
        messages.send("progress", asdict(counters))


if __name__ == "__main__":  # run as the module itself: the task's class is its own
    from evals.run.executors import worker

    worker.main()
