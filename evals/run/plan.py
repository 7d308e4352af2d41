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

from collections.abc import Container, Iterator
from dataclasses import dataclass, field

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
from evals.store.query import LEAN_THREADS, query_tuples
from evals.store.workspace import Workspace

FINISHED_SQL = (
    "SELECT key, run_id FROM facts_trial "
    "WHERE status = 'ok' OR coalesce(error_kind, 'agent') <> 'infra'"
)
"""Finished keys: ok, or failed by the agent itself; infra failures are retried. Over
every trial record's typed columns (evals.store.typed_columns: compacted segments are read
without parsing a body; the others' bodies are parsed once each). No DISTINCT: the
dict built from the rows keeps one run per key (as it did of DISTINCT's rows), and a
million-group aggregate cost more than the scan."""


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

    def keys_by_run(self) -> dict[str, list[str]]:
        """Every cell's key, grouped by the run it is recorded under."""
        if self.reviews is None:
            return {self.run_id: list(self.keys())}
        out: dict[str, list[str]] = {r: [] for r in self.run_ids()}
        for job in review_jobs(self):
            out[job.run_id] += [node.key for node in job.nodes]
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


def finished_keys(ws: Workspace) -> dict[str, str]:
    """Finished trial keys (ok or agent error, any run) -> the run that recorded them."""
    return {k: r for k, r in query_tuples(ws, FINISHED_SQL, threads=LEAN_THREADS)}


def is_finished(trial: Trial) -> bool:
    """Whether a trial record finishes its key (see the module docstring)."""
    return trial.trace.error is None or trial.trace.error.kind != "infra"


def shard_of(key: str, shards: int) -> int:
    """Which worker runs a key: stable and uniform (keys are hex hashes)."""
    return int(key[:12], 16) % shards
