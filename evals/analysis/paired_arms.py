"""One arm of a store-side comparison (:mod:`evals.analysis.paired_sql`): its descriptive
statistics from aggregates of a DuckDB table of its trials, equal to
:func:`evals.analysis.runstats.arm_stats` over the same trials.

The table (``cmp_arm0`` / ``cmp_arm1``) has the columns of
:class:`evals.analysis.rundata.TrialFacts` plus ``infra`` (an infrastructure error),
and ``run_id``. Counts and integer sums come from one
grouped query; the latency percentiles and the cost total from the fetched columns
(NumPy; costs summed exactly with evals.analysis.tallies, whatever their order), so the
floats are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import duckdb
import numpy as np

from evals import stats
from evals.analysis.rundata import REVIEW_CASE_PREFIX, LabelFacts, TrialFacts
from evals.analysis.runstats import ArmStats, helpful_stat, rate_stat
from evals.analysis.tallies import mean_cost, total_cost

_TRIAL_FIELDS = (
    "key, case_id, case_hash, question_id, model_alias, prompt, repetition, status, "
    "error_kind, input_tokens, cached_input_tokens, output_tokens, cost_usd, latency_s, "
    "tool_calls, user_tool_calls, imported_outcome, cascade_label, cascade_stage, "
    "imported_label, outcome"
)
"""TrialFacts' fields, in order."""

_ORDER = "question_id, case_id, repetition, key"
"""The trials' order in evals.analysis.rundata's load (and so in every key list)."""

_AGG_SQL = """
SELECT coalesce(question_id, '') AS q, grouping(question_id) AS g,
  count(*) AS trials, {cases} AS cases,
  count(*) FILTER (WHERE infra) AS infra_errors,
  count(*) FILTER (WHERE status = 'error' AND NOT infra) AS agent_errors,
  count(*) FILTER (WHERE cascade_label = 'pass') AS v_pass,
  count(*) FILTER (WHERE cascade_label = 'fail') AS v_fail,
  count(*) FILTER (WHERE cascade_label = 'abstain') AS v_abstain,
  count(*) FILTER (WHERE cascade_label IS NULL OR cascade_label = '') AS v_none,
  count(*) FILTER (WHERE outcome) AS k, count(outcome) AS n,
  count(cost_usd) AS costs_known, count(*) FILTER (WHERE cost_usd <> 0) AS costs_nonzero,
  sum(input_tokens) AS input_tokens, sum(cached_input_tokens) AS cached_input_tokens,
  sum(output_tokens) AS output_tokens, sum(tool_calls) AS tool_calls,
  sum(user_tool_calls) AS user_tool_calls,
  min_by(case_id, case_id, $cap) AS first_cases,
  min_by(case_id, case_id, $cap) FILTER (WHERE outcome IS NOT NULL) AS first_judged
FROM {table} GROUP BY GROUPING SETS ((question_id), ())
"""


class CostFacts(NamedTuple):
    """What the missing-cost caveat says (reports.caveats.missing_cost), both arms."""

    used: int
    """Trials that used tokens."""
    unpriced: int
    """Of those, trials without a price (no cost, or 0)."""
    models: list[str]
    """Model aliases of the unpriced trials, sorted."""


@dataclass
class ArmAggregates:
    """Aggregates of one arm's trials: rows per scope ('' overall) and two columns."""

    rows: dict[str | None, dict[str, Any]]
    """Scope (None: overall; else a question id) -> the grouped query's row."""
    latency: dict[str | None, np.ndarray] = field(default_factory=dict)
    """Latencies of the trials not lost to infrastructure, per scope."""
    costs: dict[str | None, list[float]] = field(default_factory=dict)
    """Known costs per scope, in the trials' order."""

    def questions(self) -> list[str]:
        """Question ids with trials in this arm."""
        return [q for q in self.rows if q is not None]


def _per_question(
    con: duckdb.DuckDBPyConnection, table: str, where: str, column: str, order: str
) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """A column (ordered by `order`, question first) and the row count of each question,
    in the same (DuckDB's) question order."""
    counts = con.execute(
        f"SELECT question_id, count(*) FROM {table} WHERE {where} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    values = con.execute(
        f"SELECT {column} FROM {table} WHERE {where} ORDER BY {order}"
    ).fetchnumpy()[column]
    return np.asarray(values, dtype=float), [(str(q), int(n)) for q, n in counts]


