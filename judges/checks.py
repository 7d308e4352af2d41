"""Deterministic checks: cheap, exact, and each reason names its evidence.

Registered judges: ``answered``, ``required_tools``, ``key_facts``, ``forbidden_claims``,
``answer_schema``, ``budget`` (and ``grounded`` in judges.grounding). A check's verdict
has confidence 1.0 and costs nothing. Checks look only at what the trial recorded; text
in the answer is matched, never interpreted, so an answer cannot talk a check into
passing (tests/judges/test_judges_injection.py appends an adversarial corpus to wrong
answers and asserts no check becomes more lenient).
"""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evals.schema import Case, ModelCallStep, Question, Trial, Verdict
from judges.base import (
    JudgeConfigError,
    JudgeEnv,
    LabelName,
    judge_version,
    make_verdict,
    no_answer_reason,
    register_judge,
)
from judges.config import JudgeSpec
from judges.normalise import find, normalise

NEGATORS = {
    "no",
    "not",
    "never",
    "without",
    "nor",
    "neither",
    "none",
    "isn",
    "wasn",
    "aren",
    "weren",
    "doesn",
    "didn",
    "cannot",
    "can",
    "hasn",
    "haven",
    "hadn",
}
"""Tokens that, within a few tokens before a forbidden phrase, mark it as denied."""


class Params(BaseModel):
    """Base of a check's parameters: unknown parameters are configuration errors."""

    model_config = ConfigDict(extra="forbid")


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


class Outcome(BaseModel):
    """What a check decided."""

    label: LabelName
    reason: str
    score: float | None = None


def quote(items: list[str], limit: int = 6) -> str:
    """'a', 'b' and 3 more."""
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


class CheckJudge:
    """Shared plumbing: params validation, timing, verdict building, crash -> abstain."""

    impl_version: ClassVar[str] = "1"
    params_model: ClassVar[type[Params]] = Params

    def __init__(self, spec: JudgeSpec, env: JudgeEnv) -> None:
        self.spec = spec
        self.name = spec.display_name
        self.version = judge_version(spec, f"{type(self).__name__}:{self.impl_version}")
        self.params: Any = parse_params(self.params_model, spec)

    async def __call__(self, trial: Trial, case: Case, question: Question) -> Verdict:
        started = time.perf_counter()
        try:
            out = self.check(trial, case, question)
        except Exception as exc:  # a crashing check is an error, never a verdict
            return make_verdict(
                self,
                trial,
                "abstain",
                f"check crashed: {type(exc).__name__}",
                started=started,
                error=f"{type(exc).__name__}: {exc}",
            )
        return make_verdict(
            self, trial, out.label, out.reason, started=started, score=out.score, confidence=1.0
        )

    def check(self, trial: Trial, case: Case, question: Question) -> Outcome:
        """Decide; subclasses implement."""
        raise NotImplementedError


class Answered(CheckJudge):
    """The agent produced a non-empty answer (agent errors fail here)."""

    def check(self, trial: Trial, case: Case, question: Question) -> Outcome:
        why = no_answer_reason(trial)
        if why:
            return Outcome(label="fail", reason=why, score=0.0)
        return Outcome(
            label="pass",
            score=1.0,
            reason=f"answered ({len(trial.trace.final_answer or '')} characters)",
        )


class RequiredToolsParams(Params):
    require_matched: bool = True
    """A call counts only when it matched a recorded observation (the agent got data)."""
    extra: list[str] = Field(default_factory=list)
    """Tools required on top of the question's and the case's."""


