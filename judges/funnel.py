"""The cascade's funnel: candidates -> failed at each stage -> survivors, with costs.

Computed from the stored verdicts (never from in-memory counters), so a resumed or
repeated `evals judge` prints the same numbers, and they add up by construction:
``entered(stage 1) = candidates``, ``entered(k+1) = entered(k) - failed(k)``,
``survivors = entered(last) - failed(last)``. Trials without an answer because of an
infrastructure error are not candidates: they are counted apart (``excluded``), and a
rerun of the suite that fills them in makes them candidates of the next `evals judge`.

Cost saved is an estimate against running the last stage on every candidate: the last
stage's mean cost per trial it judged, times the candidates, minus what the whole
cascade spent. A shadow stage's judgments of already-failed trials are measurements of
the same judge (they improve the mean) but their cost is reported apart, as the price
of calibration data rather than of the cascade. The same is given for tokens and
judge-seconds (the local model costs $0, so tokens are the honest measure there).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from evals.schema import Trial, Verdict, utcnow
from evals.store.query import ViewSpec, register_view
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
    shadow: bool = False
    """A shadow stage: it also judged trials an earlier stage failed (counted apart)."""
    shadow_judged: int = 0
    """Failed trials this shadow stage judged anyway (their verdicts change nothing)."""
    shadow_cost_usd: float = 0.0
    """What judging them cost."""
    shadow_tokens: int = 0
    """Tokens judging them used."""
    shadow_judge_seconds: float = 0.0
    """Judge time judging them took."""
    failed_by: dict[str, int] = Field(default_factory=dict)
    """Of the trials this stage failed, how many each judge failed (a trial can be failed
    by several judges of a group stage)."""

    def per_trial(self) -> tuple[float, float, float] | None:
        """Mean (cost, tokens, seconds) per trial judged, shadow judgments included (more
        measurements of the same judge); None when it judged nothing."""
        n = self.entered + self.shadow_judged
        if not n:
            return None
        return (
            (self.cost_usd + self.shadow_cost_usd) / n,
            (self.tokens + self.shadow_tokens) / n,
            (self.judge_seconds + self.shadow_judge_seconds) / n,
        )


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
    """Total spent by all stages on the trials they decided (shadow judging apart)."""
    shadow_cost_usd: float = 0.0
    """Spent by shadow stages on trials already failed (calibration data)."""
    last_stage_everywhere_cost_usd: float = 0.0
    """Estimate: the last stage's mean cost per trial it judged (shadow judgments
    included) times the judged candidates."""
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
    tally = FunnelTally(run_id, cascade, len(trials), excluded, len(candidates))
    for trial in candidates:
        tally.add(trial.key, stored)
    return tally.finish()


class FunnelTally:
    """A funnel added up one candidate at a time, from that trial's stored verdicts, so
    judging streams a run's trials (judges.judging) without holding their verdicts."""

    def __init__(
        self,
        run_id: str,
        cascade: Cascade,
        trials: int,
        excluded: Mapping[str, int],
        candidates: int,
    ) -> None:
        self.cascade = cascade
        self.stages = [
            StageFunnel(index=s.index, name=s.name, judges=[j.name for j in s.judges],
                        shadow=s.shadow)
            for s in cascade.stages
        ]
        self.funnel = Funnel(
            run_id=run_id,
            cascade_version=cascade.version,
            trials=trials,
            excluded=dict(excluded),
            candidates=candidates,
            stages=self.stages,
        )

    def add(self, trial_key: str, stored: Mapping[str, Verdict]) -> None:
        """Count one candidate (`stored`: its verdicts by key, or any superset)."""
        f, cascade = self.funnel, self.cascade
        final = stored.get(cascade.final_key(trial_key))
        if final is None:
            f.pending += 1
            return
        failed = False
        stages = zip(self.stages, cascade.stage_verdicts(trial_key, stored), strict=True)
        for stage, verdicts in stages:
            if verdicts is None:
                if failed:
                    continue
                break
            if failed:
                if stage.shadow:
                    _count_shadow(stage, verdicts)
                continue
            _count_stage(stage, verdicts)
            failed = stage_label(verdicts) == "fail"
        if final.label != "fail":
            f.survivors += 1
            if final.label == "pass":
                f.survivors_passed += 1
            else:
                f.survivors_abstained += 1

    def finish(self) -> Funnel:
        """The funnel, with its totals and savings."""
        _savings(self.funnel)
        return self.funnel


def _count_stage(stage: StageFunnel, verdicts: list[Verdict]) -> None:
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


def _count_shadow(stage: StageFunnel, verdicts: list[Verdict]) -> None:
    stage.shadow_judged += 1
    stage.shadow_cost_usd += sum(v.usage.cost_usd for v in verdicts)
    stage.shadow_tokens += sum(_tokens(v) for v in verdicts)
    stage.shadow_judge_seconds += sum(v.latency_s for v in verdicts)


def _savings(f: Funnel) -> None:
    f.cost_usd = sum(s.cost_usd for s in f.stages)
    f.shadow_cost_usd = sum(s.shadow_cost_usd for s in f.stages)
    f.tokens = sum(s.tokens for s in f.stages)
    f.judge_seconds = sum(s.judge_seconds for s in f.stages)
    per_trial = f.stages[-1].per_trial() if f.stages else None
    judged = f.candidates - f.pending
    if per_trial is None or not judged:
        return
    cost, tokens, seconds = per_trial
    f.last_stage_everywhere_cost_usd = cost * judged
    f.saved_cost_usd = f.last_stage_everywhere_cost_usd - f.cost_usd
    f.saved_tokens = round(tokens * judged) - f.tokens
    f.saved_judge_seconds = seconds * judged - f.judge_seconds
