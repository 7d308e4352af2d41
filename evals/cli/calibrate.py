"""`evals calibrate`: judges and cascade stages against human labels; thresholds written
where the cascade reads them; pairwise judges against human preferences."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from evals.cli.calibrate_output import print_calibration
from evals.cli.common import DEFAULT_WORKSPACE, EXIT_INVALID, WorkspaceOpt, console, fail

if TYPE_CHECKING:
    from evals.store.workspace import Workspace
    from judges.calibration_run import CalibrationResult
    from judges.cascade_calibration import CascadeCalibration, DecideMode
    from judges.cascade_report import Method
    from judges.pairwise_eval import PairwiseAgreement


RunsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--run",
        help="Only trials of this run (an id, 'latest', or a pattern like 'edd_demo-*'; "
        "repeatable; default: every run).",
    ),
]

JudgeOpt = Annotated[str | None, typer.Option("--judge", help="Only this judge.")]

TargetOpt = Annotated[
    float,
    typer.Option(
        "--target",
        min=0.001,
        max=0.5,
        help="Upper bound allowed on the false-fail rate (and 1 - agreement of the cascade).",
    ),
]

ConfidenceOpt = Annotated[
    float,
    typer.Option(
        "--confidence", min=0.5, max=0.999, help="Confidence of the one-sided bounds."
    ),
]

DecideOpt = Annotated[
    str,
    typer.Option(
        "--decide",
        help="Cascade labels that end judging: 'fail' (the harness's cascade) or 'pass_fail'.",
    ),
]

MethodOpt = Annotated[
    str,
    typer.Option(
        "--method",
        help="Cascade thresholds: 'full' (deterministic, every labelled trial, stage by "
        "stage; no seed) or 'split' (held-out halves over 40 seeded splits).",
    ),
]

SeedOpt = Annotated[
    int,
    typer.Option(
        "--seed",
        help="--method split only: seed of the held-out splits (the output lists the "
        "spread over 20 seeds; choosing a seed after seeing results voids the guarantee).",
    ),
]

ThresholdOpt = Annotated[
    str | None,
    typer.Option(
        "--threshold",
        help="Check fixed cascade thresholds instead of choosing them: one confidence "
        "for every stage (0.9) or one per stage (0.9,0.7,never); reports coverage and "
        "agreement with intervals.",
    ),
]

PairwiseModelOpt = Annotated[
    str | None,
    typer.Option(
        "--pairwise-model",
        help="Run the pairwise judge with this model alias on the "
        "imported preferences (both orders) before reporting.",
    ),
]

WriteOpt = Annotated[
    bool, typer.Option("--write/--no-write", help="Record the thresholds for the cascade.")
]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]

SimulatedTruthOpt = Annotated[
    bool,
    typer.Option(
        "--include-simulated",
        help="Use simulated reviewers' ratings (sim:*) as truth; the output is then "
        "marked SIMULATED. Default: left out.",
    ),
]


def calibrate(
    run: RunsOpt = None,
    judge: JudgeOpt = None,
    target: TargetOpt = 0.05,
    confidence: ConfidenceOpt = 0.95,
    decide: DecideOpt = "fail",
    method: MethodOpt = "full",
    seed: SeedOpt = 0,
    threshold: ThresholdOpt = None,
    pairwise_model: PairwiseModelOpt = None,
    write: WriteOpt = True,
    as_json: JsonOpt = False,
    include_simulated: SimulatedTruthOpt = False,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Judges and cascade stages against human labels; who may fail trials alone.

    Per judge: confusion matrix, accuracy, Cohen's kappa, coverage, false-fail rate with
    its upper bound, and the confidence above which it may fail alone (written where the
    cascade reads it); the cascade's per-stage thresholds; pairwise judges' agreement and
    position consistency."""
    from judges.calibration_run import run_calibration

    if decide not in ("fail", "pass_fail"):
        fail(f"--decide must be 'fail' or 'pass_fail', got {decide!r}", EXIT_INVALID)
    if method not in ("full", "split"):
        fail(f"--method must be 'full' or 'split', got {method!r}", EXIT_INVALID)
    ws = _open(workspace)
    run = _select_runs(ws, run)
    if pairwise_model:
        _run_pairwise(ws, pairwise_model)
    mode: DecideMode = "pass_fail" if decide == "pass_fail" else "fail"
    how: Method = "split" if method == "split" else "full"
    fixed = _thresholds(threshold)
    try:
        result = run_calibration(
            ws,
            run,
            judge,
            target=target,
            confidence=confidence,
            decide=mode,
            seed=seed,
            include_simulated=include_simulated,
            thresholds=fixed,
            method=how,
        )
    except ValueError as exc:
        fail(f"--threshold: {exc}")
    if fixed is not None:
        write = False  # checking given thresholds records nothing
    pairwise, pairwise_cascade = _pairwise(ws, confidence, target, (how, seed), fixed)
    if not result.judges and not pairwise:
        fail(_nothing_to_calibrate(result))
    if write and result.records:
        ws.writer("calibration", durable=True).append_many(result.records)
        ws.close()
    print_calibration(result, (pairwise, pairwise_cascade), write, as_json)


