"""Synthetic runs, verdicts and labels with known numbers, written through the real store.

For tests and benchmarks of what reads runs (gates, comparisons, reports): the records
are the same models the runner, the judges and the labeling app write, so the readers
see exactly what they would see in production. Nothing here calls a model.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from evals.schema import (
    AgentSpec,
    FinalAnswerStep,
    Label,
    ModelSpec,
    RunManifest,
    ToolCallStep,
    Trace,
    Trial,
    TrialError,
    Usage,
    Verdict,
    content_hash,
)
from evals.store.workspace import Workspace

AGENT = AgentSpec(name="react")


def make_trial(
    run_id: str,
    case_id: str,
    question_id: str = "q1",
    *,
    model_alias: str = "model-a",
    prompt: str = "v1",
    repetition: int = 0,
    cost_usd: float = 0.0,
    latency_s: float = 1.0,
    input_tokens: int = 100,
    cached_input_tokens: int = 0,
    output_tokens: int = 20,
    tool_calls: int = 0,
    error: TrialError | None = None,
    imported_outcome: float | None = None,
    answer: str = "answer",
    dataset_hash: str = "dataset-hash",
) -> Trial:
    """One trial with the given accounting; its key is unique per run and identity."""
    model = ModelSpec(alias=model_alias, model=f"openai/{model_alias}")
    steps: list[ToolCallStep | FinalAnswerStep] = [
        ToolCallStep(tool="registry_lookup", arguments={"i": i}, observation={"ok": True})
        for i in range(tool_calls)
    ]
    if error is None:
        steps.append(FinalAnswerStep(text=answer))
    trace = Trace(
        steps=list(steps),
        final_answer=answer if error is None else None,
        usage=Usage(
            input_tokens=input_tokens,
            cached_input_tokens=cached_input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost_usd,
            calls=1,
        ),
        latency_s=latency_s,
        error=error,
    )
    case_hash = content_hash({"case": case_id})
    key = content_hash([run_id, case_hash, model_alias, prompt, repetition], 24)
    return Trial(
        key=key,
        run_id=run_id,
        dataset="synthetic",
        dataset_hash=dataset_hash,
        case_id=case_id,
        case_hash=case_hash,
        question_id=question_id,
        agent=AGENT,
        model=model,
        prompt=prompt,
        prompt_hash=content_hash(prompt),
        repetition=repetition,
        status="ok" if error is None else "error",
        trace=trace,
        imported_outcome=imported_outcome,
    )


def write_run(
    ws: Workspace,
    run_id: str,
    trials: Iterable[Trial],
    *,
    source: str = "run",
    dataset_hash: str = "dataset-hash",
) -> list[Trial]:
    """Append a run manifest and its trials; returns the trials."""
    trials = list(trials)
    models = {t.model.alias: t.model for t in trials}
    ws.append(
        "run",
        RunManifest(
            run_id=run_id,
            suite="synthetic",
            suite_hash="suite",
            dataset="synthetic",
            dataset_hash=dataset_hash,
            models=list(models.values()),
            prompts=sorted({t.prompt for t in trials}),
            agent=AGENT,
            source="import" if source == "import" else "run",
        ),
    )
    writer = ws.writer("trial")
    writer.append_many(list(trials))
    return trials


def make_verdict(
    trial: Trial,
    label: str,
    *,
    judge: str = "cascade",
    stage: int | None = None,
    reason: str = "",
    version: str = "v1",
) -> Verdict:
    """A verdict on a trial (judge 'cascade' is the cascade's final verdict)."""
    return Verdict(
        key=f"{trial.key}-{judge}-{version}",
        trial_key=trial.key,
        run_id=trial.run_id,
        judge=judge,
        judge_version=version,
        stage=stage,
        label=label,
        reason=reason,
    )


def make_label(
    reviewer: str,
    *,
    trial: Trial | None = None,
    case_id: str | None = None,
    helpful: bool | None = True,
    arm: str = "assisted",
    active_seconds: float | None = 60.0,
    action: str = "submit",
    retracts: str | None = None,
    queue_id: str = "queue-1",
    item_id: str | None = None,
    label_id: str | None = None,
) -> Label:
    """A reviewer's label on a trial (assisted) or on a case (unassisted control item)."""
    case = case_id or (trial.case_id if trial else "case")
    item = item_id or (trial.key if trial else f"control-{case}")
    return Label(
        id=label_id or uuid.uuid4().hex,
        queue_id=queue_id,
        item_id=item,
        trial_key=trial.key if trial else None,
        case_id=case,
        reviewer=reviewer,
        arm=arm,
        action=action,
        helpful=helpful if arm == "assisted" else None,
        retracts=retracts,
        active_seconds=active_seconds,
    )
