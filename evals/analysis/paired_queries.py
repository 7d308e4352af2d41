"""The SQL of `evals compare` in the store (:mod:`evals.analysis.paired_sql`): both runs'
trials in one temporary table, each arm a view of it with its outcomes, and the pairing
units per question and overall. Kept apart so the orchestration reads in one screen."""

from __future__ import annotations

from evals.analysis.rundata import RunRef
from evals.analysis.runfacts import lit
from evals.analysis.trial_sql import TRIALS_SELECT

FACTS_SQL = "CREATE TEMP TABLE cmp_facts AS " + TRIALS_SELECT.format(
    extra="t.run_id, coalesce(t.status = 'error' AND t.error_kind = 'infra', false) AS infra, "
    "{m0} AS m0, {m1} AS m1, ",
    members="{m0} OR {m1}",
)
"""Both runs' trials, one scan of the trial facts (load_run's columns,
evals.analysis.trial_sql.TRIALS_SELECT); m0 / m1: a member of the baseline / candidate run.
No row number for the trials' order (question, case, repetition, key): sorting a million
rows cost more than every use of it (first keys and first trials are found per group
instead)."""

UNITS_SQL = """
CREATE TEMP TABLE cmp_units AS
SELECT 0 AS g, coalesce(question_id, '') AS q, unit,
       count(*) FILTER (WHERE arm = 0) AS a0, count(*) FILTER (WHERE arm = 1) AS a1,
       count(outcome) FILTER (WHERE arm = 0) AS n0, count(outcome) FILTER (WHERE arm = 1) AS n1,
       count(*) FILTER (WHERE arm = 0 AND outcome) AS p0,
       count(*) FILTER (WHERE arm = 1 AND outcome) AS p1,
       min(case_hash) FILTER (WHERE arm = 0 AND outcome IS NOT NULL) AS h0,
       max(case_hash) FILTER (WHERE arm = 0 AND outcome IS NOT NULL) AS x0,
       min(case_hash) FILTER (WHERE arm = 1 AND outcome IS NOT NULL) AS h1,
       max(case_hash) FILTER (WHERE arm = 1 AND outcome IS NOT NULL) AS x1
FROM (SELECT 0 AS arm, question_id, case_hash, outcome, {unit} AS unit FROM cmp_arm0
      UNION ALL
      SELECT 1 AS arm, question_id, case_hash, outcome, {unit} AS unit FROM cmp_arm1)
GROUP BY ALL
"""
"""Pairing units per question (g = 0; the overall ones: OVERALL_UNITS_SQL) and arm, as
evals.analysis.compare.pairing_units: a0 trials, n0 of them with an outcome, p0 passed.
h0 / x0: the smallest / largest case hash of its trials with an outcome: when they
agree, the first trial's (units whose trials disagree get it from MIXED_SQL: a per-row
order costs more). With pairing by case, a unit is a case: a0 > 0 counts the cases."""

OVERALL_UNITS_SQL = """
INSERT INTO cmp_units
SELECT 1, '', unit, sum(a0), sum(a1), sum(n0), sum(n1), sum(p0), sum(p1),
       min(h0), max(x0), min(h1), max(x1)
FROM cmp_units GROUP BY unit
"""
"""The overall units (g = 1) merged from the questions' when some unit has trials in
several questions."""

ALL_UNITS_SQL = """
CREATE TEMP VIEW cmp_all_units AS
SELECT * FROM cmp_units
UNION ALL
SELECT 1 AS g, '' AS q, * EXCLUDE (g, q) FROM cmp_units WHERE {copy}
"""
"""Every scope's units: when no unit spans questions, the overall units are the
questions' units as they are (no second grouping of 500k units: 0.34 s of CPU)."""

PASS0, PASS1 = "2 * p0 > n0", "2 * p1 > n1"
MIXED_SQL = """
UPDATE cmp_units u SET h0 = f.h0, h1 = f.h1
FROM (SELECT u.g, u.q, u.unit,
        arg_min(t.case_hash, struct_pack(q := t.question_id, c := t.case_id,
                r := t.repetition, k := t.key)) FILTER (WHERE t.arm = 0) AS h0,
        arg_min(t.case_hash, struct_pack(q := t.question_id, c := t.case_id,
                r := t.repetition, k := t.key)) FILTER (WHERE t.arm = 1) AS h1
      FROM cmp_units u JOIN (
        SELECT 0 AS arm, * FROM cmp_arm0 WHERE outcome IS NOT NULL
        UNION ALL SELECT 1 AS arm, * FROM cmp_arm1 WHERE outcome IS NOT NULL) t
        ON {unit} = u.unit AND (u.g = 1 OR t.question_id = u.q)
      WHERE u.h0 <> u.x0 OR u.h1 <> u.x1 GROUP BY ALL) f
WHERE u.g = f.g AND u.q = f.q AND u.unit = f.unit
"""

CELL = f"""CASE WHEN n0 = 0 OR n1 = 0 THEN NULL
  WHEN {PASS0} AND {PASS1} THEN 'both_pass' WHEN {PASS0} THEN 'baseline_only'
  WHEN {PASS1} THEN 'candidate_only' ELSE 'both_fail' END"""

TABLE_SQL = f"""
SELECT g, q, coalesce({CELL}, CASE WHEN n1 = 0 THEN 'unpaired_baseline'
                                    ELSE 'unpaired_candidate' END) AS cell,
       count(*), sum(n0 + n1), count(*) FILTER (WHERE h0 IS DISTINCT FROM h1)
FROM cmp_all_units WHERE n0 > 0 OR n1 > 0 GROUP BY ALL
"""

CELL_KEYS_SQL = f"""
WITH first_units AS (
  SELECT g, q, cell, unnest(units) AS unit
  FROM (SELECT g, q, cell, min_by(unit, unit, $cap) AS units
        FROM (SELECT *, {CELL} AS cell FROM cmp_all_units) WHERE cell IS NOT NULL
        GROUP BY ALL)),
trials AS (
  SELECT 0 AS arm, * FROM cmp_arm0 WHERE outcome IS NOT NULL
  UNION ALL SELECT 1 AS arm, * FROM cmp_arm1 WHERE outcome IS NOT NULL)
SELECT f.g, f.q, f.cell, t.key
FROM first_units f JOIN trials t ON {{unit}} = f.unit AND (f.g = 1 OR t.question_id = f.q)
ORDER BY f.g, f.q, f.cell, f.unit, t.arm, t.question_id, t.case_id, t.repetition, t.key
"""
"""The keys of the first units of each cell, in the Python path's order."""

def evidence_query(base: RunRef, cand: RunRef) -> str:
    """SQL over the workspace's views (evals.store.query.query) listing every trial
    behind the comparison's figures, for when the evidence lists are capped."""

    def one(ref: RunRef) -> str:
        where = [f"r.run_id = {lit(ref.run_id)}"]
        if ref.model is not None:
            where.append(f"t.model_alias = {lit(ref.model)}")
        if ref.prompt is not None:
            where.append(f"t.prompt = {lit(ref.prompt)}")
        return " AND ".join(where)

    return (
        "SELECT r.run_id, t.question_id, t.case_id, t.repetition, t.key FROM run_trials r "
        "JOIN trial_facts t ON t.key = r.trial_key "
        f"WHERE ({one(base)}) OR ({one(cand)}) "
        "ORDER BY r.run_id, t.question_id, t.case_id, t.repetition, t.key"
    )
