"""Comparison and regression reports: a candidate run against its baseline.

The comparison answers "our model is being deprecated; is the replacement at least as
good, question by question?"; the regression report is the same analysis against the
last accepted run, with the questions that got worse listed first.
"""

from __future__ import annotations

from typing import Literal

from evals.analysis.compare import Comparison, PairedOutcomes, ScopeComparison
from evals.analysis.runstats import ArmStats
from reports.caveats import comparison_caveats
from reports.charts import (
    cost_latency_charts,
    forest_chart,
    matrix_chart,
    rate_chart,
    rates_or_note,
)
from reports.decision import comparison_box
from reports.glossary import glossary
from reports.model import (
    Block,
    Caveat,
    Cell,
    Report,
    Section,
    TableBlock,
    TextBlock,
    cost_cell,
    per_trial_int,
)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _interval(p: PairedOutcomes) -> str:
    if p.diff is None:
        return "n/a"
    return f"{p.diff:+.3f} [{p.low:+.3f}, {p.high:+.3f}]"


def _ni_text(p: PairedOutcomes) -> str:
    parts = []
    for ni in p.noninferiority:
        more = f", ~{ni.n_more} more" if ni.n_more else ""
        parts.append(f"{ni.margin:g}: {ni.verdict}{more}")
    return "; ".join(parts)


ARM_ROWS = (
    "trials",
    "cases",
    "pass rate",
    "pass rate 95% CI",
    "helpful (reviewed)",
    "cascade pass / fail / abstain / none",
    "infra errors / agent errors",
    "cost per trial (USD)",
    "cost total (USD)",
    "input tokens per trial (uncached)",
    "cached input tokens per trial",
    "output tokens per trial",
    "latency p50 (s)",
    "latency p95 (s)",
    "agent tool calls per trial",
    "user tool calls per trial (simulated user)",
)
"""The rows of the per-arm table, in the order of :func:`_arm_column`'s cells."""


def _arm_column(a: ArmStats) -> list[Cell]:
    """One arm's cells of the per-arm table (rows: ARM_ROWS)."""
    return [
        a.trials,
        a.cases,
        f"{_pct(a.outcome.rate)} ({a.outcome.k}/{a.outcome.n})",
        f"[{a.outcome.low:.3f}, {a.outcome.high:.3f}]",
        f"{_pct(a.helpful.rate)} ({a.helpful.k}/{a.helpful.n})"
        + (" SIMULATED" if a.helpful.simulated else ""),
        " / ".join(str(v) for v in a.verdicts.values()),
        f"{a.infra_errors} / {a.agent_errors}",
        cost_cell(a.cost_per_trial_usd, a.trials, a.cost_unknown_trials),
        cost_cell(a.cost_total_usd, a.trials, a.cost_unknown_trials),
        per_trial_int(a.input_tokens_per_trial),
        per_trial_int(a.cached_input_tokens_per_trial),
        per_trial_int(a.output_tokens_per_trial),
        a.latency_p50_s,
        a.latency_p95_s,
        a.tool_calls_per_trial,
        a.user_tool_calls_per_trial,
    ]


def _arm_rows(s: ScopeComparison) -> tuple[list[list[Cell]], list[list[str]], list[int]]:
    b, c = s.baseline, s.candidate
    rows: list[list[Cell]] = [
        [name, bv, cv]
        for name, bv, cv in zip(ARM_ROWS, _arm_column(b), _arm_column(c), strict=True)
    ]
    both = b.trial_keys + c.trial_keys
    evidence = [both] * len(rows)
    evidence[2] = evidence[3] = b.outcome.trial_keys + c.outcome.trial_keys
    evidence[4] = b.helpful.trial_keys + c.helpful.trial_keys
    counts = [b.trials + c.trials] * len(rows)
    counts[2] = counts[3] = b.outcome.n + c.outcome.n
    counts[4] = b.helpful.n + c.helpful.n
    return rows, evidence, counts


