"""The run summary report: funnel, helpfulness, handling time, cost and latency per model.

A run may hold several model/prompt cells; each table and chart shows them side by
side. Examples of judge-failed answers are quoted with the judge's reason: both are
untrusted text and are escaped by the renderers.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import duckdb

from evals.analysis.compare import Comparison
from evals.analysis.rundata import RunData
from evals.analysis.runstats import (
    ArmStats,
    Funnel,
    RateStat,
    arm_stats_from_tally,
    funnel_from_tally,
    handling_time,
)
from evals.schema import Decision
from evals.store.query import query
from evals.store.rows import fetch_dicts, rows_as
from evals.store.workspace import Workspace
from reports.caveats import run_caveats
from reports.charts import cost_latency_charts, funnel_chart, handling_chart, rates_or_note
from reports.decision import as_decision, decisions_for, summary_box
from reports.glossary import glossary
from reports.model import (
    Block,
    Cell,
    KeyNumber,
    Report,
    Section,
    TableBlock,
    TextBlock,
    cost_cell,
    per_trial_int,
)
from reports.propagation import propagation_section
from reports.summary_facts import SummaryFacts, from_run

EXAMPLE_CHARS = 400
"""Characters of an answer quoted in the examples table."""


class Example(NamedTuple):
    """A judge-failed trial quoted in the summary."""

    key: str
    """The trial."""
    question_id: str
    """Its question."""
    case_id: str
    """Its case."""
    final_answer: str | None
    """The agent's answer (untrusted text: rendered as text)."""
    reason: str | None
    """The cascade's final reason (untrusted text)."""


def _query(
    ws: Workspace, con: duckdb.DuckDBPyConnection | None, sql: str, params: list[Any]
) -> list[dict[str, Any]]:
    return query(ws, sql, params) if con is None else fetch_dicts(con.execute(sql, params))


def load_examples(
    ws: Workspace,
    run: RunData | SummaryFacts,
    limit: int = 10,
    con: duckdb.DuckDBPyConnection | None = None,
) -> list[Example]:
    """The first judge-failed trials with their answer and the cascade's reason (`con`:
    a connection with the workspace's views, else one is opened)."""
    if isinstance(run, SummaryFacts):
        keys = run.failed_keys[:limit]
    else:
        keys = [t.key for t in run.trials if t.cascade_label == "fail"][:limit]
    if not keys:
        return []
    rows = _query(
        ws,
        con,
        "SELECT t.key, t.question_id, t.case_id, t.final_answer, v.reason "
        "FROM trials t LEFT JOIN final_verdicts v ON v.trial_key = t.key "
        "WHERE t.key IN (SELECT unnest(?)) ORDER BY t.question_id, t.case_id, t.repetition, t.key",
        [keys],
    )
    return rows_as(Example, rows)


def load_decisions(
    ws: Workspace, run_id: str, con: duckdb.DuckDBPyConnection | None = None
) -> list[Decision]:
    """Gate decisions recorded on a run, newest first."""
    rows = _query(
        ws,
        con,
        "SELECT * EXCLUDE (recorded_at) FROM decisions WHERE run_id = ? ORDER BY created_at DESC",
        [run_id],
    )
    return [as_decision(r) for r in rows]


def _rate(s: ArmStats, which: str) -> str:
    r = getattr(s, which)
    if r.rate is None:
        return "n/a"
    sim = " SIMULATED" if r.simulated else ""
    return f"{r.rate:.1%} ({r.k}/{r.n}) [{r.low:.3f}, {r.high:.3f}]{sim}"


def outcome_name(run: RunData | SummaryFacts) -> str:
    """What a run's pass rate is: the judges' cascade, or an import's recorded outcome
    (the source's own grader, e.g. tau-bench's reward), never called a judge's."""
    return "Recorded outcome pass rate" if run.outcome_source == "imported" else "Judge pass rate"


def simulated_note(run: RunData | SummaryFacts) -> str | None:
    """The caveat of a run whose human numbers include simulated reviewers' labels."""
    if run.simulated:
        return (
            "SIMULATED: helpfulness and handling time here include simulated reviewers' "
            "labels (sim:*), demo data, not measurements of people."
        )
    if run.excluded_simulated:
        return (
            f"{run.excluded_simulated} label(s) by simulated reviewers (sim:*) are left out "
            "(--include-simulated counts them, marked SIMULATED)."
        )
    return None


