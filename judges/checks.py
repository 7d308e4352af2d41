"""Deterministic checks: cheap, exact, and each reason names its evidence.

Each check is a class whose fields are its params (judges.base.BaseJudge). Registered
judges: ``answered``, ``required_tools``, ``key_facts``, ``forbidden_claims``,
``answer_schema``, ``budget`` (and ``grounded`` in judges.grounding). A check's verdict
has confidence 1.0 and costs nothing. Checks look only at what the trial recorded; text
in the answer is matched, never interpreted, so an answer cannot talk a check into
passing (tests/judges/test_judges_injection.py appends an adversarial corpus to wrong
answers and asserts no check becomes more lenient).
"""

from __future__ import annotations

import re
import time
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from evals.schema import ModelCallStep, Verdict
from judges.base import (
    BaseJudge,
    JudgeConfigError,
    JudgeContext,
    JudgeEnv,
    LabelName,
    judge,
    make_verdict,
    no_answer_reason,
)
from judges.base import parse_params as parse_params  # re-exported for plugins
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

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class Outcome(BaseModel):
    """What a check decided."""

    label: LabelName
    reason: str
    score: float | None = None


def quote(items: list[str], limit: int = 6) -> str:
    """'a', 'b' and 3 more."""
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


class CheckJudge(BaseJudge):
    """Shared plumbing: timing, verdict building, crash -> abstain."""

    async def __call__(self, ctx: JudgeContext) -> Verdict:
        """Run the check on one trial (a crash is an abstention with the error)."""
        started = time.perf_counter()
        try:
            out = self.check(ctx)
        except Exception as exc:  # a crashing check is an error, never a verdict
            return make_verdict(
                self,
                ctx.trial,
                "abstain",
                f"check crashed: {type(exc).__name__}",
                started=started,
                error=f"{type(exc).__name__}: {exc}",
            )
        return make_verdict(
            self, ctx.trial, out.label, out.reason, started=started, score=out.score, confidence=1.0
        )

    def check(self, ctx: JudgeContext) -> Outcome:
        """Decide; subclasses implement."""
        raise NotImplementedError


@judge("answered")
class Answered(CheckJudge):
    """The agent produced a non-empty answer (agent errors fail here)."""

    def check(self, ctx: JudgeContext) -> Outcome:
        trial = ctx.trial
        why = no_answer_reason(trial)
        if why:
            return Outcome(label="fail", reason=why, score=0.0)
        return Outcome(
            label="pass",
            score=1.0,
            reason=f"answered ({len(trial.trace.final_answer or '')} characters)",
        )


@judge("required_tools")
class RequiredTools(CheckJudge):
    """Every required tool (question + case + extra) was called, and answered."""

    require_matched: bool = True
    """A call counts only when it matched a recorded observation (the agent got data)."""
    extra: list[str] = Field(default_factory=list)
    """Tools required on top of the question's and the case's."""

    def check(self, ctx: JudgeContext) -> Outcome:
        required = list(
            dict.fromkeys([*ctx.question.required_tools, *ctx.case.required_tools, *self.extra])
        )
        if not required:
            return Outcome(label="pass", score=1.0, reason="no required tools for this case")
        calls = ctx.observations
        problems: list[str] = []
        for tool in required:
            made = [c for c in calls if c.tool == tool]
            if not made:
                problems.append(f"required tool {tool} was never called")
            elif self.require_matched and not any(c.matched for c in made):
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


@judge("key_facts")
class KeyFacts(CheckJudge):
    """The case's key facts are stated (normalised matching: case, accents, unicode,
    whitespace, punctuation, number and date formats)."""

    min_fraction: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of key facts that must be present to pass."""

    def check(self, ctx: JudgeContext) -> Outcome:
        trial, case = ctx.trial, ctx.case
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
        if score < self.min_fraction or (missing and self.min_fraction >= 1.0):
            return Outcome(
                label="fail", score=score, reason=f"missing key fact(s) {quote(missing)} ({counts})"
            )
        return Outcome(label="pass", score=score, reason=counts)


@judge("forbidden_claims")
class ForbiddenClaims(CheckJudge):
    """None of the case's forbidden claims is stated."""

    negation_guard: bool = True
    """Ignore a forbidden phrase denied just before it ("no", "not", ... within 3 tokens)."""

    def check(self, ctx: JudgeContext) -> Outcome:
        trial, case = ctx.trial, ctx.case
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
                if self.negation_guard and NEGATORS.intersection(before):
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


@judge("answer_schema")
class AnswerSchema(CheckJudge):
    """A structured answer parses and satisfies the question's answer schema; a free-text
    question only needs a non-empty answer."""

    answer_schema: dict[str, Any] | None = None
    """JSON Schema to use when the question defines none."""

    def check(self, ctx: JudgeContext) -> Outcome:
        import jsonschema

        trial, question = ctx.trial, ctx.question
        why = no_answer_reason(trial)
        if why:
            return Outcome(label="fail", reason=why, score=0.0)
        schema = question.answer_schema or self.answer_schema
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


@judge("budget")
class Budget(CheckJudge):
    """The trial kept within its step, tool-call, token, cost and time budgets."""

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

    def setup(self, env: JudgeEnv) -> str | None:
        """A budget judge with no budget is a configuration error."""
        if not any(v is not None for v in self.model_dump().values()):
            raise JudgeConfigError(f"judge {self.name!r}: set at least one budget in params")
        return None

    def check(self, ctx: JudgeContext) -> Outcome:
        t, p = ctx.trace, self
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
