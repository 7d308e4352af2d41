"""LLM judges through the gateway: pointwise against the rubric, and reference-guided.

Registered judges: ``rubric`` (the question's rubric plus the case's, with the tool
observations the agent received) and ``reference`` (the reference answer and key facts).
Both render their prompt file (judges/prompts/) with the candidate answer and the
observations as delimited data (judges.render), call the gateway under the output JSON
schema, and turn the answer into a Verdict:

- confidence from the label token's log-probabilities when the model gives them,
  otherwise the stated probability; score = probability of "pass";
- `min_confidence`: a pass or fail below it becomes abstain (raw_label keeps the
  judge's own label), so an unsure judge escalates instead of deciding;
- errors are never verdicts: a gateway error, a timeout, or output still unparseable
  after `retries` re-asks is abstain with `error` set; a trial with no answer fails
  without an LLM call.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any, ClassVar

import orjson
from pydantic import Field, PrivateAttr

from evals.errors import ProviderError
from evals.models.types import ChatModel, Completion, GatewayError
from evals.schema import Case, Trial, Usage, Verdict
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
from judges.checks import Params
from judges.llm_output import (
    JudgeOutput,
    UnparseableOutput,
    label_distribution,
    output_schema,
    parse_output,
)
from judges.render import PromptTemplate, RenderedPrompt, load_template, render

RETRY_NOTE = (
    "Your previous reply was not a valid JSON object with the fields label, "
    "probability and reason. Reply with that JSON object only."
)


class LLMJudgeParams(Params):
    """Parameters shared by the LLM judges."""

    max_reason_chars: int = Field(default=300, ge=20, le=2000)
    """Cap on the reason (enforced by the output schema's maxLength)."""
    max_answer_chars: int = Field(default=6000, ge=200)
    """Longer candidate answers keep head and tail around a truncation marker."""
    max_observation_chars: int = Field(default=1500, ge=100)
    """Per tool observation."""
    max_observations_chars: int = Field(default=8000, ge=200)
    """All observations together."""
    retries: int = Field(default=2, ge=0, le=5)
    """Re-asks after unparseable output."""
    logprobs: int = Field(default=5, ge=0, le=20)
    """Top log-probabilities requested per token (0: use the stated probability)."""
    temperature: float = 0.0
    """Sampling temperature."""
    max_tokens: int = Field(default=300, ge=16)
    """Output token cap."""
    timeout_s: float | None = None
    """Overall time allowed for the judge's calls (None: the gateway's timeouts)."""


def observations_text(trial: Trial, per_call: int, total: int) -> str:
    """The agent's tool calls and what came back, as one text for a data block."""
    lines: list[str] = []
    for i, call in enumerate(trial.trace.tool_calls(), start=1):
        obs: Any = call.observation
        obs_text = obs if isinstance(obs, str) else orjson.dumps(obs).decode()
        if len(obs_text) > per_call:
            obs_text = obs_text[:per_call] + f" [... {len(obs_text) - per_call} chars cut]"
        args = orjson.dumps(call.arguments).decode()
        note = "" if call.matched else " (no recorded observation)"
        lines.append(f"{i}. {call.tool}({args}){note} -> {obs_text}")
    text = "\n".join(lines) or "(the agent called no tools)"
    return text[:total]


def subject_text(case: Case) -> str:
    """The case's subject as compact JSON (golden-set content: trusted)."""
    return orjson.dumps(case.input.subject, option=orjson.OPT_SORT_KEYS).decode()


class LLMJudge(LLMJudgeParams, BaseJudge):
    """Shared plumbing of the pointwise LLM judges; its fields are LLMJudgeParams."""

    impl_version: ClassVar[str] = "1"
    default_prompt: ClassVar[str] = "rubric"
    labels: ClassVar[list[str]] = ["pass", "fail", "abstain"]

    _gateway: ChatModel = PrivateAttr()
    _template: PromptTemplate = PrivateAttr()
    _schema: dict[str, Any] = PrivateAttr()
    _nonce: str = PrivateAttr()

    def setup(self, env: JudgeEnv) -> str | None:
        """Take the gateway, load the prompt, fix the output schema and the nonce."""
        spec = self.spec
        if env.gateway is None:
            raise JudgeConfigError(f"judge {spec.display_name!r} needs the model gateway")
        if not spec.model_alias:
            raise JudgeConfigError(f"judge {spec.display_name!r}: set `model` (a gateway alias)")
        self._gateway = env.gateway
        self._template = load_template(spec.prompt or self.default_prompt)
        self._schema = output_schema(self.labels, self.max_reason_chars)
        # One nonce per judge object (one `evals judge` invocation), drawn after the
        # trials it judges were written, so no candidate could know it; the same nonce
        # on every call keeps the system prompt a stable prefix the model server's
        # prompt cache reuses (a nonce per call made every prompt new from line 5 on).
        # render() still draws another when a data block happens to contain it.
        self._nonce = secrets.token_hex(8)
        return self._template.sha256

    @property
    def model_alias(self) -> str:
        """The gateway alias the judge calls."""
        return self.spec.model_alias or ""

    @property
    def template(self) -> PromptTemplate:
        """The judge's prompt."""
        return self._template

    @property
    def nonce(self) -> str:
        """The data-block nonce of this judge object."""
        return self._nonce

    def render_for(self, ctx: JudgeContext) -> RenderedPrompt:
        """The prompt for one trial; subclasses give the fields."""
        raise NotImplementedError

    async def __call__(self, ctx: JudgeContext) -> Verdict:
        """Judge one trial with the model (no answer: fail without a call)."""
        trial = ctx.trial
        started = time.perf_counter()
        why = no_answer_reason(trial)
        if why:
            return make_verdict(
                self, trial, "fail", why, started=started, score=0.0, confidence=1.0
            )
        prompt = self.render_for(ctx)
        try:
            out, completion, usage = await asyncio.wait_for(
                ask(
                    self._gateway,
                    self.model_alias,
                    prompt.messages,
                    self._schema,
                    self.labels,
                    self,
                ),
                self.timeout_s,
            )
        except JudgeCallError as exc:
            return make_verdict(
                self,
                trial,
                "abstain",
                f"judge error: {exc}",
                started=started,
                usage=exc.usage,
                error=str(exc),
                infra_error=exc.infra,
            )
        except TimeoutError:
            msg = f"timeout: no judge answer within {self.timeout_s}s"
            return make_verdict(
                self,
                trial,
                "abstain",
                f"judge error: {msg}",
                started=started,
                error=msg,
                infra_error=True,
            )
        return self._verdict(trial, out, completion, usage, started)

    def _verdict(
        self, trial: Trial, out: JudgeOutput, completion: Completion, usage: Usage, started: float
    ) -> Verdict:
        dist = label_distribution(completion.text or "", completion.logprobs, self.labels)
        # parse_output checked the label is one of self.labels (each a LabelName).
        label: LabelName = out.label  # type: ignore[assignment]
        score: float | None
        if dist is not None:
            confidence, score = dist[label], dist["pass"]
        else:
            confidence = out.probability
            score = {"pass": confidence, "fail": 1 - confidence}.get(label)
        reason = out.reason
        raw: LabelName | None = None
        threshold = self.spec.min_confidence
        if threshold is not None and label != "abstain" and confidence < threshold:
            raw, label = label, "abstain"
            reason = f"low confidence {confidence:.2f} < {threshold:.2f} for {raw}: {reason}"
        return make_verdict(
            self,
            trial,
            label,
            reason,
            started=started,
            score=score,
            confidence=confidence,
            usage=usage,
            raw_label=raw,
        )


class JudgeCallError(ProviderError):
    """The judge got no usable answer; carries the usage spent getting there, and
    whether the cause was the infrastructure (the model unreachable), not its output."""

    def __init__(self, message: str, usage: Usage, infra: bool = False) -> None:
        super().__init__(message)
        self.usage = usage
        self.infra = infra


async def ask(
    gateway: ChatModel,
    model: str,
    messages: list[dict[str, Any]],
    schema: dict[str, Any],
    labels: list[str],
    params: LLMJudgeParams,
) -> tuple[JudgeOutput, Completion, Usage]:
    """Call the judge model under the schema; re-ask on unparseable output.

    A re-ask appends a short note, so it is a different request and the gateway's
    response cache cannot hand back the same bad answer."""
    usage = Usage()
    problem = ""
    for attempt in range(params.retries + 1):
        msgs = messages if attempt == 0 else [*messages, {"role": "user", "content": RETRY_NOTE}]
        try:
            completion = await gateway.complete(
                model,
                msgs,
                json_schema=schema,
                logprobs=params.logprobs or None,
                temperature=params.temperature,
                max_tokens=params.max_tokens,
            )
        except GatewayError as exc:
            raise JudgeCallError(
                f"gateway {exc.code}: {str(exc)[:300]}", usage, infra=True
            ) from None
        usage = usage.add(completion.usage)
        try:
            return parse_output(completion.text, labels, params.max_reason_chars), completion, usage
        except UnparseableOutput as exc:
            problem = str(exc)
    raise JudgeCallError(
        f"unparseable output after {params.retries + 1} attempt(s): {problem}", usage
    )


@judge("rubric")
class RubricJudge(LLMJudge):
    """Pointwise: does the answer meet the question's (and the case's) rubric?"""

    default_prompt: ClassVar[str] = "rubric"

    def render_for(self, ctx: JudgeContext) -> RenderedPrompt:
        """The rubric prompt: question, subject, rubric; answer and observations as data."""
        trial, case, question, p = ctx.trial, ctx.case, ctx.question, self
        rubric = question.rubric + (f"\nFor this case: {case.rubric}" if case.rubric else "")
        return render(
            self.template,
            fields={
                "question": case.input.question,
                "subject": subject_text(case),
                "rubric": rubric,
            },
            data={
                "candidate_answer": trial.trace.final_answer or "",
                "observations": observations_text(
                    trial, p.max_observation_chars, p.max_observations_chars
                ),
            },
            max_chars={
                "candidate_answer": p.max_answer_chars,
                "observations": p.max_observations_chars + 64,
            },
            nonce=self.nonce,
        )


@judge("reference")
class ReferenceJudge(LLMJudge):
    """Reference-guided: does the answer agree with the reference and state the key facts?"""

    default_prompt: ClassVar[str] = "reference"

    def render_for(self, ctx: JudgeContext) -> RenderedPrompt:
        """The reference prompt: question, subject, reference, key facts; answer as data."""
        trial, case = ctx.trial, ctx.case
        return render(
            self.template,
            fields={
                "question": case.input.question,
                "subject": subject_text(case),
                "reference": case.reference,
                "key_facts": "; ".join(case.key_facts) or "(none listed)",
            },
            data={"candidate_answer": trial.trace.final_answer or ""},
            max_chars={"candidate_answer": self.max_answer_chars},
            nonce=self.nonce,
        )