def _cell_table(cells: dict[str, ArmStats]) -> TableBlock:
    rows: list[list[Cell]] = [
        [
            name,
            s.trials,
            f"{s.infra_errors}/{s.agent_errors}",
            _rate(s, "outcome"),
            _rate(s, "helpful"),
            cost_cell(s.cost_per_trial_usd, s.trials, s.cost_unknown_trials),
            per_trial_int(s.input_tokens_per_trial),
            per_trial_int(s.cached_input_tokens_per_trial),
            per_trial_int(s.output_tokens_per_trial),
            s.latency_p50_s,
            s.latency_p95_s,
            s.tool_calls_per_trial,
            s.user_tool_calls_per_trial if s.user_tool_calls_per_trial else None,
        ]
        for name, s in cells.items()
    ]
    return TableBlock(
        columns=[
            "model/prompt",
            "trials",
            "infra/agent errors",
            "pass rate [95% CI]",
            "helpful [95% CI]",
            "cost/trial USD",
            "input tok/trial",
            "cached input tok/trial",
            "output tok/trial",
            "p50 s",
            "p95 s",
            "tool calls/trial (agent)",
            "user tool calls/trial",
        ],
        rows=rows,
        evidence_counts=[s.trials for s in cells.values()],
    )


QuestionStats = dict[tuple[str, str], ArmStats]
"""(question id, cell name) -> statistics of that cell's trials on the question."""


def _question_stats(run: SummaryFacts) -> QuestionStats:
    return {k: arm_stats_from_tally(t, run.assisted) for k, t in run.question_cells.items()}


def _question_table(stats: QuestionStats) -> TableBlock:
    rows: list[list[Cell]] = []
    for (q, name), s in sorted(stats.items()):
        rows.append(
            [
                q,
                name,
                s.trials,
                _rate(s, "outcome"),
                _rate(s, "helpful"),
                cost_cell(s.cost_per_trial_usd, s.trials, s.cost_unknown_trials),
                s.latency_p95_s,
            ]
        )
    return TableBlock(
        columns=[
            "question",
            "model/prompt",
            "trials",
            "pass rate [95% CI]",
            "helpful [95% CI]",
            "cost/trial USD",
            "p95 s",
        ],
        rows=rows,
        evidence_counts=[s.trials for _, s in sorted(stats.items())],
    )


def _question_blocks(run: SummaryFacts, cells: list[str]) -> list[Block]:
    stats = _question_stats(run)
    questions = run.questions

    def series(which: str) -> list[tuple[str, list[tuple[str, RateStat]]]]:
        return [
            (name, [(q, getattr(stats[(q, name)], which)) for q in questions if (q, name) in stats])
            for name in cells
        ]

    return [
        rates_or_note(
            "helpful",
            "Helpfulness per question",
            series("helpful"),
            "helpful rate",
            empty="no human labels on this run yet",
        ),
        rates_or_note(
            "pass-rate",
            f"{outcome_name(run)} per question",
            series("outcome"),
            "pass rate",
            empty="no judged trials yet",
        ),
        _question_table(stats),
    ]


def _handling_blocks(run: SummaryFacts) -> list[Block]:
    ht = handling_time(run.assisted, run.unassisted)
    if ht is not None and ht.simulated:
        return [TextBlock(text=simulated_note(run) or ""), handling_chart("handling", ht)]
    if ht is None:
        return [
            TextBlock(
                text="No timed labels in both arms yet (assisted and unassisted "
                "control items are both needed to measure time saved)."
            )
        ]
    return [handling_chart("handling", ht)]


def _handling_data(run: SummaryFacts) -> dict[str, Any] | None:
    ht = handling_time(run.assisted, run.unassisted)
    return None if ht is None else ht.model_dump(mode="json", exclude={"label_ids"})


def _examples_block(examples: list[Example]) -> Block:
    if not examples:
        return TextBlock(text="No judge-failed trials.")
    rows: list[list[Cell]] = []
    for e in examples:
        answer = e.final_answer or ""
        if len(answer) > EXAMPLE_CHARS:
            answer = answer[:EXAMPLE_CHARS] + " …"
        rows.append([e.question_id, e.case_id, e.reason or "", answer])
    return TableBlock(
        columns=["question", "case", "judge reason", "answer (excerpt)"],
        rows=rows,
        evidence=[[e.key] for e in examples],
    )


def _fallback_numbers(cells: dict[str, ArmStats]) -> list[KeyNumber]:
    """Without a gate decision, the box shows each cell's pass and helpful rates."""
    return [
        KeyNumber(
            label=f"{name}: pass rate / helpful",
            value=f"{_rate(s, 'outcome')} / {_rate(s, 'helpful')}",
        )
        for name, s in cells.items()
    ][:8]


