"""The executor seam: where the pending trials of a run execute.

`evals.runner.run_suite` plans the matrix, takes the run's lock, writes the manifest and
reads the finished keys; then it hands the pending cells to an executor and, once the
executor returns, summarises the whole matrix from the store. An executor only runs
trials: every trial it runs is appended to the workspace by the process that ran it
(one segment writer per process, the store's design), and it returns the summed
counters. So judging, review runs, gates and reports never know which one ran.

Three executors (`executor:` in the suite, `--executor` on the command line):

- ``inprocess`` (evals.executors.inprocess): N asyncio lanes in this process (default);
- ``processes`` (evals.executors.processes): `--workers N` local worker processes,
  the keys sharded by hash;
- ``ray`` (evals.executors.ray): shards of keys to Ray actors on a cluster, each running
  the same asyncio lanes, a cluster-wide rate limiter, lost shards re-queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from evals.agents import Agent
from evals.executors.config import EXECUTOR_KINDS, ExecutorConfig, ExecutorKind
from evals.lanes import Counters
from evals.models.gateway import GatewayOpener
from evals.plan import RunPlan
from evals.run_report import RunProgress
from evals.store import Workspace


class ExecutorError(Exception):
    """An executor that cannot run or lost trials for good (one line for the CLI)."""


@dataclass
class ExecutionJob:
    """What an executor gets: the plan and everything the runner read before it."""

    plan: RunPlan
    ws: Workspace
    agent: Agent
    finished: dict[str, str]
    """Keys finished before this invocation (any run) -> the run that recorded them."""
    open_gateway: GatewayOpener
    progress: RunProgress
    journal_at: int = 0
    """Where the finished-keys journal ended before `finished` was read (key_claims)."""


class Executor(Protocol):
    """Runs a job's pending cells; returns the counters of the trials it ran."""

    name: str
    """As printed and benchmarked: inprocess, processes or ray."""

    def run(self, job: ExecutionJob) -> Counters:
        """Run every pending cell, each recorded once by the process that ran it; raises
        ExecutorError when trials could not be run (the store keeps what was)."""
        ...


@dataclass
class Selection:
    """The executor chosen for one invocation, after suite and command line."""

    kind: ExecutorKind
    config: ExecutorConfig
    workers: int
    """processes: worker processes."""


def select_executor(
    config: ExecutorConfig | None,
    *,
    kind: str | None = None,
    ray_address: str | None = None,
    workers: int | None = None,
    plan_workers: int = 1,
) -> Selection:
    """Command line over suite over default. `--ray-address` alone means ray;
    `--workers N` sizes the processes executor (and alone, N > 1, selects it)."""
    config = config or ExecutorConfig()
    if kind is not None and kind not in EXECUTOR_KINDS:
        raise ExecutorError(f"unknown executor {kind!r}; known: {', '.join(EXECUTOR_KINDS)}")
    chosen = kind or ("ray" if ray_address else None) or config.kind
    size = workers or config.workers or plan_workers
    if chosen is None:
        chosen = "processes" if size > 1 else "inprocess"
    if ray_address:
        config = config.model_copy(update={"address": ray_address})
    return Selection(chosen, config, size)  # type: ignore[arg-type]


def make_executor(selection: Selection) -> Executor:
    """The executor of a selection (Ray imported only when chosen)."""
    if selection.kind == "processes":
        from evals.executors.processes import ProcessesExecutor

        return ProcessesExecutor(selection.workers)
    if selection.kind == "ray":
        from evals.executors.ray import RayExecutor

        return RayExecutor(selection.config)
    from evals.executors.inprocess import InProcessExecutor

    return InProcessExecutor()


def show(progress: RunProgress, c: Counters) -> None:
    """Push counters to the progress bar."""
    progress.update(c.done, c.failed, c.tokens, c.cost_usd)


def total(parts: Any) -> Counters:
    """Sum of several processes' counters."""
    out = Counters()
    for counters in parts:
        out.merge(counters)
    return out
