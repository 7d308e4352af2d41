"""The matrix of a run: which trials a suite asks for, and which remain to be run.

Identity and resume
    Every trial's key is ``trial_key(case_hash, agent, model, prompt_hash, rep)``. A key
    is *finished* when the workspace holds a trial record for it, from any run, whose
    status is ``ok`` or whose error is the agent's own (``kind: agent``): those are
    results and are never redone. A trial that failed for infrastructure reasons
    (``kind: infra``: rate limits, 5xx, timeouts, resets after the gateway's retries) is
    recorded too (nothing is lost), but the next run retries it; the ``trials`` view then
    prefers the retry's record (evals.store.query.TRIAL_PREFERENCE), so every key counts once.

Memory
    The golden set is loaded lazily (evals.dataset.golden, ``lazy=True``): the plan holds a
    compact CaseRef per selected case (offset, line, question, hash; CaseRefs), the
    matrix is a generator computing keys from the refs' hashes, and a case is read
    back from its line only when a cell of it is still pending. So a run's memory does
    not grow with the number of cases by more than a few bytes a case, and a cached
    rerun never parses a finished case.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import overload

from evals.dataset.case_refs import CaseRef, CaseRefs
from evals.dataset.golden import GoldenSet, load_golden_set
from evals.dataset.review_dag import question_order
from evals.run.reviews import (
    Review,
    ReviewPlanError,
    group_reviews,
    mode_run_id,
    review_jobs,
)
from evals.run.suite import Suite, case_selected, limit_round_robin
from evals.run.trial import TrialSpec
from evals.schema import ModelSpec, PromptVersion, Trial, trial_key
from evals.store.workspace import Workspace

FINISHED_SQL = (
    "SELECT key, run_id FROM facts_trial "
    "WHERE status = 'ok' OR coalesce(error_kind, 'agent') <> 'infra'"
)
"""Finished keys: ok, or failed by the agent itself; infra failures are retried. Over
every trial record's typed columns (evals.store.typed_columns: compacted segments are read
without parsing a body; the others' bodies are parsed once each)."""

FINISHED_BY_RUN_SQL = (
    f"SELECT run_id, string_agg(key, chr(10)), count(key) FROM ({FINISHED_SQL}) GROUP BY run_id"
)
"""FINISHED_SQL as one newline-joined string of keys per run: a million keys cross into
Python as a few strings split in C, instead of a million row tuples (fetching those and
building a dict of them took 0.7 s of the 1.2 s lookup at 1M keys). A run whose split
does not give its count (a key holding a newline) is fetched row by row instead."""

FINISHED_OF_RUN_SQL = f"SELECT key FROM ({FINISHED_SQL}) WHERE run_id = ? AND key IS NOT NULL"


class TrialKeys(Sequence[str]):
    """Trial keys in matrix order, compactly: a key computed by trial_key (24 hex digits)
    is 12 bytes of one bytearray instead of a 73-byte string and a list slot (a 100,000
    cell matrix: 1.2 MB, not 8 MB, held from planning to the summary). Any other key
    (never made by the plan) switches the whole list to plain strings."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._packed = bytearray()
        self._plain: list[str] | None = None
        for key in keys:
            self.append(key)

    def append(self, key: str) -> None:
        """Add a key at the end."""
        if self._plain is None:
            if len(key) == 2 * _KEY_BYTES and key == key.lower():
                try:
                    self._packed += bytes.fromhex(key)
                    return
                except ValueError:
                    pass
            self._plain = list(self)  # a key that does not pack: plain from here on
        self._plain.append(key)

    def __len__(self) -> int:
        return len(self._packed) // _KEY_BYTES if self._plain is None else len(self._plain)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if self._plain is not None:
            return self._plain[i]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._packed[i * _KEY_BYTES : (i + 1) * _KEY_BYTES].hex()

    def __iter__(self) -> Iterator[str]:
        if self._plain is not None:
            return iter(self._plain)
        packed = self._packed
        return (packed[i : i + _KEY_BYTES].hex() for i in range(0, len(packed), _KEY_BYTES))


_KEY_BYTES = 12
"""trial_key's 24 hex digits, packed."""