def _subtitle(run: SummaryFacts) -> list[str]:
    """What the run is (dataset, source, outcome) and holds (trials, cells, labels)."""
    m = run.manifest
    subtitle = [
        f"run {run.ref} · dataset {m.get('dataset')}@{m.get('dataset_hash')} · "
        f"source {m.get('source')} · outcome from {run.outcome_source}",
        f"{run.trials} trials · {len(run.cells)} model/prompt cell(s) · "
        f"{len(run.questions)} question(s) · {len(run.assisted)} counted assisted labels · "
        f"{len(run.unassisted)} unassisted control labels",
    ]
    note = simulated_note(run)
    return [*subtitle, note] if note else subtitle


def _decision_blocks(decisions: list[Decision] | None) -> list[Block]:
    """The gate decisions recorded on the run, as a table (a note when there are none)."""
    if not decisions:
        return [TextBlock(text="No gate decision recorded on this run.")]
    columns = ["decision", "gate", "outcome", "summary", "run", "baseline", "at"]
    rows: list[list[str | None]] = [
        [d.id, d.gate, d.outcome, d.summary, d.run_ref, d.baseline_ref, str(d.created_at)]
        for d in decisions
    ]
    return [TableBlock(columns=columns, rows=rows)]


def build_run_summary(
    run: RunData | SummaryFacts,
    examples: list[Example] | None = None,
    decisions: list[Decision] | None = None,
    propagation: Comparison | None = None,
) -> Report:
    """The summary report of one run (all its cells, or the selected one); for a review
    run, `propagation` (teacher run vs this one) adds the error-propagation section.
    `run`: its trials (RunData) or their tallies (SummaryFacts, reports.summary_facts)."""
    if isinstance(run, RunData):
        run = from_run(run)
    cells = run.cells
    cell_stats = {name: arm_stats_from_tally(t, run.assisted) for name, t in cells.items()}
    funnels = {name: funnel_from_tally(t, run.assisted) for name, t in cells.items()}
    sections = [
        Section(
            id="overview", title="Overview per model and prompt", blocks=[_cell_table(cell_stats)]
        ),
        Section(
            id="funnel",
            title="Review funnel",
            blocks=[funnel_chart("funnel", list(funnels.items()))],
        ),
        Section(id="questions", title="Per question", blocks=_question_blocks(run, list(cells))),
        Section(id="handling", title="Handling time", blocks=_handling_blocks(run)),
        Section(
            id="cost",
            title="Cost and latency per model",
            blocks=list(
                cost_latency_charts(
                    "models", [(m, arm_stats_from_tally(t, [])) for m, t in run.models.items()]
                )
            ),
        ),
        Section(
            id="examples",
            title="Judge-failed answers (examples)",
            blocks=[_examples_block(examples or [])],
        ),
        Section(id="decisions", title="Gate decisions", blocks=_decision_blocks(decisions)),
    ]
    if propagation is not None:
        sections.insert(3, propagation_section(propagation))
    chosen = decisions_for(decisions or [], run.ref)
    return Report(
        kind="run_summary",
        title=f"Run summary: {run.ref}",
        subtitle=_subtitle(run),
        decision=summary_box(chosen, str(run.ref), _fallback_numbers(cell_stats)),
        caveats=run_caveats(run, chosen[0] if chosen else None),
        glossary=glossary(
            "Wilson interval",
            "undecided / cases needed",
            "geometric-mean ratio (clustered bootstrap)",
            "p50 / p95 latency",
        ),
        sections=sections,
        data=_summary_data(run, cell_stats, funnels, propagation),
    )


def _summary_data(
    run: SummaryFacts,
    cell_stats: dict[str, ArmStats],
    funnels: dict[str, Funnel],
    propagation: Comparison | None,
) -> dict[str, Any]:
    """The report's data: the figures behind every table and chart, as JSON."""
    return {
        "run": str(run.ref),
        "outcome_source": run.outcome_source,
        "simulated": run.simulated,
        "overall": arm_stats_from_tally(run.overall, run.assisted).model_dump(mode="json"),
        "handling_time": _handling_data(run),
        "cells": {n: s.model_dump(mode="json") for n, s in cell_stats.items()},
        "funnel": {n: f.model_dump(mode="json") for n, f in funnels.items()},
        "propagation": None if propagation is None else propagation.model_dump(mode="json"),
    }
