"""Streaming a run's trials to the judges: memory flat in the number of trials.

`evals judge` (and `evals run` with judges) used to load every trial of the run as a
pydantic Trial, every stored verdict of them, and the golden set's every Case, then
keep each new verdict: memory grew with the run. Here:

- the golden set is read lazily (evals.dataset.golden: a CaseRef per case,
  evals.dataset.case_refs) and a case is read back when its trial is judged (JudgingCases);
- a first pass over the run's typed trial columns (``trial_facts``: no body parsed
  where the segment is compacted, evals.store.typed_columns) counts the trials, the excluded
  ones and those already judged (a set of the stored final verdicts' keys);
- a second pass streams each trial's body with its usable stored verdicts (one DuckDB
  query, fetched in batches: DuckDB holds only the stored verdicts of the run's trials,
  none on a first judging) to a bounded queue the lanes take from; each trial's
  verdicts, stored and new, are added to the funnel (judges.funnel.FunnelTally) when its
  judging ends, and dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import orjson

from evals.dataset.golden import GoldenSet, case_hash, load_golden_set
from evals.schema import Case, Trial, Verdict
from evals.store.query import (
    LEAN_THREADS,
    TRIAL_PREFERENCE,
    connect,
    deduped_sql,
    run_members_sql,
)
from evals.store.typed_columns import deduped_facts_sql
from evals.store.workspace import Workspace

BATCH = 256
"""Trials fetched from DuckDB at a time."""


class JudgingCases:
    """A golden set's cases by id, for judging: held (an eager set) or read back one at
    a time (a lazy set and the ids of its refs, in order)."""

    def __init__(self, golden: GoldenSet, ids: list[str] | None = None) -> None:
        self.golden = golden
        self._cases = {c.id: c for c in golden.cases} if golden.refs is None else {}
        self._refs: dict[str, int] = {}
        if golden.refs is not None:
            if ids is None or len(ids) != len(golden.refs):
                raise ValueError("a lazy golden set needs the id of every ref")
            self._refs = {case_id: i for i, case_id in enumerate(ids)}

    @classmethod
    def load(cls, path: Path) -> JudgingCases:
        """Load a golden set lazily (raises evals.dataset.golden.GoldenSetError)."""
        ids: list[str] = []

        def keep(case: Case) -> bool:
            ids.append(case.id)  # called once per kept case, in the refs' order
            return True

        return cls(load_golden_set(path, lazy=True, keep=keep), ids)

    def ids(self) -> list[str]:
        """Every case id, in the set's order."""
        return list(self._refs) if self.golden.refs is not None else list(self._cases)

    def hash_of(self, case_id: str) -> str | None:
        """The case's hash, None when the set has no such case."""
        case = self._cases.get(case_id)
        if case is not None:
            return case_hash(case)
        i = self._refs.get(case_id)
        return None if i is None or self.golden.refs is None else self.golden.refs[i].hash

    def case(self, case_id: str) -> Case:
        """The case (read back from the set's file in lazy mode)."""
        case = self._cases.get(case_id)
        if case is not None:
            return case
        assert self.golden.refs is not None
        return self.golden.load_case(self.golden.refs[self._refs[case_id]])


@dataclass
class Counts:
    """The first pass: how many trials, excluded by reason, candidates, already judged."""

    trials: int
    excluded: dict[str, int]
    candidates: int
    already: int
    """Candidates whose final verdict is stored (skipped)."""


EXCLUDED_INFRA = "infra error (no answer)"
EXCLUDED_CASE = "case missing or changed in the golden set"


def exclusion(error_kind: str | None, case_id: str, chash: str, cases: JudgingCases) -> str | None:
    """Why a trial is not judged (judges.base.is_infra_error, then the case), or None."""
    if error_kind == "infra":
        return EXCLUDED_INFRA
    if cases.hash_of(case_id) != chash:
        return EXCLUDED_CASE
    return None


_USABLE = (
    "coalesce(body->>'$.infra_error', 'false') <> 'true' "
    "AND coalesce(body->>'$.crashed', 'false') <> 'true'"
)
"""A stored verdict the judging reuses (judges.judging.load_verdicts: not one of an
unreachable or crashed judge)."""


PART_TRIALS = 5_000
"""Trial records per partition: each pass reads the trials in key-hash partitions of
about this many records, so what DuckDB keeps per key (which record of a key wins, the
run's keys for the verdicts' filter: about 2.5 kB a key, measured) is bounded, not one
entry per trial of the run. Each partition scans every trial record once more, so
there are at most MAX_PARTS of them (larger partitions past 100,000 records)."""
MAX_PARTS = 20