class RequiredTools(CheckJudge):
    """Every required tool (question + case + extra) was called, and answered."""

    params_model = RequiredToolsParams

    def check(self, trial: Trial, case: Case, question: Question) -> Outcome:
        required = list(
            dict.fromkeys([*question.required_tools, *case.required_tools, *self.params.extra])
        )
        if not required:
            return Outcome(label="pass", score=1.0, reason="no required tools for this case")
        calls = trial.trace.tool_calls()
        problems: list[str] = []
        for tool in required:
            made = [c for c in calls if c.tool == tool]
            if not made:
                problems.append(f"required tool {tool} was never called")
            elif self.params.require_matched and not any(c.matched for c in made):
                args = orjson.dumps(made[0].arguments).decode()[:120]
                problems.append(
                    f"required tool {tool} was called {len(made)}x but no call "
                    f"matched a recorded observation (e.g. arguments {args})"
                )
        score = 1 - len(problems) / len(required)
        if problems:
            return Outcome(label="fail", score=score, reason="; ".join(problems))
        return Outcome(label="pass", score=1.0, reason=f"called {', '.join(required)}")


def _fact_alternatives(fact: str) -> list[str]:
    """A key fact may list equivalent spellings separated by ' | '."""
    return [a.strip() for a in fact.split(" | ") if a.strip()]


class KeyFactsParams(Params):
    min_fraction: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of key facts that must be present to pass."""


class KeyFacts(CheckJudge):
    """The case's key facts are stated (normalised matching: case, accents, unicode,
    whitespace, punctuation, number and date formats)."""

    params_model = KeyFactsParams

    def check(self, trial: Trial, case: Case, question: Question) -> Outcome:
        why = no_answer_reason(trial)
        if why:
            return Outcome(label="fail", reason=why, score=0.0)
        if not case.key_facts:
            return Outcome(label="pass", score=1.0, reason="the case lists no key facts")
        answer = normalise(trial.trace.final_answer or "")
        missing = [
            f
            for f in case.key_facts
            if not any(next(find(answer, alt), None) for alt in _fact_alternatives(f))
        ]
        found = len(case.key_facts) - len(missing)
        score = found / len(case.key_facts)
        counts = f"{found} of {len(case.key_facts)} key facts present"
        if score < self.params.min_fraction or (missing and self.params.min_fraction >= 1.0):
            return Outcome(
                label="fail", score=score, reason=f"missing key fact(s) {quote(missing)} ({counts})"
            )
        return Outcome(label="pass", score=score, reason=counts)


class ForbiddenParams(Params):
    negation_guard: bool = True
    """Ignore a forbidden phrase denied just before it ("no", "not", ... within 3 tokens)."""


class ForbiddenClaims(CheckJudge):
    """None of the case's forbidden claims is stated."""

    params_model = ForbiddenParams

    def check(self, trial: Trial, case: Case, question: Question) -> Outcome:
        why = no_answer_reason(trial)
        if why:
            return Outcome(label="fail", reason=why, score=0.0)
        if not case.forbidden:
            return Outcome(label="pass", score=1.0, reason="the case lists no forbidden claims")
        answer = normalise(trial.trace.final_answer or "")
        stated: list[str] = []
        denied: list[str] = []
        for claim in case.forbidden:
            for match in find(answer, claim):
                before = answer[: match.start].split()[-3:]
                if self.params.negation_guard and NEGATORS.intersection(before):
                    denied.append(claim)
                    continue
                stated.append(f"{claim!r} (in: '...{match.context}...')")
                break
        if stated:
            return Outcome(
                label="fail",
                score=0.0,
                reason=f"forbidden claim(s) stated: {'; '.join(stated[:4])}",
            )
        note = f"; denied, not claimed: {quote(denied)}" if denied else ""
        return Outcome(
            label="pass",
            score=1.0,
            reason=f"none of {len(case.forbidden)} forbidden claims stated{note}",
        )


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_json_answer(text: str) -> Any:
    """The JSON value of an answer: the whole text, else the one fenced block.

    Deliberately strict: JSON found elsewhere in free text (e.g. a verdict an answer
    embeds to fool a judge) is not taken as the answer."""
    stripped = text.strip()
    fenced = _FENCE.findall(stripped)
    if len(fenced) == 1 and stripped.startswith("```") and stripped.endswith("```"):
        stripped = fenced[0].strip()
    return orjson.loads(stripped)


