"""The executor seam: where the pending trials of a run execute.

`evals.run.runner.run_suite` plans the matrix, takes the run's lock, writes the manifest and
reads the finished keys; then it hands the pending cells to an executor and, once the
executor returns, summarises the whole matrix from the store. An executor only runs
trials: every trial it runs is appended to the workspace by the process that ran it
(one segment writer per process, the store's design), and it returns the summed
counters. So judging, review runs, gates and reports never know which one ran.

Three executors (`executor:` in the suite, `--executor` on the command line):

- ``inprocess`` (evals.run.executors.inprocess): N asyncio lanes in this process (default);
- ``processes`` (evals.run.executors.processes): `--workers N` local worker processes,
  the keys sharded by hash;
- ``ray`` (evals.run.executors.ray): shards of keys to Ray actors on a cluster, each running
  the same asyncio lanes, a cluster-wide rate limiter, lost shards re-queued.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Protocol

from evals.agents import Agent
from evals.errors import RunError
from evals.models.gateway import GatewayOpener
from evals.run.lanes import Counters
from evals.run.plan import RunPlan
from evals.run.progress import RunProgress
from evals.store.workspace import Workspace


class ExecutorError(RunError):
    """An executor that cannot run or lost trials for good (one line for the CLI)."""


@dataclass
class ExecutionJob:
    """What an executor gets: the plan and everything the runner read before it."""

    plan: RunPlan
    ws: Workspace
    agent: Agent
    finished: AbstractSet[str]
    """The matrix's keys finished before this invocation (by any run)."""
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



def show(progress: RunProgress, c: Counters) -> None:
    """Push counters to the progress bar."""
    progress.update(c.done, c.failed, c.tokens, c.cost_usd)


def total(parts: Any) -> Counters:
    """Sum of several processes' counters."""
    out = Counters()
    for counters in parts:
        out.merge(counters)
    return out
