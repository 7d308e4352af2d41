"""Imported trials keyed like replayed ones, their run manifest, and the recorded
outcome as a ground-truth verdict (judge ``imported_outcome``).

The outcome rule: a recorded reward passes when ``reward >= 1 - PASS_EPSILON`` (tau-bench
and tau2-bench count a task solved only at reward 1; partial rewards are failures). The
verdict's score is the reward clipped to [0, 1]; the raw reward stays on
``Trial.imported_outcome``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evals.dataset.golden import case_hash
from evals.importers.common import ImportBatch, ImportedCase
from evals.schema import (
    AgentSpec,
    Case,
    ModelSpec,
    Question,
    RunManifest,
    Trace,
    Trial,
    Verdict,
    content_hash,
    trial_key,
    utcnow,
)

OUTCOME_JUDGE = "imported_outcome"
"""Judge name of the ground-truth verdict every imported trial with an outcome gets."""
PASS_EPSILON = 1e-9
"""A recorded reward passes when ``reward >= 1 - PASS_EPSILON`` (tau-bench counts a task
solved only at reward 1; partial rewards are failures)."""
OUTCOME_JUDGE_VERSION = content_hash({"rule": f"pass iff reward >= 1 - {PASS_EPSILON}"})
"""Version of the outcome rule (a content hash, like every judge's version)."""


def import_agent(fmt: str, sha256: str, **params: Any) -> AgentSpec:
    """The agent spec of an imported recording. The file's hash is part of it, so two
    recordings of the same configuration stay two sets of trials, and importing the same
    file again gives the same trial keys (idempotent)."""
    return AgentSpec(name=f"import:{fmt}", params={"recording": sha256[:16], **params})


@dataclass(frozen=True)
class RunContext:
    """What every trial of one imported run shares."""

    run_id: str
    dataset: str
    dataset_hash: str
    agent: AgentSpec

    def trial(
        self,
        case: Case,
        model: ModelSpec,
        prompt: tuple[str, str],
        repetition: int,
        trace: Trace,
        outcome: float | None,
        meta: dict[str, Any],
        times: tuple[datetime | None, datetime | None] = (None, None),
    ) -> Trial:
        """An imported Trial keyed exactly like a replayed one; ``prompt`` is (name, hash),
        ``times`` (started, finished) when the source has them."""
        chash = case_hash(case)  # the golden set's own definition (a replay keys the same)
        now = utcnow()
        started, finished = times
        return Trial(
            key=trial_key(chash, self.agent, model, prompt[1], repetition),
            run_id=self.run_id,
            dataset=self.dataset,
            dataset_hash=self.dataset_hash,
            case_id=case.id,
            case_hash=chash,
            question_id=case.question_id,
            agent=self.agent,
            model=model,
            prompt=prompt[0],
            prompt_hash=prompt[1],
            repetition=repetition,
            status="error" if trace.error else "ok",
            trace=trace,
            started_at=started or now,
            finished_at=finished or started or now,
            imported_outcome=outcome,
            imported_meta=meta,
        )

    def manifest(
        self,
        batch: ImportBatch,
        models: list[ModelSpec],
        prompts: list[str],
        repetitions: int,
        config: dict[str, Any],
        started_at: datetime | None = None,
    ) -> RunManifest:
        """The manifest of the imported run (source 'import'; the suite names the file)."""
        return RunManifest(
            run_id=self.run_id,
            suite=f"import:{batch.format}:{batch.source.name}",
            suite_hash=batch.sha256[:16],
            dataset=self.dataset,
            dataset_hash=self.dataset_hash,
            models=models,
            prompts=prompts,
            agent=self.agent,
            repetitions=repetitions,
            config={
                "format": batch.format,
                "source": str(batch.source),
                "sha256": batch.sha256,
                **config,
            },
            source="import",
            started_at=started_at or utcnow(),
        )

    def cases(self, cases: Iterable[Case], questions: dict[str, Question]) -> list[ImportedCase]:
        """The run's cases as store records (with the question each answers)."""
        return [
            ImportedCase(
                key=f"{self.dataset_hash}:{c.id}",
                dataset=self.dataset,
                dataset_hash=self.dataset_hash,
                case=c,
                question=questions[c.question_id],
            )
            for c in cases
        ]


def outcome_label(reward: float) -> str:
    """'pass' when the recorded reward counts as solved (see PASS_EPSILON), else 'fail'."""
    return "pass" if reward >= 1.0 - PASS_EPSILON else "fail"


def outcome_verdict(trial: Trial, reward: float, reason: str) -> Verdict:
    """The recorded outcome as a ground-truth verdict (judge 'imported_outcome')."""
    return Verdict(
        key=content_hash(
            {"trial": trial.key, "judge": OUTCOME_JUDGE, "version": OUTCOME_JUDGE_VERSION},
            length=24,
        ),
        trial_key=trial.key,
        run_id=trial.run_id,
        judge=OUTCOME_JUDGE,
        judge_version=OUTCOME_JUDGE_VERSION,
        label="pass" if outcome_label(reward) == "pass" else "fail",
        score=min(1.0, max(0.0, reward)),
        confidence=1.0,
        reason=reason[:2000],
        created_at=trial.finished_at,
    )
