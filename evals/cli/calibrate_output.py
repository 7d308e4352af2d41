"""What `evals calibrate` prints for the cascade and pairwise judges (a table per cascade,
one line per pairwise judge); judge and reviewer text is never parsed as markup."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from evals.cli.common import console
from evals.tables import print_table

if TYPE_CHECKING:
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
