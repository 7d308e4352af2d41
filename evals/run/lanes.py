"""Running trials: one trial with its errors classified, and N asyncio lanes of them.

Each finished trial goes straight to this process's segment file (one write), so a
kill -9 loses only the trials in flight, and memory is bounded by the lane count.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from evals.agents import Agent, AgentContext, AgentError, ToolBox
from evals.models.types import ChatModel, GatewayError
from evals.run.plan import RunPlan, is_finished
from evals.run.reviews import ReviewJob
from evals.run.trial import TrialSpec
from evals.schema import ErrorStep, Trace, Trial, TrialError, utcnow
from evals.store.backends.base import TrialKeyClaims
from evals.store.workspace import SegmentWriter

T = TypeVar("T")


@dataclass
class Counters:
    """Running totals of one process's trials (summed over workers for display)."""

    done: int = 0
    ok: int = 0
    infra_errors: int = 0
    agent_errors: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    llm_calls: int = 0

    def add_trial(self, trial: Trial) -> None:
        """Count one finished trial."""
        self.done += 1
        err = trial.trace.error
        if err is None:
            self.ok += 1
        elif err.kind == "infra":
            self.infra_errors += 1
        else:
            self.agent_errors += 1
        u = trial.trace.usage
        self.input_tokens += u.input_tokens
        self.cached_input_tokens += u.cached_input_tokens
        self.output_tokens += u.output_tokens
        self.cost_usd += u.cost_usd
        self.llm_calls += u.calls

    def merge(self, other: Counters) -> None:
        """Add another process's totals."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def failed(self) -> int:
        """Trials that produced no answer."""
        return self.infra_errors + self.agent_errors

    @property
    def tokens(self) -> int:
        """Input (cached included) and output tokens."""
        return self.input_tokens + self.cached_input_tokens + self.output_tokens


async def run_trial(plan: RunPlan, spec: TrialSpec, agent: Agent, gateway: ChatModel) -> Trial:
    """Run one cell and return its Trial (never raises except on cancellation)."""
    suite = plan.suite
    limits = suite.config.limits
    ctx = AgentContext(
        gateway=gateway,
        tools=ToolBox(plan.golden.manifest.tools, spec.case),
        question=plan.golden.questions.get(spec.case.question_id),
        params=suite.agent.params,
        max_steps=limits.max_steps,
        step_timeout_s=limits.step_timeout_s,
        repetition=spec.repetition,
        upstream=list(spec.upstream),
    )
    started, t0 = utcnow(), time.perf_counter()
    trace, error = await _guarded(agent, spec, ctx, limits.trial_timeout_s)
    trace.latency_s = time.perf_counter() - t0
    if error is None and trace.final_answer is None:
        error = TrialError(
            kind="agent", code="no_answer", message="the agent returned without a final answer"
        )
    if error is not None:
        trace.error = error
        trace.steps.append(
            ErrorStep(error_kind=f"{error.kind}:{error.code}", message=error.message)
        )
    return Trial(
        key=spec.key,
        run_id=spec.run_id or plan.run_id,
        dataset=plan.golden.name,
        dataset_hash=plan.golden.content_hash,
        case_id=spec.case.id,
        case_hash=spec.case_hash,
        question_id=spec.case.question_id,
        agent=suite.agent,
        model=spec.model,
        prompt=spec.prompt.name,
        prompt_hash=spec.prompt.sha256,
        repetition=spec.repetition,
        status="error" if error else "ok",
        trace=trace,
        started_at=started,
        finished_at=utcnow(),
        review=spec.review,
    )


async def _guarded(
    agent: Agent, spec: TrialSpec, ctx: AgentContext, timeout_s: float | None
) -> tuple[Trace, TrialError | None]:
    """Run the agent; map what it raises onto infra and agent errors.

    GatewayError (after the gateway's retries, or a step timeout) is infra; AgentError,
    the per-trial timeout and exceptions from the agent's own code are the agent's."""
    try:
        async with asyncio.timeout(timeout_s or None):  # no extra task, unlike wait_for
            trace = await agent(spec.case, spec.model, spec.prompt, ctx)
        if not isinstance(trace, Trace):
            return ctx.trace, TrialError(
                kind="agent",
                code="bad_trace",
                message=(f"the agent returned {type(trace).__name__}, not a Trace"),
            )
        return trace, None
    except GatewayError as exc:
        return ctx.trace, TrialError(kind="infra", code=exc.code, message=str(exc))
    except AgentError as exc:
        return ctx.trace, TrialError(kind="agent", code=exc.code, message=str(exc))
    except TimeoutError:
        return ctx.trace, TrialError(
            kind="agent",
            code="trial_timeout",
            message=(f"the trial exceeded its timeout of {timeout_s:g}s"),
        )
    except Exception as exc:  # a bug in the agent's own code fails its trial, not the run
        return ctx.trace, TrialError(
            kind="agent", code="exception", message=f"{type(exc).__name__}: {exc}"
        )


@dataclass
class LaneRun:
    """Runs trial specs on N asyncio lanes, streaming each Trial to a segment writer.

    With `claims`, a key another run is running is deferred to the end and then waited
    for, and a key another run finished meanwhile is not run but noted in `reused`
    (the caller links it): see evals.store.key_claims."""

    plan: RunPlan
    writer: SegmentWriter
    gateway: ChatModel
    agent: Agent
    lanes: int
    counters: Counters = field(default_factory=Counters)
    on_trial: Callable[[Trial], None] | None = None
    claims: TrialKeyClaims | None = None
    reused: dict[str, str] = field(default_factory=dict)
    """Key -> the run that finished it while this one was running (to link)."""
    reused_into: dict[str, str] = field(default_factory=dict)
    """Key -> the run to link it into, when not the plan's (a review's teacher run)."""

    finished: Container[str] = ()
    """Keys finished before this run (review jobs skip their finished nodes)."""

    async def run(self, specs: Iterator[TrialSpec] | Iterator[ReviewJob]) -> Counters:
        """Run every spec (or review job: its nodes in order on one lane); returns the
        totals. A bounded queue fed lazily from the generator keeps memory
        proportional to the lanes, not to the matrix."""
        deferred: list[TrialSpec] = []
        await self._drain(specs, deferred, wait=False)
        if deferred:  # keys other runs held: wait for each, then link or run it
            await self._drain(iter(deferred), [], wait=True)
        return self.counters

    async def _drain(
        self,
        specs: Iterator[TrialSpec] | Iterator[ReviewJob],
        deferred: list[TrialSpec],
        wait: bool,
    ) -> None:
        queue: asyncio.Queue[TrialSpec | ReviewJob | None] = asyncio.Queue(
            maxsize=2 * self.lanes
        )

        async def produce() -> None:
            for spec in specs:
                await queue.put(spec)
            for _ in range(self.lanes):
                await queue.put(None)

        async def lane() -> None:
            while (spec := await queue.get()) is not None:
                if isinstance(spec, ReviewJob):
                    await spec.run_in(self, self.finished)
                else:
                    await self._one(spec, deferred, wait)

        tasks = [asyncio.ensure_future(produce())]
        tasks += [asyncio.ensure_future(lane()) for _ in range(self.lanes)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _store(self, call: Callable[..., T], *args: Any) -> T:
        """A claims or writer call: in a thread when it is a network round trip (a
        workspace on an object store), so the lanes keep running meanwhile; inline on
        a local workspace, where it is a system call."""
        if getattr(self.writer, "remote", False):
            return await asyncio.to_thread(call, *args)
        return call(*args)

    async def _one(self, spec: TrialSpec, deferred: list[TrialSpec], wait: bool) -> None:
        claims = self.claims
        if claims is not None and not wait and not await self._store(claims.try_claim, spec.key):
            deferred.append(spec)
            return
        await self.run_claimed(spec, already_claimed=claims is not None and not wait)

    async def run_claimed(self, spec: TrialSpec, already_claimed: bool = False) -> Trial | None:
        """Run one cell under its key's claim (waiting for another run that holds it) and
        record it; None when another run finished the key meanwhile (noted in `reused`).
        Review nodes run through here one after another (ReviewJob.run_in)."""
        claims = self.claims
        if claims is not None:
            if not already_claimed:
                await asyncio.to_thread(claims.wait_claim, spec.key)
            other = await self._store(claims.finished_by, spec.key)
            if other is not None:
                await self._store(claims.release, spec.key)
                self.reused[spec.key] = other
                if spec.run_id is not None and spec.run_id != self.plan.run_id:
                    self.reused_into[spec.key] = spec.run_id
                return None
        try:
            trial = await run_trial(self.plan, spec, self.agent, self.gateway)
            await self._store(self.writer.append, trial)
            if claims is not None and is_finished(trial):
                # Before the release: the next holder sees it.
                await self._store(claims.mark_done, spec.key)
        finally:
            if claims is not None:
                await self._store(claims.release, spec.key)
        self.counters.add_trial(trial)
        if self.on_trial is not None:
            self.on_trial(trial)
        return trial
