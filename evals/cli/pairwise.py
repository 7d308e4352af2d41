"""`evals pairwise A B`: which run answers each case better, judged in both orders."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evals.cli.common import DEFAULT_WORKSPACE, EXIT_INVALID, WorkspaceOpt, console, fail

if TYPE_CHECKING:
    from evals.dataset.golden import GoldenSet
    from evals.schema import RunManifest, Trial
    from evals.store.workspace import Workspace


def pairwise(
    run_a: Annotated[str, typer.Argument(help="First run (e.g. the baseline).")],
    run_b: Annotated[str, typer.Argument(help="Second run (e.g. the candidate).")],
    model: Annotated[str, typer.Option("--model", "-m", help="Judge model alias.")],
    dataset: Annotated[
        Path | None, typer.Option("--dataset", help="Golden-set folder (default: run A's).")
    ] = None,
    prompt: Annotated[
        str | None, typer.Option("--prompt", help="Prompt name or .md file (default pairwise).")
    ] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, max=64)] = 4,
) -> None:
    """Compare two runs case by case with an LLM judge, judging every pair in both orders:
    a winner only when both orders agree, otherwise a tie. Results are stored (kind
    `pairwise`) and never judged twice."""
    import asyncio

    from evals.cli.judge import _manifest, _open
    from evals.models.gateway import workspace_gateway as default_gateway
    from judges.base import JudgeEnv
    from judges.config import CascadeSpec, JudgeSpec, StageSpec
    from judges.judging import judge_models, load_run_trials
    from judges.pairwise import build_pairwise, compare_trials, pair_trials

    ws = _open(workspace)
    manifest = _manifest(ws, run_a)
    _manifest(ws, run_b)
    spec = JudgeSpec(judge="pairwise", model=model, prompt=prompt)
    golden = _golden_of(manifest, dataset)
    pairs = pair_trials(load_run_trials(ws, run_a), load_run_trials(ws, run_b))
    if not pairs:
        fail(f"runs {run_a} and {run_b} share no answered case", EXIT_INVALID)
    done = {b.get("key") for b in ws.iter_bodies("pairwise")}
    models = judge_models(
        CascadeSpec(stages=[StageSpec(stage="pairwise", judges=[spec])]), list(manifest.models)
    )

    async def go() -> int:
        async with default_gateway(models, ws) as gateway:
            judge = build_pairwise(spec, JudgeEnv(gateway=gateway))
            return await compare_trials(
                judge,
                pairs,
                {c.id: c for c in golden.cases},
                golden.questions,
                done,
                lambda r: ws.append("pairwise", r),
                concurrency,
            )

    try:
        compared = asyncio.run(go())
    finally:
        ws.close()
    _print_summary(ws, pairs, compared, run_a, run_b)


def _golden_of(manifest: RunManifest, dataset: Path | None) -> GoldenSet:
    """The golden set of run A (or --dataset)."""
    from evals.cli.judge import _golden
    from evals.run.suite import SuiteError, load_suite

    if dataset is None:
        try:
            dataset = load_suite(Path(manifest.suite)).dataset_path
        except SuiteError:
            dataset = Path(manifest.suite).parent / str(manifest.config.get("dataset", "."))
    return _golden(dataset)


def _print_summary(
    ws: Workspace, pairs: list[tuple[Trial, Trial]], compared: int, run_a: str, run_b: str
) -> None:
    from collections import Counter

    from evals.store.query import query

    keys = {(a.key, b.key) for a, b in pairs}
    rows = [
        r
        for r in query(
            ws, "SELECT trial_key_a, trial_key_b, winner, consistent, error FROM pairwise"
        )
        if (r["trial_key_a"], r["trial_key_b"]) in keys
    ]
    wins = Counter(r["winner"] or "error" for r in rows)
    judged = [r for r in rows if r["error"] is None]
    consistent = sum(1 for r in judged if r["consistent"])
    console.print(
        f"{len(pairs)} pairs ({compared} compared now): {run_a} wins {wins['a']}, {run_b} wins "
        f"{wins['b']}, ties {wins['tie']}, errors {wins['error']}; position-consistent "
        f"{consistent}/{len(judged)}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add `evals pairwise`."""
    app.command("pairwise")(pairwise)
