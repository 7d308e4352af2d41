"""The in-process executor: N asyncio lanes in this process (evals.run.lanes), the default.

One Python process drives a few hundred single-turn trials per second before its CPU is
the limit; past that, the processes or Ray executors spread the lanes over processes.
"""

from __future__ import annotations

import asyncio

from evals.run.event_loop import run_async
from evals.run.executors.base import ExecutionJob, show
from evals.run.lanes import Counters, LaneRun
from evals.run.progress import RunProgress
from evals.run.reviews import pending_jobs


class InProcessExecutor:
    """Runs the pending cells on asyncio lanes in this process."""

    name = "inprocess"

    def run(self, job: ExecutionJob) -> Counters:
        """Run every pending cell here (see Executor.run)."""
        return run_async(run_here(job))


async def run_here(job: ExecutionJob) -> Counters:
    """Run the pending cells in this process's event loop."""
    from evals.run.links import link_finished_elsewhere

    plan, ws = job.plan, job.ws
    claims = ws.key_claims(plan.run_id, job.journal_at)
    async with job.open_gateway(plan.suite.models, ws) as gateway:
        lanes = LaneRun(
            plan,
            ws.writer("trial"),
            gateway,
            job.agent,
            plan.lanes,
            claims=claims,
            finished=job.finished,
        )
        ticker = asyncio.ensure_future(tick(job.progress, lanes.counters))
        try:
            if plan.reviews is not None:
                return await lanes.run(pending_jobs(plan, job.finished))
            return await lanes.run(plan.pending(job.finished))
        finally:
            ticker.cancel()
            show(job.progress, lanes.counters)
            link_finished_elsewhere(ws, plan.run_id, lanes.reused, lanes.reused_into)
            claims.close()


async def tick(progress: RunProgress, counters: Counters, every_s: float = 0.25) -> None:
    """Refresh the progress bar periodically (not per trial: that would cost CPU)."""
    while True:
        show(progress, counters)
        await asyncio.sleep(every_s)
