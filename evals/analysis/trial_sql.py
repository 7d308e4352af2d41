"""The SQL every reader of a run's trials and labels uses: one column list with one set
of rules for missing values (:data:`TRIALS_SELECT`), the trials' order, and the counted
labels (:data:`LABELS_SQL`). load_run (:mod:`evals.analysis.rundata`), the typed-column
statistics (:mod:`evals.analysis.runfacts`) and `evals compare` in the store
(:mod:`evals.analysis.paired_queries`) all select through them."""

from __future__ import annotations

TRIALS_SELECT = """
WITH v AS MATERIALIZED (SELECT trial_key, judge, label, stage FROM latest_verdicts
                        WHERE judge IN ('cascade', 'imported_outcome'))
SELECT {extra}t.key, t.case_id, t.case_hash, t.question_id, t.model_alias, t.prompt, t.repetition,
       t.status, t.error_kind, coalesce(t.input_tokens, 0) AS input_tokens,
       coalesce(t.cached_input_tokens, 0) AS cached_input_tokens,
       coalesce(t.output_tokens, 0) AS output_tokens,
       CASE WHEN coalesce(t.cost_unknown, false) THEN NULL ELSE coalesce(t.cost_usd, 0) END
         AS cost_usd,
       coalesce(t.latency_s, 0) AS latency_s, coalesce(t.tool_calls, 0) AS tool_calls,
       coalesce(t.user_tool_calls, 0) AS user_tool_calls,
       t.imported_outcome, c.label AS cascade_label, c.stage AS cascade_stage,
       i.label AS imported_label
FROM trial_facts t
LEFT JOIN v c ON c.trial_key = t.key AND c.judge = 'cascade'
LEFT JOIN v i ON i.trial_key = t.key AND i.judge = 'imported_outcome'
WHERE {members}
"""
"""A run's trials in the field order of evals.analysis.rundata.TrialFacts (outcome aside)
with the one set of rules for missing values: for load_run, evals.analysis.runfacts and
paired_queries.FACTS_SQL. ``extra``: columns put first; ``members``: the condition
selecting the trials."""
TRIAL_ORDER = "question_id, case_id, repetition, key"
"""The order of a run's trials (means and percentiles are taken over values in it)."""

LABELS_SQL = """
SELECT id, queue_id, item_id, trial_key, case_id, reviewer, arm,
       resolved_helpful AS helpful, resolved_correctness AS correctness,
       active_seconds, idle_threshold_s, simulated
FROM resolved_labels ORDER BY reviewer, id
"""
"""The counted labels (evals.store.query's ``counted_labels`` view: undo and latest submit),
with a lead's adjudication winning over the reviewers' ratings of that item
(``resolved_labels``); handling times stay each reviewer's own."""