def arm_aggregates(
    con: duckdb.DuckDBPyConnection,
    table: str,
    cap: int,
    cases: dict[str | None, int] | None = None,
) -> ArmAggregates:
    """The aggregates of the arm in `table`; key lists capped at `cap`. `cases`: the
    distinct cases per scope when already counted (a distinct count costs 0.2 s at
    500k trials)."""
    distinct = "count(DISTINCT case_id)" if cases is None else "0"
    cur = con.execute(_AGG_SQL.format(table=table, cases=distinct), {"cap": cap})
    names = [d[0] for d in cur.description or []]
    rows: dict[str | None, dict[str, Any]] = {}
    for r in cur.fetchall():
        row = dict(zip(names, r, strict=True))
        scope = None if row["g"] else str(row["q"])
        if cases is not None:
            row["cases"] = cases.get(scope, 0)
        rows[scope] = row
    out = ArmAggregates(rows)
    _first_keys(con, table, out, cap)
    lat, counts = _per_question(con, table, "NOT infra", "latency_s", "question_id")
    out.latency[None] = lat
    start = 0
    for q, n in counts:
        out.latency[q] = lat[start : start + n]
        start += n
    if not any(row["costs_nonzero"] for row in rows.values()):
        # Every known cost is 0: the sums are 0.0 whatever the order, no sort needed.
        out.costs = {q: [0.0] * int(row["costs_known"]) for q, row in rows.items()}
    else:
        cost, counts = _per_question(con, table, "cost_usd IS NOT NULL", "cost_usd", "question_id")
        every = cost.tolist()
        out.costs[None] = every
        start = 0
        for q, n in counts:
            out.costs[q] = every[start : start + n]
            start += n
    return out


def _first_keys(con: duckdb.DuckDBPyConnection, table: str, agg: ArmAggregates, cap: int) -> None:
    """Each scope's first `cap` keys (and first judged keys) in the trials' order, into
    the rows' ``keys`` / ``judged_keys``. The first `cap` trials of a question lie in
    its `cap` smallest case ids (the grouped query's ``first_cases``), so only those
    cases' trials are fetched; the overall lists are the questions' in question order."""
    first = {
        q: (set(row["first_cases"] or []), set(row["first_judged"] or []))
        for q, row in agg.rows.items()
        if q is not None
    }
    cases = sorted({c for pair in first.values() for c in pair[0] | pair[1]})
    for row in agg.rows.values():
        row["keys"], row["judged_keys"] = [], []
    if not cases:
        return
    overall = agg.rows[None]
    for q, case, key, judged in con.execute(
        f"SELECT question_id, case_id, key, outcome IS NOT NULL FROM {table} "
        f"WHERE case_id IN (SELECT unnest($v)) ORDER BY {_ORDER}",
        {"v": cases},
    ).fetchall():
        row, (some, judged_cases) = agg.rows[q], first[q]
        for name, wanted in (("keys", case in some), ("judged_keys", judged and case in
                                                       judged_cases)):  # fmt: skip
            if wanted and len(row[name]) < cap:
                row[name].append(key)
                if len(overall[name]) < cap:
                    overall[name].append(key)


def _mean_of_sum(total: Any, n: int) -> float | None:
    # A sum of integers equals Python's float sum of them (exact below 2**53).
    return float(total) / n if n else None


def _finite(x: float) -> float | None:
    return None if np.isnan(x) else x