def _paired_rows(cmp: Comparison) -> tuple[list[list[Cell]], list[list[str]], list[int]]:
    rows: list[list[Cell]] = []
    evidence: list[list[str]] = []
    counts: list[int] = []
    for s in [cmp.overall, *cmp.questions]:
        p = s.outcome
        h = s.helpful
        rows.append(
            [
                s.scope,
                p.n,
                _pct(p.baseline_rate),
                _pct(p.candidate_rate),
                _interval(p),
                f"{p.baseline_only} / {p.candidate_only}",
                round(p.mcnemar_p, 6),
                _ni_text(p),
                "n/a"
                if h is None
                else f"{_pct(h.baseline_rate)} → {_pct(h.candidate_rate)} "
                f"({h.n} pairs, p={h.mcnemar_p:.3g})",
            ]
        )
        evidence.append([k for ks in p.cells.values() for k in ks])
        counts.append(sum(p.cell_trials.values()) or len(evidence[-1]))
    return rows, evidence, counts


def _capped_counts(evidence: list[list[str]], counts: list[int]) -> list[int]:
    """TableBlock.evidence_counts: the counts when some row's keys are a capped sample
    (evals.analysis.paired_sql), else none (each row's count is its keys')."""
    return counts if any(len(e) < n for e, n in zip(evidence, counts, strict=True)) else []


def _evidence_note(cmp: Comparison) -> list[str]:
    """The subtitle line saying the key lists are capped, and how to list every key."""
    if cmp.evidence_cap is None:
        return []
    return [
        f"Evidence: each figure lists at most {cmp.evidence_cap} of its trial keys (the "
        "first by question, case, repetition; a paired cell's, of its first cases); the "
        "counts are complete. Every key: evals.store.query.query(workspace, "
        f"{cmp.evidence_query!r})."
    ]


def _regressions(cmp: Comparison) -> list[str]:
    out = []
    for s in [cmp.overall, *cmp.questions]:
        p = s.outcome
        if p.diff is None:
            continue
        worse = p.high < 0
        failed = [ni.margin for ni in p.noninferiority if ni.verdict == "inferior"]
        if worse or failed:
            why = "significantly worse" if worse else f"inferior at margin {failed[0]:g}"
            out.append(f"{s.scope}: {why}, difference {_interval(p)}")
    return out


def _paired_charts(cmp: Comparison) -> list[Block]:
    """The forest plot and the 2x2 matrix, or why there are none."""
    if cmp.overall.outcome.n == 0:
        return [
            TextBlock(
                text="No case has an outcome in both runs yet, so nothing can be "
                "paired (see the warnings above)."
            )
        ]
    scopes = [(s.scope, s.outcome) for s in [cmp.overall, *cmp.questions]]
    return [
        forest_chart("forest", scopes, cmp.margins),
        matrix_chart("matrix", cmp.overall.outcome),
    ]


def _per_question_verdicts(cmp: Comparison) -> list[str]:
    """'Per question at margin m: a non-inferior, b undecided (q: ~n more), c inferior.'"""
    lines = []
    for i, margin in enumerate(cmp.margins):
        by_verdict: dict[str, list[str]] = {"non-inferior": [], "undecided": [], "inferior": []}
        for s in cmp.questions:
            ni = s.outcome.noninferiority[i]
            more = f" ~{ni.n_more} more pairs" if ni.n_more else ""
            by_verdict[ni.verdict].append(s.scope + (more if ni.verdict == "undecided" else ""))
        parts = [
            f"{len(v)} {k}" + (f" ({', '.join(v)})" if v and k != "non-inferior" else "")
            for k, v in by_verdict.items()
        ]
        lines.append(f"Per question at margin {margin:g}: {'; '.join(parts)}.")
    return lines