def _partitions(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM facts_trial").fetchone()
    return min(MAX_PARTS, max(1, -(-int(row[0] if row else 0) // PART_TRIALS)))


def _partition(con: duckdb.DuckDBPyConnection, parts: int, i: int) -> None:
    """Views of partition i of `parts`: ``part_raw_trial`` (records), ``part_facts``
    (their typed columns) and ``part_trial_facts`` (one per key, as ``trial_facts``)."""
    con.execute(
        "CREATE OR REPLACE TEMP VIEW part_raw_trial AS SELECT * FROM raw_trial "
        f"WHERE body IS NOT NULL AND hash(body->>'$.key') % {parts} = {i}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW part_facts AS SELECT * FROM facts_trial "
        f"WHERE hash(key) % {parts} = {i}"
    )
    facts = deduped_facts_sql("part_facts", "trial")
    con.execute(f"CREATE OR REPLACE TEMP VIEW part_trial_facts AS {facts}")


_FINALS = (
    "SELECT DISTINCT v.key FROM facts_verdict v WHERE v.judge = 'cascade' AND NOT "
    "coalesce(v.infra_error, false) AND NOT coalesce(v.crashed, false) AND "
    "v.trial_key IN (SELECT key FROM part_trial_facts t WHERE {members})"
)


def first_pass(
    ws: Workspace, run_id: str, cases: JudgingCases, final_key: Callable[[str], str]
) -> Counts:
    """Count the run's trials from their typed columns (no body parsed where typed)."""
    members = run_members_sql("$run", "t")
    excluded: dict[str, int] = {}
    already = total = 0
    with connect(ws, LEAN_THREADS) as con:
        parts = _partitions(con)
        for i in range(parts):
            _partition(con, parts, i)
            finals = {
                k for (k,) in con.execute(_FINALS.format(members=members), {"run": run_id})
                .fetchall()
            }
            cur = con.execute(
                "SELECT key, error_kind, case_id, case_hash FROM part_trial_facts t "
                f"WHERE {members}",
                {"run": run_id},
            )
            while rows := cur.fetchmany(4096):
                total += len(rows)
                for key, kind, case_id, chash in rows:
                    why = exclusion(kind, case_id, chash, cases)
                    if why is not None:
                        excluded[why] = excluded.get(why, 0) + 1
                    elif final_key(key) in finals:
                        already += 1
    return Counts(total, excluded, total - sum(excluded.values()), already)


def stream_sql() -> str:
    """The trial bodies of the current partition (one per key, as the ``trials`` view
    keeps) with their usable stored verdicts (first written per key), parameter $run;
    no ORDER BY, so DuckDB streams the trials instead of sorting them."""
    members = run_members_sql("$run", run_col="body->>'$.run_id'", key_col="body->>'$.key'")
    records = deduped_sql("part_raw_trial", "body->>'$.key'", "body", TRIAL_PREFERENCE)
    # The trials are read once, streamed (a CTE read twice is materialised: every body
    # held); the verdicts' filter takes the run's keys from the typed columns.
    keys = f"SELECT key FROM part_trial_facts tf WHERE {run_members_sql('$run', 'tf')}"
    return (
        f"WITH t AS NOT MATERIALIZED (SELECT body, body->>'$.key' AS key FROM ({records}) "
        f"WHERE {members}), "
        "v AS (SELECT body->>'$.trial_key' AS trial_key, body->>'$.key' AS key, body, "
        f"filename, seq FROM raw_verdict WHERE body IS NOT NULL AND {_USABLE} "
        f"AND body->>'$.trial_key' IN ({keys})), "
        "first AS (SELECT trial_key, arg_min(body, struct_pack(f := filename, s := seq)) "
        "AS body FROM v GROUP BY trial_key, key), "
        "g AS (SELECT trial_key, list(body) AS verdicts FROM first GROUP BY trial_key) "
        "SELECT t.body, g.verdicts FROM t LEFT JOIN g ON g.trial_key = t.key"
    )


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def stream_trials(
    ws: Workspace, run_id: str, batch: int = BATCH
) -> Iterator[tuple[Trial, dict[str, Verdict]]]:
    """Each of the run's trials with its usable stored verdicts by key, streamed one
    key-hash partition after another."""
    with connect(ws, LEAN_THREADS) as con:
        parts = _partitions(con)
        for i in range(parts):
            _partition(con, parts, i)
            cur = con.execute(stream_sql(), {"run": run_id})
            while rows := cur.fetchmany(batch):
                for body, verdicts in rows:
                    stored = {}
                    for v in verdicts or []:
                        verdict = Verdict.model_validate(_json(v))
                        stored[verdict.key] = verdict
                    yield Trial.model_validate(_json(body)), stored
