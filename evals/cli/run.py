"""`evals run SUITE`: replay a suite's matrix, resumably, with a live progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evals.cli.common import (
    DEFAULT_WORKSPACE,
    EXIT_ERROR,
    EXIT_INVALID,
    WorkspaceOpt,
    console,
    fail,
)

if TYPE_CHECKING:
    from evals.analysis.suite_gates import SuiteGate
    from evals.run.runner import RunOptions, RunResult
    from evals.run.suite import Suite
    from evals.store.workspace import Workspace


SuiteArg = Annotated[Path, typer.Argument(help="Suite YAML file, e.g. suites/edd_demo.yaml.")]

LimitOpt = Annotated[
    int | None,
    typer.Option("--limit", min=1, help="Only the first N cases (round-robin over questions)."),
]

FullOpt = Annotated[
    bool, typer.Option("--full", help="Every case of the set: ignore the suite's `limit`.")
]

LanesOpt = Annotated[
    int | None,
    typer.Option("--lanes", "-c", min=1, help="Concurrent trials (overrides limits.lanes)."),
]

WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        max=64,
        help="Worker processes sharing the trials (overrides limits.workers).",
    ),
]

ExecutorOpt = Annotated[
    str | None,
    typer.Option(
        "--executor",
        help="Where trials run: inprocess, processes (--workers N) or ray "
        "(overrides the suite's executor; docs/executors.md).",
    ),
]

RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="Ray cluster to run on (e.g. auto, HOST:6379); implies --executor ray.",
    ),
]

ProgressOpt = Annotated[
    bool, typer.Option("--progress/--no-progress", help="Show the live progress bar.")
]

JudgeOpt = Annotated[
    bool, typer.Option("--judge/--no-judge", help="Judge the run with the suite's judges.")
]

JunitOpt = Annotated[
    Path | None,
    typer.Option("--junit", help="Write JUnit XML: a test case per question and gate check."),
]


def run(
    suite: SuiteArg,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    limit: LimitOpt = None,
    full: FullOpt = False,
    lanes: LanesOpt = None,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = None,
    ray_address: RayAddressOpt = None,
    progress: ProgressOpt = True,
    judge: JudgeOpt = True,
    junit: JunitOpt = None,
) -> None:
    """Run cases × models × prompt versions × repetitions; finished trials are skipped.

    Every trial is streamed to the workspace as it finishes; a rerun (after a crash, a
    kill or Ctrl-C) finishes only what is missing, and trials that failed on
    infrastructure (rate limits, 5xx, timeouts) are retried. Ends with a summary per
    model × prompt, then, when the suite lists judges, judges the run (as `evals judge`
    does: exactly once, the funnel printed; --no-judge skips it), then applies the
    suite's `gates:` (exit codes as `evals gate`: 0 ship, 3 fail, 4 undecided).
    """
    from evals.cli.judge import judge_after_run, suite_cascade
    from evals.run.runner import RunOptions
    from evals.run.suite import load_suite

    loaded = load_suite(suite)
    cascade = suite_cascade(loaded) if judge else None  # a bad judges list fails first
    gates: list[SuiteGate] = []
    if loaded.config.gates:  # the gates import scipy (77 MB of RSS): only when named
        from evals.analysis.suite_gates import load_suite_gates

        gates = load_suite_gates(loaded)  # so do bad gates: exit 2 before any trial
    options = RunOptions(limit=limit, full=full, lanes=lanes, workers=workers,
                         progress=progress, executor=executor, ray_address=ray_address)  # fmt: skip
    ws, result = _execute(loaded, workspace, options)
    summary = result.summary
    infra = _print_invocation(result)
    if summary is not None and summary.recorded and not summary.count("ok"):
        # Every trial failed (a wrong key, no network, a provider typo): CI must see red.
        fail(
            f"no trial produced an answer ({summary.recorded} recorded, all failed; "
            "first errors above)"
        )
    if cascade is not None:
        for run_id in result.run_ids:
            judge_after_run(ws, run_id, loaded, cascade, progress)
    from evals.cli.run_gates import finish_run

    pending = infra + (summary.missing if summary is not None else 1)
    code = finish_run(ws, result.run_id, gates, junit, pending)
    if code is not None:
        raise typer.Exit(code)
    if summary is None or summary.missing:
        raise typer.Exit(EXIT_ERROR)


def _execute(loaded: Suite, workspace: Path, options: RunOptions) -> tuple[Workspace, RunResult]:
    """Prepare the run (it validates and writes nothing) and run it; a bad agent or review
    plan is one located line and exit 2."""
    from evals.agents import UnknownAgentError
    from evals.run.reviews import ReviewPlanError
    from evals.run.runner import prepare_run, run_suite
    from evals.store.workspace import Workspace

    try:
        prepared = prepare_run(loaded, options)
        ws = Workspace(workspace)
        return ws, run_suite(loaded, ws, options, console=console, prepared=prepared)
    except UnknownAgentError as exc:  # the error cannot know which file named the agent
        fail(f"{loaded.path}: agent: {exc}", EXIT_INVALID)
    except ReviewPlanError as exc:  # nor which golden set it is about
        fail(f"{loaded.dataset_path}/{exc}", EXIT_INVALID)


def _print_invocation(result: RunResult) -> int:
    """What this invocation did (trials, rate, CPU, reuse); returns the trials that failed
    on infrastructure, with a line saying how to retry them."""
    c = result.counters
    rate = c.done / result.elapsed_s if result.elapsed_s > 0 else 0.0
    cpu_ms = 1000 * result.cpu_s / c.done if c.done else 0.0
    console.print(
        f"this invocation: {c.done} trials in {result.elapsed_s:.1f}s ({rate:.1f}/s, "
        f"{cpu_ms:.1f} ms CPU per trial, {c.llm_calls} LLM calls); {result.skipped} "
        f"already finished{f', {result.linked} reused from other runs' if result.linked else ''}.",
        markup=False,
        highlight=False,
    )
    summary = result.summary
    infra = sum(int(row.infra_errors) for row in summary.cells) if summary else 0
    if infra:
        console.print(
            f"{infra} trial(s) failed on infrastructure: rerun the same command "
            "to retry them (finished trials are skipped).",
            markup=False,
            highlight=False,
        )
    return infra


def register(app: typer.Typer) -> None:
    """Add `evals run`."""
    app.command("run")(run)
