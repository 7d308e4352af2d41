"""`evals calibrate`: judges and cascade stages against human labels; thresholds written
where the cascade reads them; pairwise judges against human preferences."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from evals.cli.calibrate_output import _num, _pairwise_line, _pct, _print_cascade, _say
from evals.cli.common import DEFAULT_WORKSPACE, EXIT_INVALID, WorkspaceOpt, console, fail
from evals.tables import print_table

if TYPE_CHECKING:
    from evals.store.workspace import Workspace
    from judges.calibration import JudgeCalibration
    from judges.calibration_run import CalibrationResult
    from judges.cascade_calibration import CascadeCalibration, DecideMode
    from judges.cascade_report import Method
    from judges.pairwise_eval import PairwiseAgreement


def calibrate(
    run: Annotated[
        list[str] | None,
        typer.Option(
            "--run",
            help="Only trials of this run (an id, 'latest', or a pattern like 'edd_demo-*'; "
            "repeatable; default: every run).",
        ),
    ] = None,
    judge: Annotated[str | None, typer.Option("--judge", help="Only this judge.")] = None,
    target: Annotated[
        float,
        typer.Option(
            "--target",
            min=0.001,
            max=0.5,
            help="Upper bound allowed on the false-fail rate (and 1 - agreement of the cascade).",
        ),
    ] = 0.05,
    confidence: Annotated[
        float,
        typer.Option(
            "--confidence", min=0.5, max=0.999, help="Confidence of the one-sided bounds."
        ),
    ] = 0.95,
    decide: Annotated[
        str,
        typer.Option(
            "--decide",
            help="Cascade labels that end judging: 'fail' (the harness's cascade) or 'pass_fail'.",
        ),
    ] = "fail",
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="Cascade thresholds: 'full' (deterministic, every labelled trial, stage by "
            "stage; no seed) or 'split' (held-out halves over 40 seeded splits).",
        ),
    ] = "full",
    seed: Annotated[
        int,
        typer.Option(
            "--seed",
            help="--method split only: seed of the held-out splits (the output lists the "
            "spread over 20 seeds; choosing a seed after seeing results voids the guarantee).",
        ),
    ] = 0,
    threshold: Annotated[
        str | None,
        typer.Option(
            "--threshold",
            help="Check fixed cascade thresholds instead of choosing them: one confidence "
            "for every stage (0.9) or one per stage (0.9,0.7,never); reports coverage and "
            "agreement with intervals.",
        ),
    ] = None,
    pairwise_model: Annotated[
        str | None,
        typer.Option(
            "--pairwise-model",
            help="Run the pairwise judge with this model alias on the "
            "imported preferences (both orders) before reporting.",
        ),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write/--no-write", help="Record the thresholds for the cascade.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    include_simulated: Annotated[
        bool,
        typer.Option(
            "--include-simulated",
            help="Use simulated reviewers' ratings (sim:*) as truth; the output is then "
            "marked SIMULATED. Default: left out.",
        ),
    ] = False,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Judges and cascade stages against human labels; who may fail trials alone.

    Per judge: confusion matrix, accuracy, Cohen's kappa, coverage, false-fail rate with
    its upper bound, and the confidence above which it may fail alone (written where the
    cascade reads it); the cascade's per-stage thresholds; pairwise judges' agreement and
    position consistency."""
    import json

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
    if as_json:
        payload = {
            "calibration": result.model_dump(mode="json"),
            "pairwise": [p.model_dump(mode="json") for p in pairwise],
            "pairwise_cascade": (
                None if pairwise_cascade is None else pairwise_cascade.model_dump(mode="json")
            ),
        }
        console.print_json(json.dumps(payload))
        return
    _print(result, pairwise, write)
    if pairwise_cascade is not None:
        _print_cascade(pairwise_cascade, "Pairwise cascade (decides A or B)")


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


def _judge_row(r: JudgeCalibration) -> list[str]:
    if r.threshold is not None:
        decision = f"fails alone at >= {r.threshold:.3g} ({r.fail_coverage:.0%} of trials)"
    elif r.deterministic and r.status != "refused":
        decision = "a rule: its fails stand (not bounded yet)"
    else:
        decision = f"{r.status}: may not fail alone"
    ff, hl = r.false_fail, r.helpful_loss
    return [
        r.judge,
        "-" if r.stage is None else str(r.stage + 1),
        str(r.n),
        _pct(r.accuracy),
        _num(r.kappa),
        _pct(r.coverage),
        f"{r.confusion.pass_helpful}/{r.confusion.pass_unhelpful}/"
        f"{r.confusion.fail_helpful}/{r.confusion.fail_unhelpful}/"
        f"{r.confusion.abstain_helpful + r.confusion.abstain_unhelpful}",
        f"{ff.k}/{ff.n} ({_pct(ff.rate)}, <= {ff.upper:.0%})",
        f"{hl.k}/{hl.n} (<= {hl.upper:.0%})",
        decision,
    ]


JUDGE_COLUMNS = (
    "judge",
    "stage",
    "n",
    "accuracy",
    "kappa",
    "coverage",
    "pass h/u, fail h/u, abstain",
    "false fails (upper)",
    "helpful lost",
    "decision",
)


def _print(result: CalibrationResult, pairwise: list[PairwiseAgreement], wrote: bool) -> None:
    scope = ", ".join(result.run_ids) or "all runs"
    _say(
        f"{result.labelled_trials} trials rated by people ({scope}); target: false-fail "
        f"upper bound < {result.target:.0%} at {result.confidence:.0%} confidence"
    )
    if result.simulated_ratings and result.include_simulated:
        _say(
            f"SIMULATED: {result.simulated_ratings} of the ratings used as truth come from "
            "simulated reviewers (sim:...): demo data, not measurements of people; every "
            "number below is built on them"
        )
    elif result.simulated_ratings:
        _say(
            f"note: {result.simulated_ratings} ratings by simulated reviewers (sim:...) left "
            "out (--include-simulated uses them, marked SIMULATED)"
        )
    if result.judges:
        table = Table(title="Judges against people")
        for col in JUDGE_COLUMNS:
            table.add_column(col, overflow="fold")
        for r in result.judges:
            table.add_row(*_judge_row(r))
        print_table(console, table)
        for r in result.judges:
            _say(f"  {r.judge}: {r.message}")
    if result.cascade is not None:
        _print_cascade(result.cascade)
    if result.final is not None:
        f = result.final
        _say(
            f"cascade final verdicts vs people: n={f.n}, accuracy {_pct(f.accuracy)}, kappa "
            f"{_num(f.kappa)}, its fails rated helpful {f.false_fail.k}/{f.false_fail.n}"
        )
    if result.unlabelled_judges:
        _say(
            "no labelled trials yet for: "
            + ", ".join(result.unlabelled_judges)
            + " (uncalibrated judges keep their fails)"
        )
    for p in pairwise:
        _say(_pairwise_line(p))
    if wrote and result.records:
        _say(
            f"wrote {len(result.records)} calibration record(s); `evals judge` now counts a "
            "fail under a judge's threshold as an abstention (stage verdicts are reused, no "
            "judge is called again)"
        )


def register(app: typer.Typer) -> None:
    """Add `evals calibrate` to the CLI."""
    app.command()(calibrate)
