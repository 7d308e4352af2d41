"""`evals judge RUN`: judge a run's trials through the cascade and print the funnel;
`evals pairwise A B`: compare two runs case by case, in both orders."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evals.cli.common import (
    DEFAULT_WORKSPACE,
    EXIT_INVALID,
    WorkspaceOpt,
    console,
    fail,
)
from evals.tables import print_table

if TYPE_CHECKING:
    from rich.table import Table

    from evals.dataset.golden import GoldenSet
    from evals.run.suite import Suite
    from evals.schema import ModelSpec, RunManifest
    from evals.store.workspace import Workspace
    from judges.config import CascadeSpec
    from judges.funnel import Funnel
    from judges.judge_stream import JudgingCases
    from judges.judging import JudgeRunResult

SuiteOpt = Annotated[
    Path | None, typer.Option("--suite", "-s", help="Suite whose `judges:` list to use.")
]
JudgesOpt = Annotated[
    Path | None, typer.Option("--judges", "-j", help="YAML file with a `judges:` list.")
]
DatasetOpt = Annotated[
    Path | None,
    typer.Option("--dataset", help="Golden-set folder (default: the suite's or the run's)."),
]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", "-c", min=1, max=256, help="Trials judged at once.")
]


def _open(path: Path) -> Workspace:
    from evals.store.workspace import Workspace

    return Workspace(path, create=False)


def _manifest(ws: Workspace, run_id: str) -> RunManifest:
    from evals.analysis.rundata import resolve_run_ref
    from evals.schema import RunManifest
    from evals.store.query import query

    if run_id == "latest" or "*" in run_id:
        run_id = resolve_run_ref(ws, run_id).run_id

    rows = query(
        ws,
        "SELECT body FROM raw_run WHERE body->>'$.run_id' = ? ORDER BY ts DESC LIMIT 1",
        [run_id],
    )
    if not rows:
        known = [r["run_id"] for r in query(ws, "SELECT DISTINCT run_id FROM runs")]
        fail(f"no run {run_id!r} in {ws.root} (runs: {', '.join(sorted(known)) or 'none'})")
    import orjson

    body = rows[0]["body"]
    return RunManifest.model_validate(orjson.loads(body) if isinstance(body, str) else body)


def _golden(path: Path) -> GoldenSet:
    from evals.dataset.golden import load_golden_set

    return load_golden_set(path)


def _judging_cases(path: Path) -> JudgingCases:
    """The golden set read lazily for judging (a case read back when its trial is
    judged: memory flat in the number of cases), problems as `_golden` prints them."""
    from judges.judge_stream import JudgingCases

    return JudgingCases.load(path)  # a bad set: its problems, one a line (evals.errors)


def resolve_config(
    manifest: RunManifest, suite: Path | None, judges: Path | None, dataset: Path | None
) -> tuple[CascadeSpec, JudgingCases, list[ModelSpec]]:
    """The cascade, golden set and known models: from the options, else from the run."""
    from evals.run.suite import SuiteError, load_suite
    from judges.config import load_cascade_file, parse_cascade

    if suite is not None and judges is not None:
        fail("give --suite or --judges, not both", EXIT_INVALID)
    models = list(manifest.models)
    loaded = None
    if suite is not None:
        loaded = load_suite(suite)
    elif Path(manifest.suite).is_file():
        try:  # best effort: the run's suite gives the golden set and model specs
            loaded = load_suite(Path(manifest.suite))
        except SuiteError:
            loaded = None
    if loaded is not None:
        models += loaded.models
    if judges is not None:
        spec = load_cascade_file(judges)
    elif suite is not None and loaded is not None:
        spec = load_cascade_file(suite, loaded.config.judges)
    else:
        items = manifest.config.get("judges")
        if not items:
            fail(
                f"run {manifest.run_id}: its suite lists no judges; give --suite or --judges",
                EXIT_INVALID,
            )
        spec = parse_cascade(items, f"{manifest.suite} (as recorded by the run)")
    if dataset is None:
        if loaded is not None:
            dataset = loaded.dataset_path
        elif "dataset" in manifest.config:
            dataset = Path(manifest.suite).parent / str(manifest.config["dataset"])
        else:
            fail(f"run {manifest.run_id}: cannot find its golden set; give --dataset")
    return spec, _judging_cases(dataset), models


def print_funnel(f: Funnel) -> None:
    """The funnel as a table, what failed trials at each stage, and one line that adds up."""
    excluded = ", ".join(f"{n} {why}" for why, n in f.excluded.items() if n)
    say(
        f"run {f.run_id}: {f.trials} trials, {f.candidates} candidates"
        + (f" (excluded: {excluded})" if excluded else "")
    )
    print_table(console, _stage_table(f))
    for s in f.stages:
        if s.failed_by:
            by = ", ".join(
                f"{j} {n}" for j, n in sorted(s.failed_by.items(), key=lambda kv: -kv[1])
            )
            say(f"  {s.name} ({', '.join(s.judges)}) failed {s.failed}: {by}")
    for s in f.stages:
        if s.shadow_judged:
            say(
                f"  {s.name} (shadow) also judged {s.shadow_judged} trial(s) an earlier "
                f"stage failed: ${s.shadow_cost_usd:.4f}, {s.shadow_tokens:,} tokens, "
                f"{s.shadow_judge_seconds:.1f}s; recorded for calibration, no effect on "
                "the funnel"
            )
    steps = " → ".join(f"−{s.failed} at {s.name}" for s in f.stages)
    say(
        f"funnel: {f.candidates} candidates → {steps} → {f.survivors} survivors "
        f"({f.survivors_passed} passed every stage, {f.survivors_abstained} with abstentions)"
        + (f"; {f.pending} not yet judged" if f.pending else "")
    )
    last = f.stages[-1].name if f.stages else "-"
    say(
        f"cost: ${f.cost_usd:.4f} spent vs ≈ ${f.last_stage_everywhere_cost_usd:.4f} for "
        f"{last} on every candidate: saved ≈ ${f.saved_cost_usd:.4f}; tokens {f.tokens:,} "
        f"(saved ≈ {f.saved_tokens:,}); judge time {f.judge_seconds:.1f}s "
        f"(saved ≈ {f.saved_judge_seconds:.1f}s)"
    )
    say(
        f"review pool: the {f.survivors} survivors (cascade verdict not 'fail'); queue them "
        f"for review with `evals label queue create --run {f.run_id}`"
    )


def _stage_table(f: Funnel) -> Table:
    """One row per stage of the cascade: trials in, verdicts, errors, cost, tokens, time."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"judge cascade {f.cascade_version}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for col in ("stage", "in", "fail", "pass", "abstain", "error", "cost $", "tokens", "secs"):
        table.add_column(col, justify="left" if col == "stage" else "right", no_wrap=col == "stage")
    for s in f.stages:
        table.add_row(
            f"{s.index + 1} {s.name}",
            str(s.entered),
            str(s.failed),
            str(s.passed),
            str(s.abstained),
            str(s.errors),
            f"{s.cost_usd:.4f}",
            f"{s.tokens:,}",
            f"{s.judge_seconds:.1f}",
        )
    return table