class AnswerSchemaParams(Params):
    answer_schema: dict[str, Any] | None = None
    """JSON Schema to use when the question defines none."""


class AnswerSchema(CheckJudge):
    """A structured answer parses and satisfies the question's answer schema; a free-text
    question only needs a non-empty answer."""

    params_model = AnswerSchemaParams

    def check(self, trial: Trial, case: Case, question: Question) -> Outcome:
        import jsonschema

        why = no_answer_reason(trial)
        if why:
            return Outcome(label="fail", reason=why, score=0.0)
        schema = question.answer_schema or self.params.answer_schema
        if schema is None:
            return Outcome(
                label="pass",
                score=1.0,
                reason="free-text question (no answer schema); answer is non-empty",
            )
        try:
            value = parse_json_answer(trial.trace.final_answer or "")
        except orjson.JSONDecodeError as exc:
            return Outcome(
                label="fail",
                score=0.0,
                reason=f"answer is not JSON as the answer schema requires ({exc})",
            )
        errors = sorted(
            jsonschema.Draft202012Validator(schema).iter_errors(value),
            key=lambda e: list(e.absolute_path),
        )
        if errors:
            where = [
                f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:120]}"
                for e in errors[:3]
            ]
            return Outcome(
                label="fail", score=0.0, reason=f"answer violates the schema: {'; '.join(where)}"
            )
        return Outcome(label="pass", score=1.0, reason="answer satisfies the answer schema")


class BudgetParams(Params):
    max_steps: int | None = None
    """Most model calls (agent turns) allowed."""
    max_tool_calls: int | None = None
    """Most tool calls allowed."""
    max_cost_usd: float | None = None
    """Most cost allowed for the trial."""
    max_tokens: int | None = None
    """Most input + cached input + output tokens allowed."""
    max_latency_s: float | None = None
    """Most wall time allowed."""


class Budget(CheckJudge):
    """The trial kept within its step, tool-call, token, cost and time budgets."""

    params_model = BudgetParams

    def __init__(self, spec: JudgeSpec, env: JudgeEnv) -> None:
        super().__init__(spec, env)
        if not any(v is not None for v in self.params.model_dump().values()):
            raise JudgeConfigError(f"judge {self.name!r}: set at least one budget in params")

    def check(self, trial: Trial, case: Case, question: Question) -> Outcome:
        t, p = trial.trace, self.params
        used: dict[str, tuple[float, float | None]] = {
            "model calls": (sum(isinstance(s, ModelCallStep) for s in t.steps), p.max_steps),
            "tool calls": (len(t.tool_calls()), p.max_tool_calls),
            "cost USD": (t.usage.cost_usd, p.max_cost_usd),
            "tokens": (
                t.usage.input_tokens + t.usage.cached_input_tokens + t.usage.output_tokens,
                p.max_tokens,
            ),
            "seconds": (t.latency_s, p.max_latency_s),
        }
        over = [
            f"used {v:g} {k} > max {m:g}" for k, (v, m) in used.items() if m is not None and v > m
        ]
        if over:
            return Outcome(label="fail", score=0.0, reason="over budget: " + "; ".join(over))
        within = [f"{v:g} {k} <= {m:g}" for k, (v, m) in used.items() if m is not None]
        return Outcome(label="pass", score=1.0, reason="within budget: " + "; ".join(within))


def _factory(cls: type[CheckJudge]) -> Any:
    def build(spec: JudgeSpec, env: JudgeEnv) -> CheckJudge:
        return cls(spec, env)

    return build


for _name, _cls in {
    "answered": Answered,
    "required_tools": RequiredTools,
    "key_facts": KeyFacts,
    "forbidden_claims": ForbiddenClaims,
    "answer_schema": AnswerSchema,
    "budget": Budget,
}.items():
    register_judge(_name)(_factory(_cls))
