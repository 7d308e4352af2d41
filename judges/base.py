"""The Judge protocol, the registry of judges by name, and verdict helpers.

A judge is anything with a name, a version and ``async def __call__(trial, case,
question) -> Verdict`` (the shape of Inspect AI's scorers). Judges are built from a
`JudgeSpec` (what the suite's ``judges:`` list says) by a factory registered by name,
so a run's judging configuration can be replayed from its YAML alone. A user's own
judge is referenced as ``package.module:factory`` and built the same way.

Identity: a judge's ``version`` is the content hash of its spec, its prompt file and
its implementation version; a verdict's key is the hash of the trial key, that version
and the cascade stage, so judging the same trial with the same judge twice is a no-op.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from evals.errors import InputError
from evals.schema import Case, Question, Trial, Usage, Verdict, content_hash

if TYPE_CHECKING:
    from evals.models.types import ChatModel
    from judges.config import JudgeSpec

LabelName = Literal["pass", "fail", "abstain"]


@runtime_checkable
class Judge(Protocol):
    """Turns one trial into one Verdict."""

    name: str
    """Display name, recorded on every verdict."""
    version: str
    """Content hash of the spec, prompt and implementation version."""

    async def __call__(self, trial: Trial, case: Case, question: Question) -> Verdict:
        """Judge one trial. Never raises for a judge-side failure: returns abstain with
        `error` set instead (errors are never verdicts)."""
        ...


@dataclass
class JudgeEnv:
    """What factories may need beyond the spec: the gateway for LLM judges."""

    gateway: ChatModel | None = None


JudgeFactory = Callable[["JudgeSpec", JudgeEnv], Judge]
_REGISTRY: dict[str, JudgeFactory] = {}


class JudgeConfigError(InputError):
    """A judge spec that cannot be built (unknown judge, bad parameters)."""


def register_judge(name: str) -> Callable[[JudgeFactory], JudgeFactory]:
    """Register a judge factory under a name usable in the suite's ``judges:`` list."""

    def deco(factory: JudgeFactory) -> JudgeFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def registered_judges() -> list[str]:
    """Names of the built-in and registered judges."""
    _load_builtins()
    return sorted(_REGISTRY)


def _load_builtins() -> None:
    for module in ("judges.checks", "judges.grounding", "judges.llm"):
        importlib.import_module(module)


def build_judge(spec: JudgeSpec, env: JudgeEnv) -> Judge:
    """Build a judge from its spec: a registered name or ``package.module:factory``."""
    _load_builtins()
    factory = _REGISTRY.get(spec.judge)
    if factory is None and ":" in spec.judge:
        module, _, attr = spec.judge.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise JudgeConfigError(f"judge {spec.judge!r}: cannot import ({exc})") from None
    if factory is None:
        raise JudgeConfigError(
            f"unknown judge {spec.judge!r}; known: {', '.join(sorted(_REGISTRY))}"
        )
    judge = factory(spec, env)
    if not isinstance(judge, Judge):
        raise JudgeConfigError(f"judge {spec.judge!r}: factory did not return a Judge")
    return judge


def judge_version(spec: JudgeSpec, impl_version: str, prompt_sha256: str | None = None) -> str:
    """A judge's identity: spec, prompt text and implementation version."""
    return content_hash(
        {"spec": spec.model_dump(mode="json"), "prompt": prompt_sha256, "impl": impl_version}
    )


def verdict_key(trial_key: str, version: str, stage: int | None) -> str:
    """Key of a verdict: trial + judge version (+ stage when judged in a cascade)."""
    return content_hash({"trial": trial_key, "judge": version, "stage": stage}, length=24)


def make_verdict(
    judge: Judge,
    trial: Trial,
    label: LabelName,
    reason: str,
    *,
    started: float,
    score: float | None = None,
    confidence: float | None = None,
    usage: Usage | None = None,
    error: str | None = None,
    raw_label: LabelName | None = None,
    infra_error: bool = False,
    crashed: bool = False,
) -> Verdict:
    """A standalone verdict (stage None); the cascade re-keys it with its stage."""
    return Verdict(
        key=verdict_key(trial.key, judge.version, None),
        trial_key=trial.key,
        run_id=trial.run_id,
        judge=judge.name,
        judge_version=judge.version,
        label=label,
        score=score,
        confidence=confidence,
        reason=reason,
        error=error,
        infra_error=infra_error,
        crashed=crashed,
        usage=usage or Usage(),
        latency_s=time.perf_counter() - started,
        raw_label=raw_label,
    )


def is_infra_error(trial: Trial) -> bool:
    """No answer because of the harness or provider, not the agent: excluded from judging
    (judging it would count an infrastructure fault against the agent, and a fail verdict
    would stick to the trial key even after a rerun fills the trial in). Same rule as the
    runner's (evals.run.plan): a failed trial without error details is the agent's."""
    return trial.trace.error is not None and trial.trace.error.kind == "infra"


def no_answer_reason(trial: Trial) -> str | None:
    """Why a trial has nothing to judge (agent error or empty answer), else None."""
    err = trial.trace.error
    if trial.status == "error" and err is not None and err.kind == "agent":
        return f"no answer: agent error {err.code}: {err.message[:200]}"
    if not (trial.trace.final_answer or "").strip():
        return "no answer: the agent's final answer is empty"
    return None