def say(text: str) -> None:
    """Plain text (untrusted content never goes through Rich markup)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def judge(
    run_id: Annotated[
        str,
        typer.Argument(
            help="Run id (see `evals workspace info`), `latest`, or a pattern "
            "such as 'edd_demo-*' (the most recent matching run)."
        ),
    ],
    suite: SuiteOpt = None,
    judges: JudgesOpt = None,
    dataset: DatasetOpt = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    concurrency: ConcurrencyOpt = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print the funnel as JSON.")] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
) -> None:
    """Judge a run through its judge cascade (cheapest first, fail fast) and print the
    funnel: candidates → failed at each stage → survivors (the review pool), with cost.

    Exactly once: verdicts already stored are reused, so a rerun judges nothing twice
    and an interrupted run resumes. Trials without an answer because of an
    infrastructure error are not judged (shown as excluded)."""
    ws = _open(workspace)
    manifest = _manifest(ws, run_id)
    spec, golden, models = resolve_config(manifest, suite, judges, dataset)
    funnel = run_judging(
        ws,
        manifest.run_id,
        spec,
        golden,
        models,
        concurrency,
        progress and not as_json,
        announce=not as_json,
    )
    if as_json:
        console.print_json(funnel.model_dump_json())
    else:
        print_funnel(funnel)


def run_judging(
    ws: Workspace,
    run_id: str,
    spec: CascadeSpec,
    golden: GoldenSet | JudgingCases,
    models: list[ModelSpec],
    concurrency: int,
    show_progress: bool,
    announce: bool = True,
) -> Funnel:
    """Judge with a progress bar; user errors become one line. Used by `evals run` too."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from judges.judging import judge_run

    bar = Progress(
        "judging",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not show_progress,
        transient=True,
    )
    task = bar.add_task("judging", total=None)
    counts = [0, 0]  # judged now, to judge

    def on_start(todo: int, already: int) -> None:
        counts[1] = todo
        bar.update(task, total=todo)

    def on_trial(_: Any) -> None:
        counts[0] += 1
        bar.advance(task)

    # Without a live bar (CI logs), a plain line every 30 s: a hung judge is not silence.
    plain = announce and not (show_progress and console.is_terminal)
    with bar, heartbeat(lambda: f"judging: {counts[0]}/{counts[1]} trials", plain):
        result = judge_run(
            ws,
            run_id,
            spec,
            golden,
            known_models=models,
            concurrency=concurrency,
            on_start=on_start,
            on_trial=on_trial,
        )
    if announce:
        say(
            f"judged {result.judged} trial(s) now, {result.already} already "
            f"judged; {result.new_verdicts} verdict(s) written"
        )
    if result.unreachable:
        say(
            f"{result.unreachable} trial(s) abstained because a judge could not be reached "
            "(gateway error or timeout): rerun `evals judge` to ask again."
        )
    _report_crashes(result, announce)
    return result.funnel