class FinishedKeys(Mapping[str, str]):
    """Finished trial keys (any run; see the module docstring) -> a run that recorded
    them. Membership is a set lookup; the key -> run mapping (only needed to link keys
    another run finished) is built on first use, as is the set of one run's keys."""

    def __init__(self, by_run: dict[str, list[str]]) -> None:
        self.by_run = by_run
        """Run -> the keys it finished (a key finished by several runs is in each list)."""
        self._keys: set[str] = set()
        for keys in by_run.values():
            self._keys.update(keys)
        self._runs: dict[str, str] | None = None

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __getitem__(self, key: str) -> str:
        if self._runs is None:  # the first run by id, whichever order the query gave
            self._runs = {}
            for run in sorted(self.by_run, key=str):  # str: a NULL run id never raises
                for k in self.by_run[run]:
                    self._runs.setdefault(k, run)
        return self._runs[key]

    def elsewhere(self, run_id: str, keys: Iterable[str]) -> dict[str, str]:
        """Of `keys`, those finished only by other runs -> one of them (to link)."""
        if not any(run != run_id for run in self.by_run):
            return {}  # the usual case: nothing recorded by another run
        own = set(self.by_run.get(run_id, ()))
        return {k: self[k] for k in keys if k in self._keys and k not in own}


@dataclass
class RunPlan:
    """What a run will do: the suite, its golden set (lazy), the selected cases and the
    run id."""

    suite: Suite
    golden: GoldenSet
    refs: CaseRefs
    """The selected cases, as references (GoldenSet.load_case reads one back)."""
    run_id: str
    lanes: int
    workers: int
    limit: int | None = None
    """The case limit in force (None: every selected case; reviews in a review suite)."""
    reviews: list[Review] | None = None
    """Review suites: the selected reviews, their nodes in DAG order (else None)."""
    question_order: list[str] = field(default_factory=list)
    """Review suites: the questions' topological order."""
    case_ids: dict[int, str] = field(default_factory=dict)
    """Review suites: case ids read back by line offset (for upstream links)."""
    workspace: Workspace | None = None
    """Set by the runner: where finished upstream answers are read back from."""

    @property
    def total(self) -> int:
        """Cells in the matrix (review suites: every node in every mode)."""
        modes = len(self.suite.config.review_modes) if self.reviews is not None else 1
        return (
            len(self.refs)
            * len(self.suite.models)
            * len(self.suite.prompts)
            * self.suite.config.repetitions
            * modes
        )

    def run_ids(self) -> list[str]:
        """The runs this plan records: its own, and a review suite's teacher run."""
        if self.reviews is None:
            return [self.run_id]
        return [mode_run_id(self.run_id, m) for m in self.suite.config.review_modes]

    def keys_by_run(self) -> dict[str, TrialKeys]:
        """Every cell's key, grouped by the run it is recorded under (compactly)."""
        if self.reviews is None:
            return {self.run_id: TrialKeys(self.keys())}
        out = {r: TrialKeys() for r in self.run_ids()}
        for job in review_jobs(self):
            for node in job.nodes:
                out[job.run_id].append(node.key)
        return out

    def _groups(self) -> Iterator[tuple[PromptVersion, ModelSpec, CaseRef, list[str]]]:
        """(prompt, model, case ref, key of each repetition), prompt-major.

        Why this order: consecutive trials then share the longest stable prefix (the
        system prompt with its tool list; for repetitions the whole first request), so
        provider prompt caches and llama.cpp's slots reuse it instead of re-reading it
        for every trial."""
        agent = self.suite.agent
        reps = range(self.suite.config.repetitions)
        for prompt in self.suite.prompts:
            for model in self.suite.models:
                for ref in self.refs:
                    keys = [trial_key(ref.hash, agent, model, prompt.sha256, r) for r in reps]
                    yield prompt, model, ref, keys

    def keys(self) -> Iterator[str]:
        """Every cell's trial key, in matrix order, without reading any case."""
        if self.reviews is not None:
            for job in review_jobs(self):
                yield from (node.key for node in job.nodes)
            return
        for _prompt, _model, _ref, keys in self._groups():
            yield from keys

    def cells(self) -> Iterator[TrialSpec]:
        """The matrix, lazily: prompt, model, case, repetition (each case read back)."""
        return self.pending(())

    def pending(
        self, finished: Container[str], shard: int = 0, shards: int = 1
    ) -> Iterator[TrialSpec]:
        """Cells still to run (not finished), those of one shard when sharded. A case is
        read back (and checked against its hash) only when one of its cells is pending."""
        for prompt, model, ref, keys in self._groups():
            todo = [
                (rep, key)
                for rep, key in enumerate(keys)
                if key not in finished and (shards == 1 or shard_of(key, shards) == shard)
            ]
            if not todo:
                continue
            case = self.golden.load_case(ref)
            for rep, key in todo:
                yield TrialSpec(key, case, ref.hash, model, prompt, rep)


