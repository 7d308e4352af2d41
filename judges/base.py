"""The Judge protocol, the context a judge receives, the judge registry, verdict helpers.

A judge is anything with a name, a version and ``async def __call__(ctx) -> Verdict``,
where `ctx` is one :class:`JudgeContext` (the trial, its case and question, the trace,
the observations, the judge's own config): a new input is a new field of the context,
so it never breaks a judge written before it (pydantic_evals' evaluators work this
way). A judge is written as a class whose fields are its params (:class:`BaseJudge`, a
pydantic model), registered by name with ``@judge("name")``, and built from a
`JudgeSpec` (what the suite's ``judges:`` list says), so a run's judging configuration
can be replayed from its YAML alone. A user's own judge is registered the same way in
its package (entry-point group ``agent_evals.judge``) or referenced as
``package.module:Class`` (or a legacy ``factory(spec, env)``).

Judges written the old way, ``__call__(trial, case, question)``, still run: they are
wrapped in an adapter that warns (LegacyJudgeWarning, a DeprecationWarning) once per
judge.

Identity: a judge's ``version`` is the content hash of its spec, its prompt file and
its implementation version; a verdict's key is the hash of the trial key, that version
and the cascade stage, so judging the same trial with the same judge twice is a no-op.
Every verdict also records the registered judge and the params it ran with
(``Verdict.judge_kind``, ``Verdict.judge_params``), read from evals.registry.
"""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from evals import registry
from evals.errors import InputError
from evals.schema import Case, Question, ToolCallStep, Trace, Trial, Usage, Verdict, content_hash

if TYPE_CHECKING:
    from evals.models.types import ChatModel
    from judges.config import JudgeSpec

LabelName = Literal["pass", "fail", "abstain"]


@dataclass(frozen=True)
class JudgeContext:
    """Everything a judge may look at for one trial. New inputs are added as fields
    with defaults, so judges written against an older context keep working."""

    trial: Trial
    """The trial judged (its trace, status, model and prompt)."""
    case: Case
    """The golden-set case the trial answers (reference, key facts, forbidden claims)."""
    question: Question
    """The question of the case (rubric, required tools, answer schema)."""
    config: JudgeSpec | None = None
    """This judge's entry of the ``judges:`` list (name, model, prompt, params)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Room for inputs a caller adds before they get a field of their own."""

    @property
    def trace(self) -> Trace:
        """The trial's trace."""
        return self.trial.trace

    @property
    def observations(self) -> list[ToolCallStep]:
        """The agent's tool calls with what came back (matched or not)."""
        return self.trial.trace.tool_calls()

    @property
    def answer(self) -> str:
        """The agent's final answer ('' when it gave none)."""
        return self.trial.trace.final_answer or ""


@runtime_checkable
class Judge(Protocol):
    """Turns one trial into one Verdict."""

    @property
    def name(self) -> str:
        """Display name, recorded on every verdict."""
        ...

    @property
    def version(self) -> str:
        """Content hash of the spec, prompt and implementation version."""
        ...

    async def __call__(self, ctx: JudgeContext) -> Verdict:
        """Judge one trial. Never raises for a judge-side failure: returns abstain with
        `error` set instead (errors are never verdicts)."""
        ...


@dataclass
class JudgeEnv:
    """What judges may need beyond their spec: the gateway for LLM judges."""

    gateway: ChatModel | None = None


JudgeFactory = Callable[["JudgeSpec", JudgeEnv], Any]
"""A legacy judge factory: builds a judge from its spec and env."""


class JudgeConfigError(InputError):
    """A judge spec that cannot be built (unknown judge, bad parameters)."""


J = TypeVar("J", bound="BaseJudge")


class BaseJudge(BaseModel):
    """A judge whose fields are its params (validated from the spec's ``params``;
    unknown params are configuration errors). Subclasses implement ``__call__(ctx)``
    and may override :meth:`setup` (e.g. to take the gateway or load a prompt). Field
    docstrings become the params' descriptions in the judges file schema."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    impl_version: ClassVar[str] = "1"
    """Bump when the implementation changes what it decides: it is part of the version."""

    _spec: JudgeSpec = PrivateAttr()
    _version: str = PrivateAttr(default="")

    @classmethod
    def from_spec(cls: type[J], spec: JudgeSpec, env: JudgeEnv) -> J:
        """Build the judge: params validated into fields, then setup, then the version."""
        judge = parse_params(cls, spec)
        judge._spec = spec
        prompt_sha256 = judge.setup(env)
        judge._version = judge_version(spec, f"{cls.__name__}:{cls.impl_version}", prompt_sha256)
        return judge

    def setup(self, env: JudgeEnv) -> str | None:
        """Take what the judge needs from `env`; returns its prompt's sha256, if any.
        Raise JudgeConfigError for a spec it cannot run with."""
        return None

    @property
    def spec(self) -> JudgeSpec:
        """The judge's entry of the ``judges:`` list."""
        return self._spec

    @property
    def name(self) -> str:
        """Display name, recorded on every verdict."""
        return self._spec.display_name

    @property
    def version(self) -> str:
        """Content hash of the spec, prompt and implementation version."""
        return self._version

    async def __call__(self, ctx: JudgeContext) -> Verdict:
        """Judge one trial; subclasses implement."""
        raise NotImplementedError


