"""Imported trials keyed like replayed ones, their run manifest, and the recorded
outcome as a ground-truth verdict (judge ``imported_outcome``).

The outcome rule: a recorded reward passes when ``reward >= 1 - PASS_EPSILON`` (tau-bench
and tau2-bench count a task solved only at reward 1; partial rewards are failures). The
verdict's score is the reward clipped to [0, 1]; the raw reward stays on
``Trial.imported_outcome``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from evals.schema import (
    AgentSpec,
    Case,
    ModelSpec,
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


def make_trial(
    *,
    run_id: str,
    dataset: str,
    dataset_hash: str,
    case: Case,
    agent: AgentSpec,
    model: ModelSpec,
    prompt: str,
    prompt_hash: str,
    repetition: int,
    trace: Trace,
    outcome: float | None,
    meta: dict[str, Any],
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> Trial:
    """An imported Trial keyed exactly like a replayed one."""
    chash = content_hash(case)
    now = utcnow()
    return Trial(
        key=trial_key(chash, agent, model, prompt_hash, repetition),
        run_id=run_id,
        dataset=dataset,
        dataset_hash=dataset_hash,
        case_id=case.id,
        case_hash=chash,
        question_id=case.question_id,
        agent=agent,
        model=model,
        prompt=prompt,
        prompt_hash=prompt_hash,
        repetition=repetition,
        status="error" if trace.error else "ok",
        trace=trace,
        started_at=started_at or now,
        finished_at=finished_at or started_at or now,
        imported_outcome=outcome,
        imported_meta=meta,
    )


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


def run_manifest(
    *,
    run_id: str,
    fmt: str,
    path: Path,
    sha256: str,
    dataset: str,
    dataset_hash: str,
    models: list[ModelSpec],
    prompts: list[str],
    agent: AgentSpec,
    repetitions: int,
    config: dict[str, Any],
    started_at: datetime | None,
) -> RunManifest:
    """The manifest of an imported run (source 'import')."""
    return RunManifest(
        run_id=run_id,
        suite=f"import:{fmt}:{path.name}",
        suite_hash=sha256[:16],
        dataset=dataset,
        dataset_hash=dataset_hash,
        models=models,
        prompts=prompts,
        agent=agent,
        repetitions=repetitions,
        config={"format": fmt, "source": str(path), "sha256": sha256, **config},
        source="import",
        started_at=started_at or utcnow(),
    )
