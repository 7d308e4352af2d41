"""The cascade's funnel: candidates -> failed at each stage -> survivors, with costs.

Computed from the stored verdicts (never from in-memory counters), so a resumed or
repeated `evals judge` prints the same numbers, and they add up by construction:
``entered(stage 1) = candidates``, ``entered(k+1) = entered(k) - failed(k)``,
``survivors = entered(last) - failed(last)``. Trials without an answer because of an
infrastructure error are not candidates: they are counted apart (``excluded``), and a
rerun of the suite that fills them in makes them candidates of the next `evals judge`.

Cost saved is an estimate against running the last stage on every candidate: the last
stage's mean cost per trial it judged, times the candidates, minus what the whole
cascade spent. The same is given for tokens and judge-seconds (the local model costs
$0, so tokens are the honest measure there).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from evals.query import ViewSpec, register_view
from evals.schema import Trial, Verdict, utcnow
from judges.cascade import Cascade, stage_label


class StageFunnel(BaseModel):
    """One stage's share of the funnel."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    index: int
    """0-based stage index."""
    name: str
    """Stage name."""
    judges: list[str]
    """Judges of the stage."""
    entered: int = 0
    """Trials that reached the stage."""
    failed: int = 0
    """Trials the stage failed (they stop here)."""
    passed: int = 0
    """Trials the stage passed on."""
    abstained: int = 0
    """Trials the stage escalated (abstain, errors included)."""
    errors: int = 0
    """Verdicts of the stage with an error (a judge that could not decide)."""
    cost_usd: float = 0.0
    """What the stage's judges spent."""
    tokens: int = 0
    """Input + cached input + output tokens the stage's judges used."""
    judge_seconds: float = 0.0
    """Sum of the stage's judge latencies."""
    failed_by: dict[str, int] = Field(default_factory=dict)
    """Of the trials this stage failed, how many each judge failed (a trial can be failed
    by several judges of a group stage)."""

    @property
    def mean_cost(self) -> float:
        """Cost per trial judged."""
        return self.cost_usd / self.entered if self.entered else 0.0


class Funnel(BaseModel):
    """A run's funnel through one cascade."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    run_id: str
    """Run judged."""
    cascade_version: str
    """Version of the cascade (hash of its judges' versions, in order)."""
    trials: int = 0
    """Trials of the run."""
    excluded: dict[str, int] = Field(default_factory=dict)
    """Trials not judged, by reason (infra error: no answer; case not in the golden set)."""
    candidates: int = 0
    """Trials the cascade judges."""
    pending: int = 0
    """Candidates without a final verdict yet (an interrupted `evals judge`)."""
    stages: list[StageFunnel] = Field(default_factory=list)
    """Per stage."""
    survivors: int = 0
    """Candidates no stage failed: the review pool."""
    survivors_passed: int = 0
    """Survivors every stage passed."""
    survivors_abstained: int = 0
    """Survivors with at least one abstention."""
    cost_usd: float = 0.0
    """Total spent by all stages."""
    last_stage_everywhere_cost_usd: float = 0.0
    """Estimate: the last stage's mean cost per trial times the candidates."""
    saved_cost_usd: float = 0.0
    """last_stage_everywhere_cost_usd - cost_usd."""
    tokens: int = 0
    """Total tokens used by all stages."""
    saved_tokens: int = 0
    """Same estimate in tokens."""
    judge_seconds: float = 0.0
    """Total judge time."""
    saved_judge_seconds: float = 0.0
    """Same estimate in judge time."""
    created_at: str = Field(default_factory=lambda: utcnow().isoformat())
    """When the funnel was computed."""

    def check(self) -> None:
        """Assert that the numbers add up (raises AssertionError naming the first that
        does not)."""
        assert self.trials == self.candidates + sum(self.excluded.values()), "trials"
        entered = self.candidates - self.pending
        for s in self.stages:
            assert s.entered == entered, f"stage {s.name}: entered {s.entered} != {entered}"
            assert s.failed + s.passed + s.abstained == s.entered, f"stage {s.name}: split"
            entered -= s.failed
        assert self.survivors == entered, "survivors"
        assert self.survivors == self.survivors_passed + self.survivors_abstained, "pool"


register_view(ViewSpec("cascade_funnel", "cascade_funnels", Funnel))


_COUNTER = {"pass": "passed", "fail": "failed", "abstain": "abstained"}


def _tokens(v: Verdict) -> int:
    return v.usage.input_tokens + v.usage.cached_input_tokens + v.usage.output_tokens


def compute_funnel(
    run_id: str,
    cascade: Cascade,
    trials: list[Trial],
    candidates: list[Trial],
    excluded: Mapping[str, int],
    stored: Mapping[str, Verdict],
) -> Funnel:
    """The funnel of `candidates` through `cascade`, from stored verdicts."""
    stages = [
        StageFunnel(index=s.index, name=s.name, judges=[j.name for j in s.judges])
        for s in cascade.stages
    ]
    f = Funnel(
        run_id=run_id,
        cascade_version=cascade.version,
        trials=len(trials),
        excluded=dict(excluded),
        candidates=len(candidates),
        stages=stages,
    )
    for trial in candidates:
        final = stored.get(cascade.final_key(trial.key))
        if final is None:
            f.pending += 1
            continue
        for stage, verdicts in zip(stages, cascade.stage_verdicts(trial.key, stored), strict=True):
            if verdicts is None:
                break
            stage.entered += 1
            label = stage_label(verdicts)
            field = _COUNTER[label]
            setattr(stage, field, getattr(stage, field) + 1)
            for v in verdicts:
                if v.label == "fail":
                    stage.failed_by[v.judge] = stage.failed_by.get(v.judge, 0) + 1
            stage.errors += sum(v.error is not None for v in verdicts)
            stage.cost_usd += sum(v.usage.cost_usd for v in verdicts)
            stage.tokens += sum(_tokens(v) for v in verdicts)
            stage.judge_seconds += sum(v.latency_s for v in verdicts)
            if label == "fail":
                break
        if final.label != "fail":
            f.survivors += 1
            if final.label == "pass":
                f.survivors_passed += 1
            else:
                f.survivors_abstained += 1
    _savings(f)
    return f


def _savings(f: Funnel) -> None:
    f.cost_usd = sum(s.cost_usd for s in f.stages)
    f.tokens = sum(s.tokens for s in f.stages)
    f.judge_seconds = sum(s.judge_seconds for s in f.stages)
    last = f.stages[-1] if f.stages else None
    judged = f.candidates - f.pending
    if last is None or not last.entered or not judged:
        return
    f.last_stage_everywhere_cost_usd = last.cost_usd / last.entered * judged
    f.saved_cost_usd = f.last_stage_everywhere_cost_usd - f.cost_usd
    f.saved_tokens = round(last.tokens / last.entered * judged) - f.tokens
    f.saved_judge_seconds = last.judge_seconds / last.entered * judged - f.judge_seconds
