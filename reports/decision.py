"""The decision box a report opens with: ship / do not ship / undecided, why, and the numbers.

Two sources, one shape (:class:`reports.model.DecisionBox`):

* a run summary shows the latest gate decision recorded on the run (``evals gate``): its
  outcome *is* the verdict ('fail' reads 'do not ship'), so the report never disagrees
  with the gate; without a decision the verdict is 'undecided' and says how to get one;
* a comparison or regression report decides at its first non-inferiority margin:
  *do not ship* when the candidate is inferior overall or on any question (or, for a
  regression, significantly worse), *undecided* when the overall interval straddles the
  margin (with the extra pairs that would decide), *ship* otherwise.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from evals.analysis.compare import Comparison, PairedOutcomes
from evals.analysis.rundata import RunRef
from evals.analysis.runstats import ArmStats
from evals.schema import Decision, GateCheck
from reports.model import DecisionBox, KeyNumber

VERDICT = {"ship": "ship", "fail": "do not ship", "undecided": "undecided"}
"""Gate outcome -> decision-box verdict."""

MAX_NUMBERS = 8
"""Numbers listed in the box (the rest are in the report's sections and report.json)."""


def as_decision(row: dict[str, Any]) -> Decision:
    """A decision row from the ``decisions`` view (nested fields as JSON text) as a model."""
    data = {k: v for k, v in row.items() if k != "recorded_at"}
    for key in ("checks", "gate_config", "caveats"):
        if isinstance(data.get(key), str):
            data[key] = json.loads(data[key])
    return Decision.model_validate(data)


def _num(x: float | None) -> str:
    return "no data" if x is None else f"{x:.3g}"


def check_number(c: GateCheck) -> KeyNumber:
    """'overall judge_pass_rate': '0.75 [0.551, 0.88], n=24; needs >= 0.7: undecided (+614)'."""
    interval = f" [{c.low:.3g}, {c.high:.3g}]" if c.low is not None and c.high is not None else ""
    more = f" (+{c.n_needed - c.n} cases)" if c.outcome == "undecided" and c.n_needed else ""
    return KeyNumber(
        label=f"{c.scope} {c.metric.replace('_', ' ')}",
        value=f"{_num(c.value)}{interval}, n={c.n}; needs {c.comparator} {c.threshold:g}: "
        f"{c.outcome}{more}",
    )


def _gate_headline(d: Decision) -> str:
    n = len(d.checks)
    subject = d.run_ref or d.run_id
    base = f" against {d.baseline_ref}" if d.baseline_ref else ""
    if d.outcome == "ship":
        return f"Ship {subject}: all {n} checks of gate {d.gate}{base} passed."
    if d.outcome == "fail":
        failed = [c for c in d.checks if c.outcome == "fail"]
        first = failed[0]
        return (
            f"Do not ship {subject}: {len(failed)} of {n} checks of gate {d.gate}{base} "
            f"failed, e.g. {first.scope} {first.metric.replace('_', ' ')} is "
            f"{_num(first.value)} where {first.comparator} {first.threshold:g} is required."
        )
    open_ = sum(1 for c in d.checks if c.outcome == "undecided")
    more = (
        f" About {d.n_more_needed} more cases would decide."
        if d.n_more_needed
        else " More evidence is needed."
    )
    return (
        f"Not decided yet for {subject}: no check of gate {d.gate}{base} failed, but "
        f"{open_} of {n} cannot be decided on this many cases.{more}"
    )


def gate_box(decision: Decision, others: list[Decision] | None = None) -> DecisionBox:
    """The box of a recorded gate decision; ``others``: latest decisions on other cells."""
    ranked = sorted(decision.checks, key=lambda c: {"fail": 0, "undecided": 1}.get(c.outcome, 2))
    numbers = [check_number(c) for c in ranked[:MAX_NUMBERS]]
    if len(ranked) > MAX_NUMBERS:
        numbers.append(
            KeyNumber(label="other checks", value=f"{len(ranked) - MAX_NUMBERS} more passed")
            if all(c.outcome == "pass" for c in ranked[MAX_NUMBERS:])
            else KeyNumber(
                label="other checks", value=f"{len(ranked) - MAX_NUMBERS} more (report.json)"
            )
        )
    for o in others or []:
        numbers.append(
            KeyNumber(label=f"gate {o.gate} on {o.run_ref}", value=f"{VERDICT[o.outcome]} ({o.id})")
        )
    return DecisionBox(
        verdict=VERDICT[decision.outcome],
        headline=_gate_headline(decision),
        source=f"gate {decision.gate}, decision {decision.id} "
        f"({decision.created_at:%Y-%m-%d %H:%M} UTC)",
        numbers=numbers,
    )


def decisions_for(decisions: list[Decision], ref: RunRef) -> list[Decision]:
    """The decisions on the cells a run selection covers, newest first: a summary of
    ``RUN:m:p`` ignores decisions on other cells."""
    out = []
    for d in decisions:
        parts = (d.run_ref or d.run_id).split(":")
        model = parts[1] if len(parts) > 1 and parts[1] else None
        prompt = parts[2] if len(parts) > 2 and parts[2] else None
        if ref.model not in (None, model) or ref.prompt not in (None, prompt):
            continue
        out.append(d)
    return sorted(out, key=lambda d: d.created_at, reverse=True)


def summary_box(decisions: list[Decision], run_ref: str, fallback: list[KeyNumber]) -> DecisionBox:
    """The run summary's box: the newest decision (the latest on each other cell listed
    with it), or, without any, 'undecided' and how to decide."""
    if not decisions:
        return DecisionBox(
            verdict="undecided",
            headline=f"No ship decision yet: no gate has been evaluated on {run_ref}. "
            f"Run `evals gate GATE.yaml --run {run_ref}` to decide.",
            source="no gate decision recorded",
            numbers=fallback,
        )
    newest = max(decisions, key=lambda d: d.created_at)
    latest_per_cell: dict[str, Decision] = {}
    for d in sorted(decisions, key=lambda d: d.created_at):
        latest_per_cell[d.run_ref or d.run_id] = d
    others = [d for d in latest_per_cell.values() if d.id != newest.id]
    return gate_box(newest, others)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _comparison_numbers(cmp: Comparison, margin: float) -> list[KeyNumber]:
    p: PairedOutcomes = cmp.overall.outcome
    b, c = cmp.overall.baseline, cmp.overall.candidate
    ni = p.noninferiority[0] if p.noninferiority else None
    numbers = [
        KeyNumber(
            label="pass rate, baseline → candidate",
            value=f"{_pct(p.baseline_rate)} → {_pct(p.candidate_rate)} on {p.n} paired cases",
        ),
        KeyNumber(
            label=f"difference, {cmp.confidence:.0%} interval",
            value="n/a" if p.diff is None else f"{p.diff:+.3f} [{p.low:+.3f}, {p.high:+.3f}]",
        ),
        KeyNumber(
            label=f"non-inferiority at margin {margin:g}",
            value="n/a"
            if ni is None
            else ni.verdict + (f" (~{ni.n_more} more pairs would decide)" if ni.n_more else ""),
        ),
        KeyNumber(
            label="McNemar p (b10 / b01)",
            value=f"{p.mcnemar_p:.3g} ({p.baseline_only} / {p.candidate_only})",
        ),
    ]
    if c.helpful.n or b.helpful.n:
        numbers.append(
            KeyNumber(
                label="helpful, baseline → candidate",
                value=f"{_pct(b.helpful.rate)} ({b.helpful.k}/{b.helpful.n}) → "
                f"{_pct(c.helpful.rate)} ({c.helpful.k}/{c.helpful.n})",
            )
        )
    numbers.append(
        KeyNumber(
            label="cost per trial USD, baseline → candidate",
            value=f"{_cost(b)} → {_cost(c)}",
        )
    )
    numbers.append(
        KeyNumber(
            label="p95 latency s, baseline → candidate",
            value=f"{_num(b.latency_p95_s)} → {_num(c.latency_p95_s)}",
        )
    )
    return numbers


def _cost(arm: ArmStats) -> str:
    """Cost per trial, or 'no price' when tokens were used but nothing was priced."""
    if arm.trials and not arm.cost_total_usd and (arm.input_tokens_per_trial or 0) > 0:
        return "no price"
    return _num(arm.cost_per_trial_usd)


def _verdict_at(p: PairedOutcomes) -> str | None:
    return p.noninferiority[0].verdict if p.noninferiority else None


def _undecided_headline(cmp: Comparison, margin: float) -> str:
    p = cmp.overall.outcome
    ni = p.noninferiority[0]
    cand, base = cmp.candidate_ref, cmp.baseline_ref
    more = f" About {ni.n_more} more paired cases would decide." if ni.n_more else ""
    if p.diff is not None and p.diff <= -margin:
        return (
            f"Not decided, leaning no: {cand}'s pass rate is {-100 * p.diff:.1f} points "
            f"below {base}'s, beyond the {margin:g} margin, but on {p.n} paired cases "
            f"that is not yet conclusive.{more}"
        )
    return (
        f"Not decided yet: {cand} may be as good as {base}, but on {p.n} paired cases "
        f"the interval of the difference still crosses the −{margin:g} margin.{more}"
    )


def comparison_box(
    cmp: Comparison, kind: Literal["comparison", "regression"] = "comparison"
) -> DecisionBox:
    """Ship the candidate instead of the baseline? Decided at the first margin."""
    margin = cmp.margins[0] if cmp.margins else 0.0
    p = cmp.overall.outcome
    cand, base = cmp.candidate_ref, cmp.baseline_ref
    numbers = _comparison_numbers(cmp, margin)
    source = f"paired comparison, non-inferiority margin {margin:g}"
    inferior = [s.scope for s in cmp.questions if _verdict_at(s.outcome) == "inferior"]
    undecided_q = [s.scope for s in cmp.questions if _verdict_at(s.outcome) == "undecided"]
    worse = kind == "regression" and p.diff is not None and p.high < 0
    if p.n == 0 or p.diff is None:
        verdict, headline = (
            "undecided",
            f"Cannot compare yet: no case has an outcome in both {base} and {cand}.",
        )
    elif _verdict_at(p) == "inferior" or inferior or worse:
        rates = f"pass rate {_pct(p.baseline_rate)} → {_pct(p.candidate_rate)}"
        if _verdict_at(p) == "inferior":
            why = f"worse than {base} by more than the {margin:g} margin overall ({rates})"
        elif inferior:
            why = (
                f"worse than {base} by more than the {margin:g} margin on "
                f"{', '.join(inferior)} (overall {rates})"
            )
        else:
            why = (
                f"significantly worse than {base} overall ({rates}; the interval of the "
                "difference lies entirely below 0)"
            )
        verdict, headline = "do not ship", f"Do not ship {cand}: it is {why}."
    elif _verdict_at(p) == "undecided":
        verdict, headline = "undecided", _undecided_headline(cmp, margin)
    else:
        rest = (
            f" {len(undecided_q)} question(s) cannot be decided on their own yet "
            f"({', '.join(undecided_q)})."
            if undecided_q
            else ""
        )
        verdict, headline = (
            "ship",
            f"Ship {cand}: on {p.n} paired cases it is at least as good as {base} "
            f"(non-inferior at margin {margin:g}) and no question is worse.{rest}",
        )
    return DecisionBox(verdict=verdict, headline=headline, source=source, numbers=numbers)
