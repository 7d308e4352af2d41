"""Streaming a run's trials to the judges: memory flat in the number of trials.

`evals judge` (and `evals run` with judges) used to load every trial of the run as a
pydantic Trial, every stored verdict of them, and the golden set's every Case, then
keep each new verdict: memory grew with the run. Here:

- the golden set is read lazily (evals.dataset.golden: a CaseRef per case,
  evals.dataset.case_refs), its ids are looked up in arrays (judges.judging_cases) and a
  case is read back when its trial is judged (JudgingCases);
- a first pass over the run's typed trial columns (``trial_facts``: no body parsed
  where the segment is compacted, evals.store.typed_columns) counts the trials, the excluded
  ones and those already judged (a set of the stored final verdicts' keys);
- a second pass streams each trial's body with its usable stored verdicts (one DuckDB
  query per key-hash partition, fetched in batches: which record of a key wins is
  decided on the typed columns, and the bodies are read once, only the winners' kept) to
  a bounded queue the lanes take from; each trial's verdicts, stored and new, are added
  to the funnel (judges.funnel.FunnelTally) when its judging ends, and dropped;
- both passes run under a DuckDB memory limit (Budget) that doubles when a query needs
  more: without one, DuckDB kept what its scans had allocated until the connection
  closed, and that grew with the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb
import orjson

from evals.schema import Trial, Verdict
from evals.store.query import LEAN_THREADS, connect, run_members_sql
from evals.store.typed_columns import deduped_facts_sql
from evals.store.workspace import Workspace
from judges.judging_cases import JudgingCases as JudgingCases  # re-exported

T = TypeVar("T")
log = logging.getLogger(__name__)

BATCH = 256
"""Trials fetched from DuckDB at a time."""


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


MEMORY_LIMIT_MB = 24
"""DuckDB's memory limit for judging's queries, to start with. Under no limit DuckDB
keeps what its scans allocated, released only when the connection closes (one
partition's stream query, measured: +7 MB of RSS at 1,000 trials, +29 MB at 100,000;
under this limit +7 MB at both); under a limit it reuses it. A query that needs more (a
row group of large trial bodies is read whole: 16 MB failed at 100,000 trials of 1 kB)
fails with OutOfMemoryException and is run again under twice the limit (Budget)."""
MAX_MEMORY_LIMIT_MB = 8192


class Budget:
    """The memory limit of one connection, raised when a query needs more."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.mb = MEMORY_LIMIT_MB
        # No spilling to disk (DuckDB's default is a .tmp folder in the working
        # directory): a query over the limit fails and runs again under a higher one.
        con.execute("SET temp_directory = ''")
        self._apply()

    def _apply(self) -> None:
        self.con.execute(f"SET memory_limit = '{self.mb}MB'")

    def grow(self, exc: duckdb.OutOfMemoryException) -> None:
        """Double the limit after `exc` (re-raised past MAX_MEMORY_LIMIT_MB)."""
        if self.mb >= MAX_MEMORY_LIMIT_MB:
            raise exc
        self.mb *= 2
        log.debug("judging: DuckDB's memory limit raised to %d MB (%s)", self.mb, exc)
        self._apply()

    def retry(self, query: Callable[[], T]) -> T:
        """`query()`, run again under a higher limit while it runs out of memory."""
        while True:
            try:
                return query()
            except duckdb.OutOfMemoryException as exc:
                self.grow(exc)


@contextmanager
def lean_connection(ws: Workspace) -> Iterator[tuple[duckdb.DuckDBPyConnection, Budget]]:
    """A connection with the workspace's views, one thread, and a memory Budget."""
    with connect(ws, LEAN_THREADS) as con:
        yield con, Budget(con)


PART_TRIALS = 5_000
"""Trial records per partition: each pass reads the trials in key-hash partitions of
about this many records, so what DuckDB keeps per key (which record of a key wins, the
run's keys for the verdicts' filter: about 2.5 kB a key, measured) is bounded, not one
entry per trial of the run. Each partition scans every trial record once more, so
there are at most MAX_PARTS of them (larger partitions past 100,000 records)."""
MAX_PARTS = 20


