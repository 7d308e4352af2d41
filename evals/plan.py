"""The matrix of a run: which trials a suite asks for, and which remain to be run.

Identity and resume
    Every trial's key is ``trial_key(case_hash, agent, model, prompt_hash, rep)``. A key
    is *finished* when the workspace holds a trial record for it, from any run, whose
    status is ``ok`` or whose error is the agent's own (``kind: agent``): those are
    results and are never redone. A trial that failed for infrastructure reasons
    (``kind: infra``: rate limits, 5xx, timeouts, resets after the gateway's retries) is
    recorded too (nothing is lost), but the next run retries it; the ``trials`` view then
    prefers the retry's record (evals.query.TRIAL_PREFERENCE), so every key counts once.

The matrix is a generator, so nothing here grows with the number of cases except the
selected cases themselves and their hashes.
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from dataclasses import dataclass
from functools import cached_property

from evals.golden import GoldenSet, case_hash, load_golden_set
from evals.query import query
from evals.schema import Case, ModelSpec, PromptVersion, Trial, trial_key
from evals.store import Workspace
from evals.suite import Suite, select_cases

FINISHED_SQL = (
    "SELECT DISTINCT body->>'$.key' AS key, body->>'$.run_id' AS run_id FROM raw_trial "
    "WHERE body IS NOT NULL AND (body->>'$.status' = 'ok' "
    "OR coalesce(body->>'$.trace.error.kind', 'agent') <> 'infra')"
)
"""Finished keys: ok, or failed by the agent itself; infra failures are retried."""


@dataclass(slots=True)
class TrialSpec:
    """One cell of the matrix, before it runs."""

    key: str
    case: Case
    case_hash: str
    model: ModelSpec
    prompt: PromptVersion
    repetition: int


@dataclass
class RunPlan:
    """What a run will do: the suite, its golden set, the selected cases and the run id."""

    suite: Suite
    golden: GoldenSet
    cases: list[Case]
    run_id: str
    lanes: int
    workers: int
    limit: int | None = None
    """The case limit in force (None: every selected case)."""

    @property
    def total(self) -> int:
        """Cells in the matrix."""
        return (
            len(self.cases)
            * len(self.suite.models)
            * len(self.suite.prompts)
            * self.suite.config.repetitions
        )

    @cached_property
    def case_hashes(self) -> list[str]:
        """Content hash of each selected case, in order."""
        return [case_hash(case) for case in self.cases]

    def cells(self) -> Iterator[TrialSpec]:
        """The matrix, lazily, prompt-major: prompt, model, case, repetition.

        Why this order: consecutive trials then share the longest stable prefix (the
        system prompt with its tool list; for repetitions the whole first request), so
        provider prompt caches and llama.cpp's slots reuse it instead of re-reading it
        for every trial."""
        agent = self.suite.agent
        reps = range(self.suite.config.repetitions)
        for prompt in self.suite.prompts:
            for model in self.suite.models:
                for case, chash in zip(self.cases, self.case_hashes, strict=True):
                    for rep in reps:
                        key = trial_key(chash, agent, model, prompt.sha256, rep)
                        yield TrialSpec(key, case, chash, model, prompt, rep)

    def pending(
        self, finished: Container[str], shard: int = 0, shards: int = 1
    ) -> Iterator[TrialSpec]:
        """Cells still to run (not finished), those of one shard when sharded."""
        for spec in self.cells():
            if spec.key in finished:
                continue
            if shards == 1 or shard_of(spec.key, shards) == shard:
                yield spec


def make_plan(
    suite: Suite,
    *,
    limit: int | None = None,
    full: bool = False,
    lanes: int | None = None,
    workers: int | None = None,
) -> RunPlan:
    """Load the golden set and select the cases (raises GoldenSetError when invalid).

    `limit` overrides the suite's; `full` ignores any limit (the subset filters stay)."""
    golden = load_golden_set(suite.dataset_path)
    cfg = suite.config
    chosen_limit = None if full else (limit or cfg.limit)
    cases = list(select_cases(golden.cases, cfg.subset, chosen_limit))
    return RunPlan(
        suite,
        golden,
        cases,
        suite.run_id(golden.content_hash),
        lanes or cfg.limits.lanes,
        workers or cfg.limits.workers,
        chosen_limit,
    )


def finished_keys(ws: Workspace) -> dict[str, str]:
    """Finished trial keys (ok or agent error, any run) -> the run that recorded them."""
    return {r["key"]: r["run_id"] for r in query(ws, FINISHED_SQL)}


def is_finished(trial: Trial) -> bool:
    """Whether a trial record finishes its key (see the module docstring)."""
    return trial.trace.error is None or trial.trace.error.kind != "infra"


def shard_of(key: str, shards: int) -> int:
    """Which worker runs a key: stable and uniform (keys are hex hashes)."""
    return int(key[:12], 16) % shards
