"""Judging a run: every trial through the cascade, exactly once, resumable after a kill.

``judge_run(ws, run_id, spec, golden)``:

1. takes the run's judging lock (one `evals judge` per run at a time, across processes;
   the kernel releases it on kill -9);
2. counts the run's trials (its own and those linked from other runs, one record per
   key, an infrastructure failure's retry preferred, as the ``trials`` view does) from
   their typed columns, then streams them with the verdicts already stored for them
   (judges.judge_stream: memory flat in the number of trials; the golden set may be
   read lazily, a case at a time);
3. excludes trials without an answer because of an infrastructure error (counted apart:
   they are the harness's fault, not the agent's, and a rerun of the suite may still fill
   them in) and trials whose case is no longer in the golden set, or has changed;
4. judges the rest on a few asyncio lanes, appending each verdict the moment it exists;
   a trial whose final cascade verdict is stored is skipped, and a stage verdict already
   stored is reused, so a rerun spends nothing twice; a verdict that abstained because
   its judge was unreachable (gateway error after retries, timeout) is not reused: the
   rerun asks again, as the runner retries a trial's infrastructure error;
5. computes the funnel from the store (each trial's stored verdicts, added up as its
   judging ends: judges.funnel.FunnelTally), records it (kind ``cascade_funnel``), and
   closes the workspace (seal and compact).

Verdicts join a run through their ``trial_key`` (a trial reused from another run keeps
that run's ``run_id``); use ``run_trials_sql`` or the trial keys, not ``verdicts.run_id``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import orjson

from evals.dataset.golden import GoldenSet, GoldenSetError, case_hash
from evals.errors import RunError
from evals.models.gateway import GatewayOpener, workspace_gateway
from evals.models.types import ChatModel
from evals.run.event_loop import run_async
from evals.schema import Case, ModelSpec, Trial, Verdict
from evals.store.query import (
    LEAN_THREADS,
    TRIAL_PREFERENCE,
    deduped_sql,
    query,
    query_tuples,
    run_members_sql,
)
from evals.store.workspace import LockBusy, Workspace
from judges.base import JudgeEnv, is_infra_error
from judges.calibration_store import load_calibrations
from judges.cascade import Cascade
from judges.config import CascadeSpec
from judges.funnel import Funnel, FunnelTally
from judges.judge_stream import (
    EXCLUDED_CASE,
    EXCLUDED_INFRA,
    JudgingCases,
    exclusion,
    first_pass,
    stream_trials,
)
from judges.judge_writes import NewVerdicts, VerdictSegments

ROTATE_VERDICTS = 2_500
"""Verdicts per segment a judging writes: each is sealed when full and compacted once the
trials' stream has ended (VerdictSegments), because compaction's memory grows with the
segment (DuckDB's reader and Parquet writer: about 0.8 MB per 1,000 records, measured),
and one segment of a 100,000-trial run's 300,000 verdicts made the end of `evals judge`
its peak."""


class JudgingError(RunError):
    """Judging that cannot start (one line for the CLI)."""


def run_trials_sql(ws: Workspace) -> str:
    """SQL (parameter $run) for the bodies of a run's trials, one per key: the record the
    ``trials`` view keeps (evals.store.query.TRIAL_PREFERENCE, deduped_sql) of each trial the
    run holds (evals.store.query.run_members_sql)."""
    members = run_members_sql("$run", run_col="body->>'$.run_id'", key_col="body->>'$.key'")
    records = deduped_sql("raw_trial", "body->>'$.key'", "body", TRIAL_PREFERENCE)
    return f"SELECT body FROM ({records}) WHERE {members} ORDER BY body->>'$.key'"


def load_run_trials(ws: Workspace, run_id: str) -> list[Trial]:
    """A run's trials (see the module docstring)."""
    rows = query(ws, run_trials_sql(ws), {"run": run_id})
    return [Trial.model_validate(_json(r["body"])) for r in rows]


def load_verdicts(ws: Workspace, trial_keys: set[str]) -> dict[str, Verdict]:
    """Stored verdicts of these trials by key (first written wins, as in the view).

    Verdicts of an unreachable or crashed judge (Verdict.infra_error, Verdict.crashed)
    are left out, so this invocation judges those trials again; the `verdicts` view
    prefers the retry's."""
    out: dict[str, Verdict] = {}
    for body in ws.iter_bodies("verdict"):
        if (
            body.get("infra_error")
            or body.get("crashed")
            or body.get("trial_key") not in trial_keys
        ):
            continue
        if body["key"] not in out:
            out[body["key"]] = Verdict.model_validate(body)
    return out


def _json(value: object) -> object:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def judge_models(spec: CascadeSpec, known: list[ModelSpec]) -> list[ModelSpec]:
    """Model specs for the gateway: the known ones (the run's and the suite's), plus a
    default spec (temperature 0) for a judge model given as a bare model string."""
    models = {m.alias: m for m in known}
    for stage in spec.stages:
        for j in stage.judges:
            if isinstance(j.model, ModelSpec):
                models[j.model.alias] = j.model
            elif j.model and j.model not in models:
                models[j.model] = ModelSpec(alias=j.model, model=j.model, params={"temperature": 0})
    return list(models.values())


@contextmanager
def judging_lock(ws: Workspace, run_id: str) -> Iterator[None]:
    """One `evals judge` per run at a time."""
    held = ExitStack()
    try:
        held.enter_context(ws.try_lock(f"judge-{run_id}"))
    except LockBusy as exc:
        raise JudgingError(f"run {run_id} is being judged by another process ({exc})") from None
    with held:
        yield


@dataclass
class JudgeRunResult:
    """What one `evals judge` did, and the run's funnel afterwards."""

    funnel: Funnel
    judged: int = 0
    """Trials given a final verdict by this invocation."""
    already: int = 0
    """Candidates whose final verdict was stored before (skipped)."""
    new_verdicts: int = 0
    """Verdicts written by this invocation (stage and final)."""
    unreachable: int = 0
    """Of the trials judged now, those left abstaining because a judge could not be
    reached (Verdict.infra_error): the next invocation asks again."""
    crashes: dict[str, int] = field(default_factory=dict)
    """Stage verdicts written now whose judge crashed (Verdict.crashed), by
    'stage/judge': errors, not abstentions."""
    first_crash: dict[str, str] = field(default_factory=dict)
    """The first crash's error of each 'stage/judge'."""
    all_crashed: list[str] = field(default_factory=list)
    """Stages where every verdict written now is a crash (the stage judged nothing)."""


def split_candidates(
    trials: list[Trial], golden: GoldenSet
) -> tuple[list[tuple[Trial, Case]], Counter[str]]:
    """Trials to judge with their cases, and the excluded ones counted by reason."""
    cases = {c.id: c for c in golden.cases}
    out: list[tuple[Trial, Case]] = []
    excluded: Counter[str] = Counter()
    for trial in trials:
        case = cases.get(trial.case_id)
        if is_infra_error(trial):
            excluded[EXCLUDED_INFRA] += 1
        elif case is None or case_hash(case) != trial.case_hash:
            excluded[EXCLUDED_CASE] += 1
        else:
            out.append((trial, case))
    return out, excluded


async def judge_candidates(
    cascade: Cascade,
    golden: GoldenSet,
    todo: list[tuple[Trial, Case]],
    stored: dict[str, Verdict],
    emit: Callable[[Verdict], None],
    concurrency: int = 4,
    on_trial: Callable[[Verdict], None] | None = None,
) -> None:
    """Judge trials on `concurrency` lanes; each verdict goes to `emit` as it is made."""
    queue = iter(todo)

    async def lane() -> None:
        for trial, case in queue:
            final = await cascade.judge(trial, case, golden.question_for(case), stored, emit)
            if on_trial is not None:
                on_trial(final)

    await asyncio.gather(*(lane() for _ in range(max(1, concurrency))))


def judge_run(
    ws: Workspace,
    run_id: str,
    spec: CascadeSpec,
    golden: GoldenSet | JudgingCases,
    *,
    known_models: list[ModelSpec] | None = None,
    open_gateway: GatewayOpener = workspace_gateway,
    concurrency: int = 4,
    on_start: Callable[[int, int], None] | None = None,
    on_trial: Callable[[Verdict], None] | None = None,
) -> JudgeRunResult:
    """Judge a run's trials through the cascade (see the module docstring), streaming
    them (judges.judge_stream: memory flat in the number of trials; `golden` may be a
    lazily loaded set, JudgingCases.load).

    on_start(to_judge, already_judged) and on_trial(final_verdict) feed a progress bar."""
    cases = golden if isinstance(golden, JudgingCases) else JudgingCases(golden)
    segments = VerdictSegments(ws)
    try:
        with judging_lock(ws, run_id):
            # Any record of the run (not the de-duplicated view: that holds every key).
            members = run_members_sql("$run", "t")
            found = query_tuples(
                ws, f"SELECT 1 FROM facts_trial t WHERE {members} LIMIT 1",
                {"run": run_id},  # type: ignore[arg-type]
                threads=LEAN_THREADS,
            )
            if not found:
                raise JudgingError(f"run {run_id} has no trials in {ws.root}")
            return run_async(
                _judge(ws, run_id, spec, cases, known_models or [], open_gateway,
                       max(1, concurrency), segments, on_start, on_trial)
            )
    finally:
        try:
            segments.compact()
        finally:
            ws.close()


@dataclass
class _Pass:
    """One judging pass over a run: a producer streams the trials still to judge into a
    bounded queue, ``lanes`` lanes judge them; what they share."""

    ws: Workspace
    run_id: str
    cases: JudgingCases
    cascade: Cascade
    tally: FunnelTally
    new: NewVerdicts
    segments: VerdictSegments
    on_trial: Callable[[Verdict], None] | None
    lanes: int
    queue: asyncio.Queue[tuple[Trial, Case, dict[str, Verdict]] | None] = field(init=False)

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(maxsize=2 * self.lanes)

    async def produce(self) -> None:
        """Queue each trial to judge (counting the ones judged before), then one stop
        per lane."""
        cases, cascade = self.cases, self.cascade
        for trial, stored in stream_trials(self.ws, self.run_id):
            error = trial.trace.error.kind if trial.trace.error else None
            if exclusion(error, trial.case_id, trial.case_hash, cases) is not None:
                continue
            if cascade.final_key(trial.key) in stored:
                self.tally.add(trial.key, stored)  # judged before: counted, not judged
                continue
            try:
                case = cases.case(trial.case_id)
            except GoldenSetError as exc:  # a lazy set edited while judging
                raise JudgingError(str(exc.problems[0])) from None
            await self.queue.put((trial, case, stored))
        for _ in range(self.lanes):
            await self.queue.put(None)

    async def lane(self) -> None:
        """Judge queued trials until a stop, each verdict written as it comes."""
        while (item := await self.queue.get()) is not None:
            trial, case, stored = item

            def emit(verdict: Verdict, stored: dict[str, Verdict] = stored) -> None:
                self.ws.append("verdict", verdict)
                stored[verdict.key] = verdict
                self.new.add(verdict)
                if self.new.count % ROTATE_VERDICTS == 0:
                    self.segments.rotate()

            question = self.cases.golden.question_for(case)
            final = await self.cascade.judge(trial, case, question, stored, emit)
            self.tally.add(trial.key, stored)  # its verdicts as stored, then dropped
            if self.on_trial is not None:
                self.on_trial(final)


async def _judge(
    ws: Workspace,
    run_id: str,
    spec: CascadeSpec,
    cases: JudgingCases,
    known_models: list[ModelSpec],
    open_gateway: GatewayOpener,
    lanes: int,
    segments: VerdictSegments,
    on_start: Callable[[int, int], None] | None,
    on_trial: Callable[[Verdict], None] | None,
) -> JudgeRunResult:
    # The verdict segment is created by the first verdict (Workspace.append), after the
    # stream's views listed the segments: the stream never re-reads what this judging
    # writes (each trial is judged once), which would grow with every trial judged.
    new = NewVerdicts()
    needs_llm = any(j.model for s in spec.stages for j in s.judges)
    async with _maybe_gateway(
        needs_llm, judge_models(spec, known_models), ws, open_gateway
    ) as gateway:
        cascade = Cascade(spec, JudgeEnv(gateway=gateway), load_calibrations(ws))
        counts = first_pass(ws, run_id, cases, cascade.final_key)
        if on_start is not None:
            on_start(counts.candidates - counts.already, counts.already)
        tally = FunnelTally(run_id, cascade, counts.trials, counts.excluded, counts.candidates)
        judging = _Pass(ws, run_id, cases, cascade, tally, new, segments, on_trial, lanes)
        await asyncio.gather(judging.produce(), *(judging.lane() for _ in range(lanes)))
    funnel = tally.finish()
    funnel.check()
    ws.append("cascade_funnel", funnel)
    result = JudgeRunResult(
        funnel,
        judged=counts.candidates - counts.already,
        already=counts.already,
        new_verdicts=new.count,
        unreachable=new.unreachable,
    )
    _fill_crashes(result, spec, new)
    return result


def _fill_crashes(result: JudgeRunResult, spec: CascadeSpec, new: NewVerdicts) -> None:
    """The result's crash counts (per "stage/judge"), from the counters of the verdicts
    written now."""
    for (stage, judge), n in new.crashes.items():
        where = f"{spec.stages[stage].stage}/{judge}"
        result.crashes[where] = result.crashes.get(where, 0) + n
        result.first_crash.setdefault(where, new.first_crash[(stage, judge)])
    result.all_crashed = [
        spec.stages[i].stage
        for i, n in sorted(new.per_stage.items())
        if new.crashed_per_stage[i] == n
    ]


@asynccontextmanager
async def _maybe_gateway(
    needed: bool, models: list[ModelSpec], ws: Workspace, open_gateway: GatewayOpener
) -> AsyncIterator[ChatModel | None]:
    if not needed:
        yield None
        return
    async with open_gateway(models, ws) as gateway:
        yield gateway
