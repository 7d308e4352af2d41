"""Pairwise judging: which of two trials of the same case is better, judged in both orders.

LLM judges prefer whichever answer they read first (or second) more often than chance,
so every pair is judged twice: trial A shown as "A" and trial B as "B", then swapped. A
winner is called only when both orders name the same trial; otherwise it is a tie
(recorded as inconsistent, which is itself a measure of the judge). The result is a
`PairwiseResult` (record kind ``pairwise``), not a Verdict: it is about two trials.
Errors are never decisions: if either order fails, the winner is None and `error` says
why. Typical use: a baseline run against a candidate run, case by case
(`evals pairwise BASELINE CANDIDATE --model ALIAS`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, PrivateAttr

from evals.models.types import ChatModel, Completion
from evals.schema import Case, Question, Record, Trial, Usage, content_hash, utcnow
from evals.store.query import ViewSpec, register_view
from judges.base import BaseJudge, JudgeConfigError, JudgeEnv
from judges.config import JudgeSpec
from judges.llm import JudgeCallError, LLMJudgeParams, ask, subject_text
from judges.llm_output import JudgeOutput, label_distribution, output_schema
from judges.render import PromptTemplate, load_template, render

Winner = Literal["a", "b", "tie"]


class PairwiseResult(Record):
    """One pairwise comparison of two trials of the same case, judged in both orders."""

    key: str
    """Hash of both trial keys and the judge version: comparing twice is a no-op."""
    case_id: str
    """Case both trials answer."""
    trial_key_a: str
    """First trial (e.g. the baseline's)."""
    trial_key_b: str
    """Second trial (e.g. the candidate's)."""
    run_id_a: str
    """Run of trial A."""
    run_id_b: str
    """Run of trial B."""
    judge: str
    """Judge name."""
    judge_version: str
    """Content hash of the judge's spec and prompt."""
    winner: Winner | None
    """'a' or 'b' when both orders agree, else 'tie'; None when a call failed."""
    a_first: Winner | None = None
    """Winner (in trial terms) when A was shown first."""
    b_first: Winner | None = None
    """Winner (in trial terms) when B was shown first."""
    consistent: bool | None = None
    """Both orders named the same winner (or both a tie)."""
    confidence: float | None = None
    """Mean confidence of the two orders in their own labels."""
    reason: str = ""
    """Both orders' reasons. Untrusted text (written by an LLM)."""
    error: str | None = None
    """Why no winner could be called."""
    usage: Usage = Field(default_factory=Usage)
    """Tokens and cost of both calls."""
    latency_s: float = 0.0
    """Time both calls took."""
    created_at: datetime = Field(default_factory=utcnow)
    """When the comparison was recorded."""


register_view(ViewSpec("pairwise", "pairwise", PairwiseResult, key="key"))

PAIR_LABELS = ["A", "B", "tie"]


class PairwiseJudge(LLMJudgeParams, BaseJudge):
    """Compares two trials of one case with an LLM, in both orders; its fields are the
    LLM judges' params (judges.llm.LLMJudgeParams)."""

    impl_version: ClassVar[str] = "1"

    _gateway: ChatModel = PrivateAttr()
    _template: PromptTemplate = PrivateAttr()
    _schema: dict[str, Any] = PrivateAttr()

    def setup(self, env: JudgeEnv) -> str | None:
        """Take the gateway and load the pairwise prompt."""
        spec = self.spec
        if env.gateway is None or not spec.model_alias:
            raise JudgeConfigError(
                f"pairwise judge {spec.display_name!r} needs a gateway and a `model`"
            )
        self._gateway = env.gateway
        self._template = load_template(spec.prompt or "pairwise")
        self._schema = output_schema(PAIR_LABELS, self.max_reason_chars)
        return self._template.sha256

    @property
    def model_alias(self) -> str:
        """The gateway alias the judge calls."""
        return self.spec.model_alias or ""

    def result_key(self, a: Trial, b: Trial) -> str:
        """Key of the comparison of a with b."""
        return content_hash({"a": a.key, "b": b.key, "judge": self.version}, length=24)

    async def _order(
        self, first: Trial, second: Trial, case: Case, question: Question
    ) -> tuple[JudgeOutput, Completion, Usage]:
        prompt = render(
            self._template,
            fields={
                "question": case.input.question,
                "subject": subject_text(case),
                "rubric": question.rubric + (f"\n{case.rubric}" if case.rubric else ""),
                "reference": case.reference,
            },
            data={
                "answer_a": first.trace.final_answer or "(no answer)",
                "answer_b": second.trace.final_answer or "(no answer)",
            },
            max_chars={
                "answer_a": self.max_answer_chars,
                "answer_b": self.max_answer_chars,
            },
        )
        return await ask(
            self._gateway, self.model_alias, prompt.messages, self._schema, PAIR_LABELS, self
        )

    def _confidence(self, out: JudgeOutput, completion: Completion) -> float:
        dist = label_distribution(completion.text or "", completion.logprobs, PAIR_LABELS)
        return dist[out.label] if dist is not None else out.probability

    async def compare(self, a: Trial, b: Trial, case: Case, question: Question) -> PairwiseResult:
        """Judge a vs b in both orders; a winner only when both orders agree."""
        if a.case_id != b.case_id:
            raise ValueError(f"pairwise needs two trials of one case ({a.case_id} vs {b.case_id})")
        started = time.perf_counter()
        base = PairwiseResult(
            key=self.result_key(a, b),
            case_id=case.id,
            trial_key_a=a.key,
            trial_key_b=b.key,
            run_id_a=a.run_id,
            run_id_b=b.run_id,
            judge=self.name,
            judge_version=self.version,
            winner=None,
        )
        results = await asyncio.gather(
            self._order(a, b, case, question),
            self._order(b, a, case, question),
            return_exceptions=True,
        )
        usage = Usage()
        errors: list[str] = []
        for r in results:
            if isinstance(r, JudgeCallError):
                usage, errors = usage.add(r.usage), [*errors, str(r)]
            elif isinstance(r, BaseException):
                errors.append(f"{type(r).__name__}: {r}")
            else:
                usage = usage.add(r[2])
        latency = time.perf_counter() - started
        if errors:
            return base.model_copy(
                update={"error": "; ".join(errors)[:600], "usage": usage, "latency_s": latency}
            )
        # gather(return_exceptions=True) types each result as T | BaseException; none is one
        # here (errors is empty), which mypy cannot narrow over a list.
        (out1, c1, _), (out2, c2, _) = results  # type: ignore[misc]
        a_first = {"A": "a", "B": "b", "tie": "tie"}[out1.label]
        b_first = {"A": "b", "B": "a", "tie": "tie"}[out2.label]
        consistent = a_first == b_first
        return base.model_copy(
            update={
                "winner": a_first if consistent else "tie",
                "a_first": a_first,
                "b_first": b_first,
                "consistent": consistent,
                "confidence": (self._confidence(out1, c1) + self._confidence(out2, c2)) / 2,
                "reason": f"A shown first: {out1.label}: {out1.reason} | B shown first: "
                f"{out2.label} (i.e. {b_first}): {out2.reason}",
                "usage": usage,
                "latency_s": latency,
            }
        )


def build_pairwise(spec: JudgeSpec, env: JudgeEnv) -> PairwiseJudge:
    """A pairwise judge from its spec (judge: pairwise)."""
    return PairwiseJudge.from_spec(spec, env)


def pair_trials(a: list[Trial], b: list[Trial]) -> list[tuple[Trial, Trial]]:
    """Trials of two runs paired by (case, repetition); with several per cell (more
    than one model or prompt in a run), the first by model alias and prompt is used."""

    def cells(trials: list[Trial]) -> dict[tuple[str, int], Trial]:
        out: dict[tuple[str, int], Trial] = {}
        for t in sorted(trials, key=lambda t: (t.model.alias, t.prompt, t.key)):
            if t.trace.final_answer is not None:
                out.setdefault((t.case_id, t.repetition), t)
        return out

    ca, cb = cells(a), cells(b)
    return [(ca[k], cb[k]) for k in sorted(ca.keys() & cb.keys())]


async def compare_trials(
    judge: PairwiseJudge,
    pairs: list[tuple[Trial, Trial]],
    cases: dict[str, Case],
    questions: dict[str, Question],
    done: set[str],
    emit: Callable[[PairwiseResult], None],
    concurrency: int = 4,
) -> int:
    """Compare every pair not already done; returns how many were compared now."""
    todo = iter(
        [(a, b) for a, b in pairs if judge.result_key(a, b) not in done and a.case_id in cases]
    )
    count = 0

    async def lane() -> None:
        nonlocal count
        for a, b in todo:
            case = cases[a.case_id]
            emit(await judge.compare(a, b, case, questions[case.question_id]))
            count += 1

    await asyncio.gather(*(lane() for _ in range(max(1, concurrency))))
    return count