def arm_stats_from(
    agg: ArmAggregates,
    question: str | None,
    labelled: list[TrialFacts],
    assisted: list[LabelFacts],
    confidence: float,
) -> ArmStats:
    """runstats.arm_stats of the scope's trials (helpfulness over reviewed trials:
    `labelled` holds the scope's labelled ones, all it needs)."""
    row = agg.rows.get(question)
    n_trials = int(row["trials"]) if row else 0
    costs = agg.costs.get(question, [])
    latency = agg.latency.get(question, np.zeros(0))
    out = rate_stat(
        int(row["k"]) if row else 0,
        int(row["n"]) if row else 0,
        list(row["judged_keys"] or []) if row else [],
        confidence,
    )
    return ArmStats(
        trials=n_trials,
        cases=int(row["cases"]) if row else 0,
        infra_errors=int(row["infra_errors"]) if row else 0,
        agent_errors=int(row["agent_errors"]) if row else 0,
        verdicts={v: int(row[f"v_{v}"]) if row else 0 for v in ("pass", "fail", "abstain", "none")},
        outcome=out,
        helpful=helpful_stat(labelled, assisted, "reviewed", confidence),
        cost_total_usd=total_cost(costs),
        cost_per_trial_usd=mean_cost(costs),
        cost_unknown_trials=n_trials - len(costs),
        input_tokens_per_trial=_mean_of_sum(row["input_tokens"], n_trials) if row else None,
        cached_input_tokens_per_trial=(
            _mean_of_sum(row["cached_input_tokens"], n_trials) if row else None
        ),
        output_tokens_per_trial=_mean_of_sum(row["output_tokens"], n_trials) if row else None,
        tool_calls_per_trial=_mean_of_sum(row["tool_calls"], n_trials) if row else None,
        user_tool_calls_per_trial=(_mean_of_sum(row["user_tool_calls"], n_trials) if row else None),
        latency_p50_s=_finite(stats.percentile(latency, 50.0)),
        latency_p95_s=_finite(stats.p95(latency)),
        trial_keys=list(row["keys"] or []) if row else [],
    )


def _present(con: duckdb.DuckDBPyConnection, table: str, column: str, values: set[str]) -> set[str]:
    """Which of `values` occur in `table`'s `column`."""
    if not values:
        return set()
    rows = con.execute(
        f"SELECT DISTINCT {column} FROM {table} WHERE {column} IN (SELECT unnest($v))",
        {"v": sorted(values)},
    ).fetchall()
    return {str(r[0]) for r in rows}


def attribute_labels(
    con: duckdb.DuckDBPyConnection, table: str, labels: list[LabelFacts]
) -> tuple[list[LabelFacts], list[LabelFacts]]:
    """(assisted, unassisted) labels of the arm, as evals.analysis.rundata's load
    attributes them, asking the table only about the labels' keys and cases."""
    labels = [lb for lb in labels if not lb.case_id.startswith(REVIEW_CASE_PREFIX)]
    keys = _present(con, table, "key", {lb.trial_key for lb in labels if lb.trial_key is not None})
    assisted = [lb for lb in labels if lb.arm == "assisted" and lb.trial_key in keys]
    queues = {lb.queue_id for lb in assisted}
    control = [lb for lb in labels if lb.arm == "unassisted"]
    unassisted = [lb for lb in control if lb.queue_id in queues]
    if not unassisted:
        cases = _present(con, table, "case_id", {lb.case_id for lb in control})
        unassisted = [lb for lb in control if lb.case_id in cases]
    return assisted, unassisted


def labelled_trials(
    con: duckdb.DuckDBPyConnection, table: str, assisted: list[LabelFacts]
) -> list[TrialFacts]:
    """The arm's trials that carry an assisted label, in the trials' order."""
    keys = sorted({lb.trial_key for lb in assisted if lb.trial_key is not None})
    if not keys:
        return []
    rows = con.execute(
        f"SELECT {_TRIAL_FIELDS} FROM {table} WHERE key IN (SELECT unnest($v)) ORDER BY {_ORDER}",
        {"v": keys},
    ).fetchall()
    return [TrialFacts(*r) for r in rows]


def cost_facts(con: duckdb.DuckDBPyConnection) -> CostFacts:
    """Trials of both arms that used tokens, and those of them without a price."""
    used, unpriced, models = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE coalesce(cost_usd, 0) = 0), "
        "list_sort(list_distinct(list(model_alias) FILTER (WHERE coalesce(cost_usd, 0) = 0)))"
        " FROM (SELECT * FROM cmp_arm0 UNION ALL SELECT * FROM cmp_arm1) "
        "WHERE input_tokens + output_tokens > 0"
    ).fetchone() or (0, 0, [])
    return CostFacts(int(used), int(unpriced), [str(m) for m in models or []])