def _report_crashes(result: JudgeRunResult, announce: bool) -> None:
    """Judge crashes are errors, printed apart from honest abstentions; a stage whose
    every judge crashed judged nothing, so the command fails (after the funnel)."""
    for where, n in result.crashes.items():
        first = " ".join(result.first_crash.get(where, "").split())[:300]
        say(f"judge {where} crashed on {n} trial(s) (errors, not abstentions): {first}")
    if result.crashes:
        say("crashed judges are asked again by the next `evals judge` once fixed.")
    if result.all_crashed:
        if announce:
            print_funnel(result.funnel)
        fail(
            f"every judge of stage(s) {', '.join(result.all_crashed)} crashed: nothing was "
            "judged there (see the errors above)"
        )


@contextmanager
def heartbeat(text: Callable[[], str], enabled: bool, every_s: float = 30.0) -> Iterator[None]:
    """Print `text()` every `every_s` seconds while the block runs (a daemon thread)."""
    if not enabled:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            say(text())

    thread = threading.Thread(target=beat, name="evals-judge-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def suite_cascade(suite: Suite) -> CascadeSpec | None:
    """The suite's judge cascade (None when it lists no judges); a bad list is one line
    and exit 2, before anything runs."""
    if not suite.config.judges:
        return None
    from judges.config import load_cascade_file  # judges/ loads DuckDB: only when named

    return load_cascade_file(suite.path, suite.config.judges)


def judge_after_run(
    ws: Workspace, run_id: str, suite: Suite, spec: CascadeSpec, show_progress: bool
) -> Funnel:
    """What `evals run` does at its end when the suite lists judges."""
    say(f"judging run {run_id} with the suite's judges ({len(spec.stages)} stage(s))")
    funnel = run_judging(
        ws, run_id, spec, _judging_cases(suite.dataset_path), list(suite.models), 4,
        show_progress,
    )
    print_funnel(funnel)
    return funnel


def register(app: typer.Typer) -> None:
    """Add `evals judge`."""
    app.command("judge")(judge)
