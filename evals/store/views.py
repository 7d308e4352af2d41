"""The store's shared SQL: which modules register record kinds, what a run's trials are,
and the derived views (the one definition of a trial's final verdict and of the labels
that count). Plain text and functions (no imports of the store): evals.store.query uses them
and re-exports them."""

from __future__ import annotations

import importlib

VIEW_MODULES = (
    "evals.run.links",
    "evals.dataset.preferences",
    "evals.importers.common",
    "judges.calibration_store",
    "judges.funnel",
    "judges.pairwise",
    "labeling_app.queues.models",
    "labeling_app.queues.lead_records",
)
"""Modules that register record kinds (register_view at import). Imported before views
are defined: a view documented in docs/store-format.md must not depend on what the caller
happened to import (each import is cheap: no model or HTTP client is loaded)."""


def load_view_modules() -> None:
    """Import every module of VIEW_MODULES (idempotent), registering all record kinds."""
    for name in VIEW_MODULES:
        importlib.import_module(name)


def run_members_sql(
    run: str = "?", table: str = "t", *, run_col: str | None = None, key_col: str | None = None
) -> str:
    """THE definition of a run's trials, as a SQL condition on the trials view aliased
    `table` (`run`: the SQL of the run id, ``?`` or ``$run``; with ``?`` pass the id
    twice): its own trials and those it reused from another run with the same key (the
    runner's ``run_link`` records). The ``run_trials`` view holds the same pairs.
    `run_col` / `key_col` replace the column expressions (e.g. over a record body)."""
    col = f"{table}." if table else ""
    run_col = run_col or f"{col}run_id"
    key_col = key_col or f"{col}key"
    return (
        f"({run_col} = {run} OR {key_col} IN "
        f"(SELECT trial_key FROM run_links WHERE run_id = {run}))"
    )


SIMULATED_PREFIX = "sim:"
"""Reviewer ids of simulated reviewers start with this (labeling_app.queues.simulate)."""

LATEST_VERDICT_COLUMNS = (
    "key",
    "run_id",
    "judge_version",
    "stage",
    "label",
    "raw_label",
    "confidence",
    "reason",
    "created_at",
)
"""Columns of a verdict that `latest_verdicts` keeps (one aggregate, one scan: a join
back to the verdicts for whole rows doubled the time and memory of loading a run)."""

DERIVED_VIEWS: dict[str, str] = {
    # Which trials belong to a run (see run_members_sql).
    "run_trials": (
        "SELECT run_id, key AS trial_key FROM trial_facts "
        "UNION SELECT run_id, trial_key FROM run_links"
    ),
    # A trial's latest verdict per judge: a trial judged by several cascade versions
    # counts the latest (created_at, then when it was written, then its key).
    "latest_verdicts": (
        "SELECT trial_key, judge, "
        + ", ".join(f"arg_max({c}, o) AS {c}" for c in LATEST_VERDICT_COLUMNS)
        + " FROM (SELECT *, struct_pack(c := created_at, r := recorded_at, k := key) AS o "
        "FROM verdict_facts) GROUP BY trial_key, judge"
    ),
    # The final cascade verdict of a trial: fail, pass or abstain (escalated to people).
    "final_verdicts": "SELECT * FROM latest_verdicts WHERE judge = 'cascade'",
    # The labels every number counts: an undo retracts the label it names; of the other
    # submits only the latest per (queue, item, reviewer) counts (skips and flags carry
    # no rating). `simulated`: a simulated reviewer's (excluded unless asked for).
    "counted_labels": (
        "SELECT *, starts_with(reviewer, '" + SIMULATED_PREFIX + "') AS simulated "
        "FROM labels WHERE action = 'submit' AND id NOT IN (SELECT retracts FROM labels "
        "WHERE action = 'undo' AND retracts IS NOT NULL) "
        "QUALIFY row_number() OVER (PARTITION BY queue_id, item_id, reviewer "
        "ORDER BY submitted_at DESC, recorded_at DESC, id) = 1"
    ),
    # The latest adjudication of an item (a lead settling a disagreement).
    "latest_adjudications": (
        "SELECT * FROM adjudications QUALIFY row_number() OVER (PARTITION BY queue_id, "
        "item_id ORDER BY \"at\" DESC, recorded_at DESC, id DESC) = 1"
    ),
    # Counted labels with the lead's decision where an item was adjudicated: the lead's
    # helpfulness and correctness win (`resolved_*`, what rates and gates count), while
    # `helpful` and `correctness` stay the reviewer's own (what agreement between
    # reviewers is measured on). `adjudication_id` says which labels were overruled.
    "resolved_labels": (
        "SELECT c.*, coalesce(a.helpful, c.helpful) AS resolved_helpful, "
        "coalesce(a.correctness, c.correctness) AS resolved_correctness, "
        "a.id AS adjudication_id FROM counted_labels c LEFT JOIN latest_adjudications a "
        "ON a.queue_id = c.queue_id AND a.item_id = c.item_id"
    ),
}
"""Views over the record views: name -> SELECT (defined in this order)."""