def _thresholds(text: str | None) -> list[float | None] | None:
    """--threshold: one value or one per stage, each a confidence in [0, 1] or 'never'."""
    if text is None:
        return None
    out: list[float | None] = []
    for part in text.split(","):
        part = part.strip()
        if part == "never":
            out.append(None)
            continue
        try:
            value = float(part)
        except ValueError:
            value = -1.0
        if not 0.0 <= value <= 1.0:
            fail(f"--threshold: {part!r} is not a confidence in [0, 1] or 'never'")
        out.append(value)
    return out


def _open(path: object) -> Workspace:
    from pathlib import Path

    from evals.store.workspace import Workspace

    return Workspace(Path(str(path)), create=False)


def _select_runs(ws: Workspace, run: list[str] | None) -> list[str] | None:
    """Run ids from --run references: an id, ``latest``, or a pattern such as
    ``edd_demo-*`` (the newest matching run), as `evals compare` reads them."""
    from evals.analysis.rundata import resolve_run_ref

    return [resolve_run_ref(ws, ref).run_id for ref in run or []] or None


def _nothing_to_calibrate(result: CalibrationResult) -> str:
    if result.labelled_trials == 0:
        return (
            "no human labels in the workspace: review trials in the app (`evals label`) "
            "or import labels (`evals import labels FILE`), then calibrate"
        )
    return (
        f"{result.labelled_trials} labelled trials, but no judge verdict on any of them"
        + (" in the selected runs" if result.run_ids else "")
        + ": judge the run first (`evals judge RUN`)"
    )


def _pairwise(
    ws: Workspace,
    confidence: float,
    target: float,
    how: tuple[Method, int],
    fixed: list[float | None] | None,
) -> tuple[list[PairwiseAgreement], CascadeCalibration | None]:
    """Pairwise judges against human preferences, and their cascade (judges as stages,
    their confidences as the thresholds' scale) calibrated like a pass/fail one."""
    from evals.dataset.preferences import PairwiseJudgment, PairwisePreference
    from judges.cascade_report import calibrate_cascade, evaluate_thresholds
    from judges.pairwise_eval import evaluate_pairwise, pairwise_cascade_items

    prefs = [PairwisePreference.model_validate(b) for b in ws.iter_bodies("preference")]
    judged = [PairwiseJudgment.model_validate(b) for b in ws.iter_bodies("pairwise_judgment")]
    if not (prefs and judged):
        return [], None
    agreements = evaluate_pairwise(prefs, judged, confidence)
    names, items = pairwise_cascade_items(prefs, judged)
    if not items or not any(o is not None and o.confidence is not None
                            for it in items for o in it.stages):  # fmt: skip
        return agreements, None
    if fixed is not None:
        try:
            cascade = evaluate_thresholds(
                items,
                names,
                fixed * len(names) if len(fixed) == 1 else fixed,
                alpha=target,
                confidence=confidence,
                decide="pass_fail",
            )
        except ValueError as exc:
            fail(f"--threshold (pairwise judges): {exc}")
        return agreements, cascade
    return agreements, calibrate_cascade(
        items, names, alpha=target, confidence=confidence, decide="pass_fail",
        method=how[0], seed=how[1],
    )  # fmt: skip


def _run_pairwise(ws: Workspace, model: str) -> None:
    import asyncio

    from evals.dataset.preferences import PairwisePreference
    from evals.models.gateway import workspace_gateway as default_gateway
    from judges.base import JudgeEnv
    from judges.config import CascadeSpec, JudgeSpec, StageSpec
    from judges.judging import judge_models
    from judges.pairwise import build_pairwise
    from judges.pairwise_eval import judge_preferences

    prefs = [PairwisePreference.model_validate(b) for b in ws.iter_bodies("preference")]
    if not prefs:
        fail("no preferences to judge: import them first (`evals import pairwise FILE`)")
    spec = JudgeSpec(judge="pairwise", model=model, prompt="preference")
    models = judge_models(CascadeSpec(stages=[StageSpec(stage="pairwise", judges=[spec])]), [])
    done = {str(b.get("key")) for b in ws.iter_bodies("pairwise_judgment")}

    async def go() -> int:
        async with default_gateway(models, ws) as gateway:
            judge = build_pairwise(spec, JudgeEnv(gateway=gateway))
            return await judge_preferences(
                judge, prefs, done, lambda j: ws.append("pairwise_judgment", j)
            )

    try:
        n = asyncio.run(go())
    finally:
        ws.close()
    console.print(
        f"pairwise judge {model}: judged {n} preference items in both orders",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add `evals calibrate` to the CLI."""
    app.command()(calibrate)