P = TypeVar("P", bound=BaseModel)


def parse_params(model: type[P], spec: JudgeSpec) -> P:
    """A judge's params, or a one-line JudgeConfigError naming the first bad field."""
    try:
        return model.model_validate(spec.params)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise JudgeConfigError(
            f"judge {spec.display_name!r}: params.{loc}: {err['msg']}{more}"
        ) from None


def judge(name: str) -> Callable[[type[J]], type[J]]:
    """Class decorator: register a BaseJudge under a name usable in ``judges:`` lists."""
    return registry.registrar("judge", name)


def register_judge(name: str) -> Callable[[Any], Any]:
    """Register a judge under a name: a BaseJudge class, or (legacy) a factory
    ``(spec, env) -> judge``. Kept for existing plugins; prefer :func:`judge`."""
    return registry.registrar("judge", name)


def registered_judges() -> list[str]:
    """Names of the built-in, registered and installed judges."""
    return registry.names("judge")


class LegacyJudgeWarning(DeprecationWarning):
    """A judge written as ``__call__(trial, case, question)``: it runs, through an adapter."""


# Shown also outside tests and `python -W` (Python hides DeprecationWarnings raised
# outside __main__ by default): the person to tell is the one running `evals`, whose
# judges these are. Once per judge: a judges list is built to validate it, then to run.
warnings.filterwarnings("default", category=LegacyJudgeWarning)
_WARNED: set[str] = set()


class LegacyJudge:
    """Adapter for a judge written as ``__call__(trial, case, question)``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.version: str = inner.version

    async def __call__(self, ctx: JudgeContext) -> Verdict:
        """Call the wrapped judge with the three arguments it was written for."""
        verdict: Verdict = await self.inner(ctx.trial, ctx.case, ctx.question)
        return verdict


def _is_legacy(judge_obj: Any) -> bool:
    """True for a judge whose __call__ takes (trial, case, question) positionally."""
    try:
        params = inspect.signature(judge_obj).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3


def build_judge(spec: JudgeSpec, env: JudgeEnv) -> Judge:
    """Build a judge from its spec: a registered or installed name, or
    ``package.module:Class`` (a BaseJudge) / ``package.module:factory`` (legacy)."""
    try:
        target = registry.lookup("judge", spec.judge)
    except registry.RegistryError as exc:
        if exc.reason == "unknown":
            raise JudgeConfigError(
                f"unknown judge {spec.judge!r}; known: {', '.join(exc.known)}"
            ) from None
        raise JudgeConfigError(f"judge {spec.judge!r}: cannot import ({exc.cause})") from None
    if isinstance(target, type) and issubclass(target, BaseJudge):
        built: Any = target.from_spec(spec, env)
        params = built.model_dump(mode="json")
    else:
        built = target(spec, env)
        params = dict(spec.params)
    if not isinstance(built, Judge):
        raise JudgeConfigError(f"judge {spec.judge!r}: factory did not return a Judge")
    registry.built_with(built, "judge", spec.judge, params)  # read by make_verdict
    if _is_legacy(built):
        if spec.judge not in _WARNED:
            _WARNED.add(spec.judge)
            warnings.warn(
                f"judge {spec.judge!r} takes (trial, case, question); write "
                "`async def __call__(self, ctx: JudgeContext)` instead (docs/extending.md)",
                LegacyJudgeWarning,
                stacklevel=2,
            )
        built = LegacyJudge(built)
    return registry.built_with(built, "judge", spec.judge, params)


def judge_version(spec: JudgeSpec, impl_version: str, prompt_sha256: str | None = None) -> str:
    """A judge's identity: spec, prompt text and implementation version."""
    return content_hash(
        {"spec": spec.model_dump(mode="json"), "prompt": prompt_sha256, "impl": impl_version}
    )


def verdict_key(trial_key: str, version: str, stage: int | None) -> str:
    """Key of a verdict: trial + judge version (+ stage when judged in a cascade)."""
    return content_hash({"trial": trial_key, "judge": version, "stage": stage}, length=24)


class Named(Protocol):
    """What a verdict needs of its judge: its name and version."""

    @property
    def name(self) -> str:
        """Display name."""
        ...

    @property
    def version(self) -> str:
        """Version hash."""
        ...


def make_verdict(
    judge: Named,
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
    """A standalone verdict (stage None); the cascade re-keys it with its stage. The
    judge's registered name and params (evals.registry) are recorded on it."""
    info = registry.registry_info(judge)
    return Verdict(
        key=verdict_key(trial.key, judge.version, None),
        trial_key=trial.key,
        run_id=trial.run_id,
        judge=judge.name,
        judge_version=judge.version,
        judge_kind=info.name if info else None,
        judge_params=info.params if info else None,
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
