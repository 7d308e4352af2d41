"""The fail-fast cascade: judges run cheapest first, and a fail ends a trial's judging.

Per trial, stages run in order. A stage fails the trial when any of its judges fails it;
then no later stage runs and nothing more is spent. A stage that passes hands the trial
on; one that abstains (an unsure judge, or a judge error) escalates it to the next stage.
After the last stage the cascade writes one more verdict per trial, ``judge="cascade"``,
``stage=None``:

- ``fail`` when a stage failed it (the reason names the stage, the judge and its evidence),
- ``pass`` when every stage passed it,
- ``abstain`` when it survived with at least one abstention (reason: who abstained, why).

Downstream (review queues, reports, calibration) reads exactly this: the review pool is
``final_verdicts WHERE label != 'fail'`` (the latest cascade verdict per trial, view
of evals.store.query). The final verdict carries no
usage of its own (the stage verdicts hold it), so summing costs over verdicts is right.

Shadow stages (``shadow: true``) also judge the trials an earlier stage failed; there
their verdicts are recorded (calibration needs a judge's verdicts on what people review,
failed trials included) but change nothing: the trial stays failed, the funnel counts
them apart, and their cost is shown apart from the cascade's.

Calibration: a judge that `evals calibrate` has calibrated (judges.calibration_store)
has its fails counted as abstentions when their confidence is under its threshold, or
always when it may not fail alone; the stored stage verdict stays the judge's own, and
the thresholds are part of the cascade's version. Judges never calibrated keep their
fails.

Keys: a stage verdict is keyed on (trial, judge version, stage index), the final verdict
on (trial, cascade version), where the cascade version hashes every judge's version in
order. A stored verdict is reused, never recomputed: resuming after a kill spends
nothing twice, and a finished trial (final verdict stored) is skipped outright.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from evals.schema import Case, Question, Trial, Verdict, content_hash
from judges.base import (
    Judge,
    JudgeContext,
    JudgeEnv,
    LabelName,
    build_judge,
    make_verdict,
    verdict_key,
)
from judges.calibration_store import Calibration, apply_calibration, calibration_fingerprint
from judges.config import CascadeSpec, JudgeSpec

CASCADE_JUDGE = "cascade"
"""Judge name of the cascade's final verdicts."""


@dataclass
class Stage:
    """A built stage: its index, name and judges."""

    index: int
    name: str
    judges: list[Judge]
    shadow: bool = False
    specs: list[JudgeSpec] = field(default_factory=list)
    """Each judge's spec, in the order of `judges` (given to it as JudgeContext.config)."""


def stage_label(verdicts: list[Verdict]) -> LabelName:
    """A stage's outcome: fail if any judge failed, pass if all passed, else abstain."""
    labels = {v.label for v in verdicts}
    if "fail" in labels:
        return "fail"
    return "pass" if labels == {"pass"} else "abstain"