def build_comparison_report(
    cmp: Comparison,
    kind: Literal["comparison", "regression"] = "comparison",
    caveats: list[Caveat] | None = None,
) -> Report:
    """The comparison (or regression) report of two runs.

    ``caveats`` defaults to what the Comparison alone shows; callers holding the runs
    pass :func:`reports.caveats.comparison_caveats` with them (simulated labels, cost).
    """
    title = (
        f"Regression: {cmp.candidate_ref} vs last accepted {cmp.baseline_ref}"
        if kind == "regression"
        else f"Comparison: {cmp.baseline_ref} → {cmp.candidate_ref}"
    )
    subtitle = [
        f"baseline {cmp.baseline_ref} (outcome: {cmp.baseline_outcome_source}); candidate "
        f"{cmp.candidate_ref} (outcome: {cmp.candidate_outcome_source})",
        f"paired by {cmp.pair_by}; {cmp.confidence:.0%} intervals (Tango score); "
        f"non-inferiority margins {', '.join(f'{m:g}' for m in cmp.margins)}",
        *_evidence_note(cmp),
    ]
    sections = [
        Section(
            id="verdict",
            title="Verdict",
            blocks=[TextBlock(text="\n".join(_verdict_lines(cmp, kind)))],
        ),
        _paired_section(cmp),
        _arms_section(cmp),
        _rates_section(cmp),
        _cost_section(cmp),
    ]
    return Report(
        kind=kind,
        title=title,
        subtitle=subtitle,
        decision=comparison_box(cmp, kind),
        caveats=comparison_caveats(cmp) if caveats is None else caveats,
        glossary=glossary(
            "Wilson interval",
            "Tango score interval",
            "McNemar test",
            "non-inferiority margin",
            "p50 / p95 latency",
        ),
        sections=sections,
        data=cmp.model_dump(mode="json"),
    )


def _verdict_lines(cmp: Comparison, kind: Literal["comparison", "regression"]) -> list[str]:
    lines = [f"Overall: {_ni_text(cmp.overall.outcome) or 'no margin set'}."]
    lines += _per_question_verdicts(cmp)
    if kind == "regression":
        regressions = _regressions(cmp)
        lines.append(
            "Regressions: "
            + ("; ".join(regressions) if regressions else "none found at these margins.")
        )
    return lines + [f"Warning: {w}" for w in cmp.warnings]


def _paired_section(cmp: Comparison) -> Section:
    rows, evidence, counts = _paired_rows(cmp)
    columns = ["scope", "pairs", "baseline", "candidate", "difference [95% CI]",
               "b10 / b01", "McNemar p", "non-inferiority", "helpful (paired)"]  # fmt: skip
    return Section(
        id="paired",
        title="Paired outcomes per question",
        blocks=[
            TableBlock(
                columns=columns,
                rows=rows,
                evidence=evidence,
                evidence_counts=_capped_counts(evidence, counts),
            ),
            *_paired_charts(cmp),
        ],
    )


def _arms_section(cmp: Comparison) -> Section:
    rows, evidence, counts = _arm_rows(cmp.overall)
    table = TableBlock(
        columns=["metric", "baseline", "candidate"],
        rows=rows,
        evidence=evidence,
        evidence_counts=_capped_counts(evidence, counts),
    )
    return Section(id="arms", title="Baseline and candidate, overall", blocks=[table])


def _rates_section(cmp: Comparison) -> Section:
    per_q = [(s.scope, s) for s in cmp.questions]
    pass_rate = rate_chart(
        "pass-rate",
        "Pass rate per question",
        [
            ("baseline", [(q, s.baseline.outcome) for q, s in per_q]),
            ("candidate", [(q, s.candidate.outcome) for q, s in per_q]),
        ],
    )
    helpful = rates_or_note(
        "helpful",
        "Helpfulness per question",
        [
            ("baseline", [(q, s.baseline.helpful) for q, s in per_q]),
            ("candidate", [(q, s.candidate.helpful) for q, s in per_q]),
        ],
        empty="no human labels on either run yet",
    )
    return Section(
        id="rates", title="Pass rate and helpfulness per question", blocks=[pass_rate, helpful]
    )


def _cost_section(cmp: Comparison) -> Section:
    arms = [
        (f"baseline {cmp.baseline_ref}", cmp.overall.baseline),
        (f"candidate {cmp.candidate_ref}", cmp.overall.candidate),
    ]
    return Section(
        id="cost", title="Cost and latency", blocks=list(cost_latency_charts("arms", arms))
    )
