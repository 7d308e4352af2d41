"""The matrix runner: cases × models × prompt versions × repetitions, resumable.

``run_suite(suite, ws)`` does one invocation of `evals run`:

1. plans the matrix (evals.run.plan) and resolves the agent, failing early on bad input;
2. takes the run's lock (one invocation per run id at a time, across processes);
3. writes the RunManifest (a ``run`` record, once per invocation);
4. reads the finished keys from the workspace and links trials reused from other runs;
5. hands what remains to an executor (evals.run.executors: asyncio lanes in this process,
   local worker processes, or Ray actors), each trial streamed to the store as it
   finishes, with a live progress bar;
6. closes the workspace (seals and compacts this process's segments) and summarises the
   whole matrix from the store (evals.run.progress), over the compacted typed columns.

Run ids
    Derived from the suite's identity (evals.run.suite.Suite.run_id): rerunning a suite, or
    running it `--full` after a subset, continues the same run, so `evals judge RUN` and
    `evals compare` refer to one stable id. Resume is by trial key, across runs: a trial
    recorded by another run with the same key is not redone but linked with a
    ``run_link`` record; every trial of a run, reused ones included, is
    ``RUN_TRIALS_SQL``.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field

from rich.console import Console

from evals.agents import Agent, resolve_agent
from evals.errors import RunError
from evals.models.gateway import GatewayOpener, workspace_gateway
from evals.run.executors.base import ExecutionJob
from evals.run.executors.select import Selection, make_executor, select_executor
from evals.run.lanes import Counters
from evals.run.links import link_reused
from evals.run.locks import run_lock
from evals.run.plan import FinishedKeys, RunPlan, finished_keys, make_plan
from evals.run.progress import RunProgress, RunSummary, render_summary, summarise
from evals.run.suite import Suite
from evals.schema import RunManifest
from evals.store.key_claims import journal_end
from evals.store.views import run_members_sql  # not evals.store.query: DuckDB (see _finished)
from evals.store.workspace import Workspace

RUN_TRIALS_SQL = f"SELECT * FROM trials t WHERE {run_members_sql('$run')}"
"""Every trial of a run, reused ones included: query(ws, RUN_TRIALS_SQL, {'run': id})."""


@dataclass
class RunOptions:
    """Command-line overrides of a suite."""

    limit: int | None = None
    """Run only the first N selected cases (overrides the suite's `limit`)."""
    full: bool = False
    """Ignore any limit: every selected case."""
    lanes: int | None = None
    """Concurrent trials (overrides `limits.lanes`)."""
    workers: int | None = None
    """Worker processes (overrides `limits.workers`; the processes executor's size)."""
    progress: bool = True
    """Show the live progress bar."""
    executor: str | None = None
    """inprocess, processes or ray (overrides the suite's `executor:`)."""
    ray_address: str | None = None
    """The Ray cluster to join (overrides `executor.address`; implies ray)."""


@dataclass
class RunResult:
    """What one invocation did."""

    run_id: str
    total: int
    """Cells in the matrix."""
    skipped: int
    """Cells already finished before this invocation (not rerun)."""
    linked: int
    """Of those, cells reused from other runs (run_link records written)."""
    counters: Counters = field(default_factory=Counters)
    """Trials run by this invocation."""
    summary: RunSummary | None = None
    """The whole matrix, read back from the store."""
    elapsed_s: float = 0.0
    """Wall time of the trials phase."""
    cpu_s: float = 0.0
    """CPU time (user + system) of this process and its workers during that phase
    (Ray actors' CPU is not included: they run in other process trees)."""
    executor: str = "inprocess"
    """The executor that ran the trials."""
    run_ids: list[str] = field(default_factory=list)
    """Every run recorded (a review suite's free run, then its teacher run)."""


def manifest(plan: RunPlan, run_id: str | None = None) -> RunManifest:
    """The run record written at the start of every invocation (one per run of a
    review suite's modes)."""
    s = plan.suite
    run_id = run_id or plan.run_id
    review = (
        {}
        if plan.reviews is None
        else {
            "review_mode": "free" if run_id == plan.run_id else "teacher",
            "review_of": plan.run_id,
            "reviews": len(plan.reviews),
        }
    )
    return RunManifest(
        run_id=run_id,
        suite=str(s.path),
        suite_hash=s.suite_hash(),
        dataset=plan.golden.name,
        dataset_hash=plan.golden.content_hash,
        models=s.models,
        prompts=[p.name for p in s.prompts],
        agent=s.agent,
        repetitions=s.config.repetitions,
        config={
            **s.config.model_dump(mode="json"),
            "prompt_hashes": {p.name: p.sha256 for p in s.prompts},
            "cases": len(plan.refs),
            **review,
        },
    )


def _one_process_when_needed(selection: Selection, plan: RunPlan, console: Console) -> Selection:
    """Local models and review suites run in this process whatever was asked."""
    why = None
    if any(m.model.startswith("local/") for m in plan.suite.models):
        why = "local models run in one process"  # each would start its own llama.cpp
    elif plan.reviews is not None:
        why = "review suites run in one process"  # a review's nodes run in order on a lane
    if why is None or selection.kind == "inprocess":
        return selection
    what = "--workers" if selection.kind == "processes" else f"--executor {selection.kind}"
    console.print(f"{why}: {what} ignored", markup=False)
    plan.workers = 1
    return Selection("inprocess", selection.config, 1)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class Prepared:
    """A run checked and planned, before anything is written (see prepare_run)."""

    plan: RunPlan
    agent: Agent
    executor: Selection


def prepare_run(suite: Suite, options: RunOptions | None = None) -> Prepared:
    """Validate the golden set, plan the matrix, resolve the agent and check the API
    keys: everything that can fail on input, done before the workspace is touched
    (a failing `evals run` on a new path must leave nothing behind)."""
    options = options or RunOptions()
    plan = make_plan(
        suite, limit=options.limit, full=options.full, lanes=options.lanes, workers=options.workers
    )
    agent = resolve_agent(suite.agent)
    # An ExecutorError is a RunError (an unknown name: an input error, exit 2).
    selection = select_executor(
        suite.config.executor,
        kind=options.executor,
        ray_address=options.ray_address,
        workers=options.workers,
        plan_workers=plan.workers,
    )
    if selection.kind == "ray":  # without the extra: fail before the workspace exists
        from evals.run.executors.ray import import_ray

        import_ray(local=selection.config.address is None)
    for model in suite.models:  # fail before recording a trial per cell as infra:auth
        if model.api_key_env and not os.environ.get(model.api_key_env):
            raise RunError(
                f"{suite.path}: model {model.alias!r}: environment variable "
                f"{model.api_key_env} (its API key) is not set"
            )
    return Prepared(plan, agent, selection)


def _finished(
    ws: Workspace, plan: RunPlan, selection: Selection
) -> tuple[FinishedKeys, dict[str, set[str]]]:
    """The finished keys, and the keys already linked into the runs when read with them.
    With worker processes, read by a child (evals.run.executors.lookup): DuckDB, once
    imported, would stay resident in this process for as long as the workers run."""
    if selection.kind != "processes":
        return finished_keys(ws), {}
    from evals.run.executors.lookup import finished_apart

    found = finished_apart(ws, plan.run_ids())
    return found.finished, found.linked


def run_suite(
    suite: Suite,
    ws: Workspace,
    options: RunOptions | None = None,
    *,
    console: Console | None = None,
    open_gateway: GatewayOpener = workspace_gateway,
    prepared: Prepared | None = None,
) -> RunResult:
    """Run a suite's matrix (see the module docstring); prints progress and summary.

    `prepared`: the result of prepare_run (done here when not given)."""
    options = options or RunOptions()
    console = console or Console()
    prepared = prepared or prepare_run(suite, options)
    plan, agent = prepared.plan, prepared.agent
    selection = _one_process_when_needed(prepared.executor, plan, console)
    executor = make_executor(selection)
    plan.workspace = ws
    try:
        with run_lock(ws, plan.run_id):
            # The teacher run first: `suite-*` patterns then pick the free run (newest).
            for run_id in reversed(plan.run_ids()):
                ws.append("run", manifest(plan, run_id))
            journal_at = journal_end(ws.root)  # before the snapshot (evals.store.key_claims)
            finished, linked_keys = _finished(ws, plan, selection)
            keys_by_run = plan.keys_by_run()
            done = frozenset(k for ks in keys_by_run.values() for k in ks if k in finished)
            skipped = len(done)
            linked = sum(
                link_reused(ws, r, finished, ks, linked_keys.get(r))
                for r, ks in keys_by_run.items()
            )
            del finished  # every other key the workspace finished: not needed from here
            result = RunResult(plan.run_id, plan.total, skipped, linked)
            result.run_ids = plan.run_ids()
            start, cpu0 = time.perf_counter(), _cpu_seconds()
            with RunProgress(console, plan.total, skipped, options.progress) as progress:
                if plan.total != skipped:  # else no gateway (litellm's import is seconds)
                    job = ExecutionJob(
                        plan, ws, agent, done, open_gateway, progress, journal_at
                    )
                    result.counters = executor.run(job)  # ExecutorError: a RunError
            result.executor = executor.name
            result.elapsed_s = time.perf_counter() - start
            result.cpu_s = _cpu_seconds() - cpu0
            # Compact this process's segments first: the summary then reads the typed
            # columns of Parquet instead of parsing every body of the run's JSONL segment
            # (at 10,000 trials +240 MB of RSS, growing with the run: issue 18).
            ws.close()
            summaries = [summarise(ws, r, ks) for r, ks in keys_by_run.items()]
            result.summary = summaries[0]
    finally:
        ws.close()
    for summary in summaries:
        render_summary(summary, console)
    return result