def _partitions(con: duckdb.DuckDBPyConnection) -> int:
    """How many partitions: trial and verdict records together, PART_TRIALS a partition
    (a resumed judging groups each partition's stored verdicts: three a trial or so)."""
    row = con.execute(
        "SELECT (SELECT count(*) FROM facts_trial) + (SELECT count(*) FROM facts_verdict)"
    ).fetchone()
    return min(MAX_PARTS, max(1, -(-int(row[0] if row else 0) // PART_TRIALS)))


def _partition(con: duckdb.DuckDBPyConnection, parts: int, i: int) -> None:
    """Views of partition i of `parts`: ``part_facts`` (the typed columns of its trial
    records) and ``part_trial_facts`` (one per key, as ``trial_facts``)."""
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
    excluded: dict[str, int] = {}
    already = total = 0
    with lean_connection(ws) as (con, budget):
        parts = _partitions(con)
        for i in range(parts):
            _partition(con, parts, i)
            n, why, done = budget.retry(lambda: _count(con, run_id, cases, final_key))
            total, already = total + n, already + done
            for reason, count in why.items():
                excluded[reason] = excluded.get(reason, 0) + count
    return Counts(total, excluded, total - sum(excluded.values()), already)


def _count(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    cases: JudgingCases,
    final_key: Callable[[str], str],
) -> tuple[int, dict[str, int], int]:
    """The current partition's trials, excluded ones by reason, and already judged."""
    members = run_members_sql("$run", "t")
    params = {"run": run_id}
    finals = {k for (k,) in con.execute(_FINALS.format(members=members), params).fetchall()}
    cur = con.execute(
        f"SELECT key, error_kind, case_id, case_hash FROM part_trial_facts t WHERE {members}",
        params,
    )
    excluded: dict[str, int] = {}
    total = already = 0
    while rows := cur.fetchmany(4096):
        total += len(rows)
        for key, kind, case_id, chash in rows:
            why = exclusion(kind, case_id, chash, cases)
            if why is not None:
                excluded[why] = excluded.get(why, 0) + 1
            elif final_key(key) in finals:
                already += 1
    return total, excluded, already


_WINNERS = (
    "SELECT key, w.f AS f, w.s AS s FROM (SELECT key, arg_min(struct_pack(f := filename, "
    "s := seq, r := run_id), struct_pack(p := prefer, t := ts, f := filename, s := seq)) "
    "AS w FROM part_facts GROUP BY key) WHERE {members}"
)
"""The run's trials of the partition: the record of each key the ``trials`` view keeps
(lowest by prefer, ts, filename, seq: evals.store.query.deduped_sql), from the typed
columns (evals.store.typed_columns: no body read where a segment is compacted)."""


def stream_sql() -> str:
    """The trial bodies of the current partition (one per key, as the ``trials`` view
    keeps) with their usable stored verdicts (first written per key), parameter $run;
    no ORDER BY, so DuckDB streams the trials instead of sorting them.

    Which record wins is decided on the typed columns, and the bodies are read once, by
    a hash join on (filename, seq) whose build side is the partition's winners: the
    record bodies stream through, and only the winners' are parsed."""
    members = run_members_sql("$run", run_col="w.r", key_col="key")
    return (
        f"WITH k AS ({_WINNERS.format(members=members)}), "
        "t AS (SELECT r.body, k.key FROM raw_trial r JOIN k ON r.filename = k.f "
        "AND r.seq = k.s WHERE r.body IS NOT NULL), "
        "vk AS (SELECT trial_key, min(struct_pack(f := filename, s := seq)) AS w "
        "FROM facts_verdict WHERE NOT coalesce(infra_error, false) AND NOT "
        "coalesce(crashed, false) AND trial_key IN (SELECT key FROM k) "
        "GROUP BY trial_key, key), "
        "v AS (SELECT vk.trial_key, r.body FROM raw_verdict r JOIN vk ON r.filename = vk.w.f "
        "AND r.seq = vk.w.s WHERE r.body IS NOT NULL), "
        "g AS (SELECT trial_key, list(body) AS verdicts FROM v GROUP BY trial_key) "
        "SELECT t.key, t.body, g.verdicts FROM t LEFT JOIN g ON g.trial_key = t.key"
    )


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def stream_trials(
    ws: Workspace, run_id: str, batch: int = BATCH
) -> Iterator[tuple[Trial, dict[str, Verdict]]]:
    """Each of the run's trials with its usable stored verdicts by key, streamed one
    key-hash partition after another."""
    with lean_connection(ws) as (con, budget):
        parts = _partitions(con)
        for i in range(parts):
            _partition(con, parts, i)
            sent: set[str] = set()  # this partition's: a retry skips them
            while True:
                try:
                    yield from _stream_partition(con, run_id, batch, sent)
                    break
                except duckdb.OutOfMemoryException as exc:
                    budget.grow(exc)


def _stream_partition(
    con: duckdb.DuckDBPyConnection, run_id: str, batch: int, sent: set[str]
) -> Iterator[tuple[Trial, dict[str, Verdict]]]:
    cur = con.execute(stream_sql(), {"run": run_id})
    while rows := cur.fetchmany(batch):
        for key, body, verdicts in rows:
            if key in sent:
                continue
            sent.add(key)
            stored = {}
            for v in verdicts or []:
                verdict = Verdict.model_validate(_json(v))
                stored[verdict.key] = verdict
            yield Trial.model_validate(_json(body)), stored