def make_plan(
    suite: Suite,
    *,
    limit: int | None = None,
    full: bool = False,
    lanes: int | None = None,
    workers: int | None = None,
) -> RunPlan:
    """Load the golden set lazily and select the cases (raises GoldenSetError when
    invalid): the subset filters apply while streaming, then the limit over the refs.

    `limit` overrides the suite's; `full` ignores any limit (the subset filters stay)."""
    cfg = suite.config
    subset = cfg.subset
    golden = load_golden_set(
        suite.dataset_path,
        lazy=True,
        keep=None if subset is None else (lambda case: case_selected(case, subset)),
    )
    assert golden.refs is not None
    chosen_limit = None if full else (limit or cfg.limit)
    refs = golden.refs
    reviews: list[Review] | None = None
    order: list[str] = []
    if cfg.review:
        try:
            order = question_order(golden.questions)
        except ValueError as exc:
            raise ReviewPlanError(f"questions.yaml: {exc}") from None
        reviews = group_reviews(refs, order, chosen_limit)
        refs = CaseRefs()
        for review in reviews:
            for _qid, ref in review.nodes:
                refs.append(ref)
    elif chosen_limit is not None and chosen_limit < len(refs):
        refs = refs.take(limit_round_robin(refs.question_ids(), chosen_limit))
    return RunPlan(
        suite,
        golden,
        refs,
        suite.run_id(golden.content_hash),
        lanes or cfg.limits.lanes,
        workers or cfg.limits.workers,
        chosen_limit,
        reviews,
        order,
    )


def finished_keys(ws: Workspace) -> FinishedKeys:
    """Finished trial keys (ok or agent error, any run) -> a run that recorded them.

    One DuckDB thread (LEAN_THREADS) over a connection with only the trial facts
    defined (evals.store.query.connect_facts); retried when a segment is compacted
    meanwhile, as every query of the store is."""
    # Here: a worker process, which never queries, need not load DuckDB.
    from evals.store.query import (
        COMPACTION_RETRIES,
        LEAN_THREADS,
        RETRIED,
        compacted_meanwhile,
        connect_facts,
    )

    for attempt in range(COMPACTION_RETRIES):
        try:
            with connect_facts(ws, "trial", LEAN_THREADS) as con:
                by_run: dict[str, list[str]] = {}
                for run, joined, count in con.execute(FINISHED_BY_RUN_SQL).fetchall():
                    keys = [] if count == 0 else joined.split("\n")
                    if len(keys) != count:  # a key with a newline in it: row by row
                        rows = con.execute(FINISHED_OF_RUN_SQL, [run]).fetchall()
                        keys = [k for (k,) in rows]
                    by_run[run] = keys
                return FinishedKeys(by_run)
        except RETRIED as exc:
            if not compacted_meanwhile(ws, exc) or attempt == COMPACTION_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def is_finished(trial: Trial) -> bool:
    """Whether a trial record finishes its key (see the module docstring)."""
    return trial.trace.error is None or trial.trace.error.kind != "infra"


def shard_of(key: str, shards: int) -> int:
    """Which worker runs a key: stable and uniform (keys are hex hashes)."""
    return int(key[:12], 16) % shards