def _short(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


async def _safely(judge: Judge, ctx: JudgeContext) -> Verdict:
    """A judge that raises (a bug, not a decision) yields abstain with the error."""
    started = time.perf_counter()
    try:
        return await judge(ctx)
    except Exception as exc:
        return make_verdict(
            judge,
            ctx.trial,
            "abstain",
            f"judge crashed: {type(exc).__name__}",
            started=started,
            error=f"{type(exc).__name__}: {exc}"[:500],
            crashed=True,
        )


class Cascade:
    """Ordered stages built from a CascadeSpec."""

    def __init__(
        self,
        spec: CascadeSpec,
        env: JudgeEnv,
        calibrations: Mapping[tuple[str, str], Calibration] | None = None,
    ) -> None:
        self.spec = spec
        self.stages = [
            Stage(i, s.stage, [build_judge(j, env) for j in s.judges], s.shadow, list(s.judges))
            for i, s in enumerate(spec.stages)
        ]
        # Calibrated thresholds (judges.calibration_store) decide which fails stand; they
        # are part of the version, so a new calibration yields new final verdicts while
        # the stored stage verdicts (each judge's own) are reused.
        judges = [(j.name, j.version) for s in self.stages for j in s.judges]
        self.calibrations = {k: c for k, c in (calibrations or {}).items() if k in judges}
        shape = [
            [s.name, [j.version for j in s.judges]] + (["shadow"] if s.shadow else [])
            for s in self.stages
        ]
        fingerprint = calibration_fingerprint(self.calibrations, judges)
        self.version = content_hash([shape, fingerprint] if fingerprint else shape)

    def counted(self, verdict: Verdict) -> Verdict:
        """A stage verdict as the cascade counts it: a fail its judge's calibration does
        not let stand becomes an abstention (the trial escalates)."""
        return apply_calibration(verdict, self.calibrations)

    def stage_key(self, trial_key: str, stage: Stage, judge: Judge) -> str:
        """Key of one judge's verdict at one stage."""
        return verdict_key(trial_key, judge.version, stage.index)

    def final_key(self, trial_key: str) -> str:
        """Key of the cascade's final verdict."""
        return verdict_key(trial_key, self.version, None)

    def stage_verdicts(
        self, trial_key: str, stored: Mapping[str, Verdict]
    ) -> list[list[Verdict] | None]:
        """Stored verdicts per stage (None when the stage has not been fully judged)."""
        out: list[list[Verdict] | None] = []
        for stage in self.stages:
            got = [stored.get(self.stage_key(trial_key, stage, j)) for j in stage.judges]
            out.append(None if any(v is None for v in got) else [self.counted(v) for v in got if v])
        return out

    async def judge(
        self,
        trial: Trial,
        case: Case,
        question: Question,
        stored: Mapping[str, Verdict],
        emit: Callable[[Verdict], None],
    ) -> Verdict:
        """Judge one trial; every new verdict goes to `emit` as soon as it exists (so a
        kill loses at most the judge in flight). Returns the final verdict."""
        final = stored.get(self.final_key(trial.key))
        if final is not None:
            return final
        started = time.perf_counter()
        per_stage: list[tuple[Stage, list[Verdict]]] = []
        failed = False
        for stage in self.stages:
            if failed and not stage.shadow:
                continue
            verdicts = [
                self.counted(
                    await self._verdict(
                        stage, i, JudgeContext(trial, case, question, spec), stored, emit
                    )
                )
                for i, spec in enumerate(stage.specs)
            ]
            if failed:
                continue  # a shadow stage on a failed trial: recorded, changes nothing
            per_stage.append((stage, verdicts))
            failed = stage_label(verdicts) == "fail"
        final = self.final_verdict(trial, per_stage, time.perf_counter() - started)
        emit(final)
        return final

    async def _verdict(
        self,
        stage: Stage,
        index: int,
        ctx: JudgeContext,
        stored: Mapping[str, Verdict],
        emit: Callable[[Verdict], None],
    ) -> Verdict:
        """The stored verdict of the stage's `index`-th judge, or a new one (emitted at
        once)."""
        judge = stage.judges[index]
        key = self.stage_key(ctx.trial.key, stage, judge)
        verdict = stored.get(key)
        if verdict is None:
            made = await _safely(judge, ctx)
            verdict = made.model_copy(update={"key": key, "stage": stage.index})
            emit(verdict)
        return verdict

    def final_verdict(
        self, trial: Trial, per_stage: list[tuple[Stage, list[Verdict]]], latency_s: float
    ) -> Verdict:
        """The cascade's verdict from the stages that ran."""
        last_stage, last = per_stage[-1]
        label = stage_label(last)
        if label == "fail":
            failed = [v for v in last if v.label == "fail"]
            reason = f"failed at stage {last_stage.index + 1} ({last_stage.name}): " + "; ".join(
                f"{v.judge}: {_short(v.reason)}" for v in failed
            )
            confidence = min(
                (v.confidence for v in failed if v.confidence is not None), default=None
            )
        else:
            labels = [stage_label(vs) for _, vs in per_stage]
            label = "pass" if all(lab == "pass" for lab in labels) else "abstain"
            parts = []
            for stage, vs in per_stage:
                unsure = [v for v in vs if v.label == "abstain"]
                detail = "; ".join(
                    f"{v.judge} abstained: {_short(v.error or v.reason, 160)}" for v in unsure
                )
                parts.append(f"{stage.name} {stage_label(vs)}" + (f" ({detail})" if detail else ""))
            head = "survived all stages" if label == "pass" else "survived with abstentions"
            reason = f"{head}: " + "; ".join(parts)
            confidences = [
                v.confidence
                for _, vs in per_stage
                for v in vs
                if v.confidence is not None and v.label == "pass"
            ]
            confidence = min(confidences) if label == "pass" and confidences else None
        # An abstention because a judge was unreachable is provisional (Verdict.infra_error):
        # the next `evals judge` redoes this trial, reusing the stages that did answer.
        infra = label == "abstain" and any(v.infra_error for _, vs in per_stage for v in vs)
        crashed = label == "abstain" and any(v.crashed for _, vs in per_stage for v in vs)
        return Verdict(
            key=self.final_key(trial.key),
            trial_key=trial.key,
            run_id=trial.run_id,
            judge=CASCADE_JUDGE,
            judge_version=self.version,
            stage=None,
            label=label,
            confidence=confidence,
            reason=reason,
            infra_error=infra,
            crashed=crashed,
            latency_s=latency_s,
        )


def build_cascade(
    spec: CascadeSpec,
    env: JudgeEnv | None = None,
    calibrations: Mapping[tuple[str, str], Calibration] | None = None,
) -> Cascade:
    """A cascade ready to judge (with the calibrated thresholds, when given)."""
    return Cascade(spec, env or JudgeEnv(), calibrations)
