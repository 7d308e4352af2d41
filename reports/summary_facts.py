"""What the run summary report is computed from: tallies per cell, per question and cell,
per model and overall (evals.analysis.tallies), the caveats' counts and the examples' keys.

Built either from a run's TrialFacts (:func:`from_run`, the reference) or in DuckDB over the
typed columns (:func:`from_session`, what `evals report` does: a million trials without a
Python object each); the report is then the same function of either, and
tests/reports/test_summary_facts.py requires equal reports from both. No figure lists its
trial keys: each table row and chart part names its selection (run, cell, question) and
counts its trials.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from evals.analysis.rundata import LabelFacts, RunData, RunRef, TrialFacts
from evals.analysis.runfacts import FactSession, RunFacts
from evals.analysis.tallies import Tally, merge_tallies, tally_trials

EXAMPLES = 10
"""Judge-failed trials quoted in the summary."""


@dataclass
class SummaryFacts:
    """A run's figures for the summary report."""

    ref: RunRef
    manifest: dict[str, Any]
    outcome_source: str
    assisted: list[LabelFacts]
    unassisted: list[LabelFacts]
    include_simulated: bool
    excluded_simulated: int
    questions: list[str]
    """Question ids of the run's (selected) trials, sorted."""
    overall: Tally
    cells: dict[str, Tally]
    """'model/prompt' -> its tally, sorted by name."""
    question_cells: dict[tuple[str, str], Tally]
    """(question, 'model/prompt') -> tally (Tally.cases not counted)."""
    models: dict[str, Tally]
    """Model alias -> tally (Tally.cases not counted)."""
    question_cases: dict[str, int]
    """Question -> distinct cases."""
    used_tokens: int = 0
    """Trials that used tokens."""
    unpriced: int = 0
    """Of those, trials without a cost (None or 0)."""
    unpriced_models: list[str] = field(default_factory=list)
    infra_errors: int = 0
    """Trials whose error kind is infra."""
    failed_keys: list[str] = field(default_factory=list)
    """The first EXAMPLES judge-failed trials, in the trials' order."""

    @property
    def simulated(self) -> bool:
        """Some label behind this run's human numbers is a simulated reviewer's."""
        return any(lb.simulated for lb in (*self.assisted, *self.unassisted))

    @property
    def trials(self) -> int:
        """Trials of the run (its selected cells)."""
        return self.overall.trials


def _cell(t: TrialFacts) -> str:
    return f"{t.model_alias}/{t.prompt}"


def from_run(run: RunData) -> SummaryFacts:
    """The summary's figures from a run's trials in memory (the reference path)."""
    labelled = {lb.trial_key for lb in run.assisted if lb.trial_key}
    control = {lb.case_id for lb in run.unassisted}

    def tally(ts: list[TrialFacts], cases: bool = True) -> Tally:
        out = tally_trials(ts, labelled, control)
        out.cases = out.cases if cases else 0
        return out

    groups: dict[str, list[TrialFacts]] = defaultdict(list)
    by_qc: dict[tuple[str, str], list[TrialFacts]] = defaultdict(list)
    by_model: dict[str, list[TrialFacts]] = defaultdict(list)
    by_q: dict[str, set[str]] = defaultdict(set)
    for t in run.trials:
        groups[_cell(t)].append(t)
        by_qc[(t.question_id, _cell(t))].append(t)
        by_model[t.model_alias].append(t)
        by_q[t.question_id].add(t.case_id)
    used = [t for t in run.trials if t.input_tokens + t.output_tokens > 0]
    unpriced = [t for t in used if not t.cost_usd]
    return SummaryFacts(
        run.ref, run.manifest, run.outcome_source, run.assisted, run.unassisted,
        run.include_simulated, run.excluded_simulated, run.questions(),
        overall=tally(run.trials),
        cells={n: tally(ts) for n, ts in sorted(groups.items())},
        question_cells={k: tally(ts, False) for k, ts in sorted(by_qc.items())},
        models={m: tally(ts, False) for m, ts in sorted(by_model.items())},
        question_cases={q: len(c) for q, c in sorted(by_q.items())},
        used_tokens=len(used),
        unpriced=len(unpriced),
        unpriced_models=sorted({t.model_alias for t in unpriced}),
        infra_errors=sum(1 for t in run.trials if t.error_kind == "infra"),
        failed_keys=[t.key for t in run.trials if t.cascade_label == "fail"][:EXAMPLES],
    )


def from_session(fs: FactSession, run: RunFacts) -> SummaryFacts:
    """The summary's figures from tallies in DuckDB (evals.analysis.runfacts)."""
    table = run.table
    by_cell = fs.tallies(run, ["model_alias", "prompt"])
    cells = dict(sorted((f"{m}/{p}", t) for (m, p), t in by_cell.items()))
    by_model: dict[str, list[Tally]] = defaultdict(list)
    for (m, _), t in by_cell.items():
        by_model[m].append(t)
    qc = fs.tallies(run, ["question_id", "model_alias", "prompt"], cases=False)
    question_cells = dict(sorted(((q, f"{m}/{p}"), t) for (q, m, p), t in qc.items()))
    cases = dict(fs.con.execute(
        "SELECT CASE WHEN grouping(question_id) = 1 THEN NULL ELSE question_id END, "
        f"count(DISTINCT case_id) FROM {table} GROUP BY GROUPING SETS ((), (question_id))"
    ).fetchall())
    used = "input_tokens + output_tokens > 0"
    counts = fs.con.execute(
        f"SELECT count(*) FILTER ({used}), count(*) FILTER ({used} AND coalesce(cost_usd, 0) "
        f"= 0), list(DISTINCT model_alias ORDER BY model_alias) FILTER ({used} AND "
        "coalesce(cost_usd, 0) = 0), count(*) FILTER (error_kind = 'infra') "
        f"FROM {table}"
    ).fetchall()[0]
    failed = fs.con.execute(
        f"SELECT key FROM {table} WHERE cascade_label = 'fail' "
        f"ORDER BY question_id, case_id, repetition, key LIMIT {EXAMPLES}"
    ).fetchall()
    overall = merge_tallies(list(cells.values()), int(cases.get(None, 0)))
    return SummaryFacts(
        run.ref, run.manifest, run.outcome_source, run.assisted, run.unassisted,
        run.include_simulated, run.excluded_simulated, run.questions,
        overall=overall,
        cells=cells,
        question_cells=question_cells,
        models={
            m: merge_tallies(ts, 0) for m, ts in sorted(by_model.items())
        },
        question_cases={q: int(n) for q, n in sorted(
            (q, n) for q, n in cases.items() if q is not None
        )},
        used_tokens=int(counts[0]),
        unpriced=int(counts[1]),
        unpriced_models=list(counts[2] or []),
        infra_errors=int(counts[3]),
        failed_keys=[r[0] for r in failed],
    )

