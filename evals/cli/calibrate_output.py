"""What `evals calibrate` prints: the judges against people, a table per cascade, one line
per pairwise judge, or all of it as JSON; judge and reviewer text is never parsed as
markup."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.table import Table

from evals.cli.common import console
from evals.tables import print_table

if TYPE_CHECKING:
    from judges.calibration import JudgeCalibration
    from judges.calibration_run import CalibrationResult
    from judges.cascade_calibration import CascadeCalibration
    from judges.pairwise_eval import PairwiseAgreement


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _say(text: str) -> None:
    """One plain line (untrusted names and reasons are never parsed as markup)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _pairwise_line(p: PairwiseAgreement) -> str:
    pc, ag, acc = p.position_consistency, p.agreement, p.accuracy
    conf = f"{p.confidence:.0%}"
    head = f"pairwise {p.judge} ({p.judge_version[:8]}): "
    if acc is None or not acc.n:
        return head + "no judged item has a human choice: nothing to measure"
    accuracy = (
        f"accuracy {acc.k:g}/{acc.n} = {_pct(acc.rate)} [{acc.low:.0%}, {acc.high:.0%}] "
        f"({'mean over both presentation orders' if p.orders == 'both' else ''}"
        f"{'' if p.orders == 'both' else 'ONE-ORDER accuracy: judged ' + p.orders})"
    )
    if not p.items:
        return (
            f"{head}{p.judged_items} items, {accuracy}; judged in one order only, so no "
            "position consistency or strict agreement (judge both orders to measure them)"
        )
    return (
        f"{head}{p.items} items in both orders; {accuracy}; strict (consistent and "
        f"correct): agrees with people {ag.k:g}/{ag.n} [{ag.low:.0%}, {ag.high:.0%}]; "
        f"position-consistent {pc.k:g}/{p.items} [{pc.low:.0%}, {pc.high:.0%}], picked the "
        f"first shown {p.first_position_picks}, the second {p.second_position_picks}; "
        f"kappa {_num(p.kappa)}; {conf} intervals"
    )


def _print_cascade(c: CascadeCalibration, title: str = "Cascade") -> None:
    where = (
        f"all {c.n_test} labelled trials"
        if c.method.startswith("fixed")
        else f"all {c.n} labelled trials (in-sample: they chose the thresholds)"
        if c.deterministic
        else f"the test part, {c.n_test} of {c.n} trials"
    )
    table = Table(
        title=f"{title}: agreement >= {1 - c.alpha:.0%} on what it decides "
        f"({c.method}, decides on: {c.decide}); per stage on {where}"
    )
    for col in ("stage", "judges", "threshold", "reached", "decided", "agreement", "cost"):
        table.add_column(col, overflow="fold")
    for s in c.stages:
        iv = s.agreement_interval
        # The certified bound (deterministic procedure) beside the in-sample agreement.
        bound = "" if s.upper is None else f"; certified: disagrees <= {s.upper:.1%}"
        table.add_row(
            str(s.stage + 1),
            s.name,
            "never" if s.threshold is None else f">= {s.threshold:.3g}",
            str(s.reached),
            str(s.decided),
            _pct(s.agreement) + ("" if iv is None else f" [{iv[0]:.0%}, {iv[1]:.0%}]") + bound,
            f"${s.mean_cost_usd:.5f}",
        )
    print_table(console, table)
    _say(
        f"  {c.message}; expected latency per trial {c.expected_latency_s:.2f} s vs "
        f"{c.strongest_latency_s:.2f} s"
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


def print_calibration(
    result: CalibrationResult,
    pairwise: tuple[list[PairwiseAgreement], CascadeCalibration | None],
    wrote: bool,
    as_json: bool,
) -> None:
    """The whole report: as JSON, or as tables and lines (``pairwise``: the pairwise
    judges' agreement and the pairwise cascade, if any)."""
    agreements, cascade = pairwise
    if as_json:
        payload = {
            "calibration": result.model_dump(mode="json"),
            "pairwise": [p.model_dump(mode="json") for p in agreements],
            "pairwise_cascade": None if cascade is None else cascade.model_dump(mode="json"),
        }
        console.print_json(json.dumps(payload))
        return
    _print(result, agreements, wrote)
    if cascade is not None:
        _print_cascade(cascade, "Pairwise cascade (decides A or B)")
