"""Calibrating one judge against human labels: may it fail trials on its own, and above
what confidence?

Items are trials that both the judge and people rated. A human rating of "helpful" is
the truth "pass"; "not helpful" is the truth "fail" (the majority of a trial's counted
ratings; trials with a tied vote are left out). The report holds the confusion matrix
(judge pass / fail / abstain x human helpful / not helpful), accuracy and Cohen's kappa
on the items the judge decided, its coverage (share decided), and two error rates of its
fails, each with a one-sided Clopper-Pearson upper bound at ``confidence``:

* **false-fail rate**: the share of the judge's fails that people rated helpful (when
  it fails something, how often is it wrong);
* **helpful-loss rate**: the share of helpful answers the judge fails (how much good
  work it throws away).

Both must be bounded: with only the first, a judge that is no better than chance could
fail things alone whenever almost every answer is bad; with only the second, whenever
almost every answer is good (a coin that fails 2% of trials loses only 2% of the
helpful ones, yet is wrong on nearly every fail).

**Threshold.** The judge may fail alone only at confidence ``>= t``. Thresholds are
tested from the most confident down (a fixed-sequence test, which keeps the family-wise
error at ``1 - confidence`` without a split): at each distinct confidence t, with the
fails at or above t, both upper bounds must stay under ``target``; the first threshold
that misses ends the sequence and the last one that passed is chosen. Thresholds with
fewer fails than the smallest sample that could ever pass (``n_min``: 59 for 5% at 95%)
are not tested (that depends on the confidences only, not on the labels). A fail without
a confidence (a deterministic check) counts as confidence 1.

**When no threshold passes** the judge may not fail alone (threshold None), and the
report says why: *refused* when even its most confident fails are wrong more often than
the target with the stated confidence (the one-sided lower bound of the false-fail rate
of its ``n_min`` most confident fails is above the target, or, with fewer fails, that of
every set of its most confident fails: more labels will not help), otherwise
*insufficient*, with the number of labelled trials still needed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from evals import stats

Status = Literal["calibrated", "insufficient", "refused"]
JudgeLabel = Literal["pass", "fail", "abstain"]
MAX_N = 1_000_000


@dataclass(frozen=True, slots=True)
class JudgedItem:
    """One trial rated by the judge and by people."""

    trial_key: str
    label: JudgeLabel
    """The judge's own label (before any confidence threshold turned it into abstain)."""
    confidence: float | None
    helpful: bool
    """People's majority rating."""
    cost_usd: float = 0.0
    latency_s: float = 0.0
    llm_calls: int = 0
    """LLM calls the judge made for this verdict (0 for a deterministic check)."""

    @property
    def fail_confidence(self) -> float:
        """Confidence of a fail (a fail without one counts as certain)."""
        return 1.0 if self.confidence is None else self.confidence


class Confusion(BaseModel):
    """Judge label x human rating."""

    pass_helpful: int = 0
    pass_unhelpful: int = 0
    fail_helpful: int = 0
    """False fails: the judge failed an answer people found helpful."""
    fail_unhelpful: int = 0
    abstain_helpful: int = 0
    abstain_unhelpful: int = 0


class BoundedRate(BaseModel):
    """A rate k/n with its one-sided Clopper-Pearson upper bound."""

    k: int
    n: int
    rate: float | None
    upper: float


class JudgeCalibration(BaseModel):
    """How a judge agrees with people, and the confidence above which it may fail alone."""

    judge: str
    judge_version: str
    stage: int | None = None
    """Cascade stage index the verdicts came from (None: judged standalone)."""
    n: int
    """Trials with both a verdict and a (non-tied) human rating."""
    n_helpful: int
    confusion: Confusion
    accuracy: float | None
    """Agreement on the trials the judge decided (pass or fail)."""
    kappa: float | None
    """Cohen's kappa, judge pass/fail vs helpful/not, on decided trials (None: undefined)."""
    coverage: float | None
    """Share of trials the judge decided (did not abstain)."""
    false_fail: BoundedRate
    """All of its fails: the share people rated helpful."""
    helpful_loss: BoundedRate
    """All helpful answers: the share it failed."""
    target: float
    confidence: float
    status: Status
    threshold: float | None
    """Fail alone only at confidence >= threshold; None: may not fail alone."""
    threshold_false_fail: BoundedRate | None = None
    threshold_helpful_loss: BoundedRate | None = None
    fail_coverage: float = 0.0
    """Share of trials it fails alone at the threshold (0 when not allowed)."""
    n_min: int
    """Fails (and helpful answers) needed with no error among them to bound under target."""
    more_labels_needed: int | None = None
    """When insufficient: about how many more labelled trials would let it qualify."""
    message: str = ""
    """The verdict in words."""
    deterministic: bool = False
    """No verdict behind it called an LLM: a rule (its fails stand unless refused)."""
    run_ids: list[str] = Field(default_factory=list)


def min_n_zero_errors(target: float, confidence: float) -> int:
    """Smallest n whose upper bound with no errors is under target (59 for 5%, 95%)."""
    n = max(1, math.floor(math.log(1.0 - confidence) / math.log(1.0 - target)))
    while stats.clopper_pearson_upper(0, n, confidence) >= target:
        n += 1
    return n


def bounded(k: int, n: int, confidence: float) -> BoundedRate:
    """k/n with its one-sided upper bound (1 when n = 0)."""
    return BoundedRate(
        k=k,
        n=n,
        rate=k / n if n else None,
        upper=stats.clopper_pearson_upper(k, n, confidence) if n else 1.0,
    )


def lower_bound(k: int, n: int, confidence: float) -> float:
    """One-sided Clopper-Pearson lower bound (0 when k = 0)."""
    return stats.clopper_pearson_interval(k, n, 2.0 * confidence - 1.0).low if n else 0.0


def n_needed_at_rate(rate: float, target: float, confidence: float) -> int | None:
    """Smallest n whose upper bound at an observed ``rate`` falls under target (None if
    the rate itself is not under target)."""
    if rate >= target:
        return None
    lo, hi = 1, 1
    while stats.clopper_pearson_upper(math.ceil(rate * hi - 1e-9), hi, confidence) >= target:
        lo, hi = hi, hi * 2
        if hi > MAX_N:
            return None
    while lo < hi:  # the bound falls with n at a fixed rate (up to rounding of k)
        mid = (lo + hi) // 2
        ok = stats.clopper_pearson_upper(math.ceil(rate * mid - 1e-9), mid, confidence) < target
        lo, hi = (lo, mid) if ok else (mid + 1, hi)
    return lo


def confusion_of(items: Sequence[JudgedItem]) -> Confusion:
    """Count judge label x human rating."""
    c = Confusion()
    for it in items:
        name = f"{it.label}_{'helpful' if it.helpful else 'unhelpful'}"
        setattr(c, name, getattr(c, name) + 1)
    return c


def _agreement(items: Sequence[JudgedItem]) -> tuple[float | None, float | None]:
    decided = [it for it in items if it.label != "abstain"]
    if not decided:
        return None, None
    judge = [it.label for it in decided]
    human = ["pass" if it.helpful else "fail" for it in decided]
    acc = sum(j == h for j, h in zip(judge, human, strict=True)) / len(decided)
    kappa = stats.cohens_kappa(judge, human, labels=["pass", "fail"])
    return acc, None if math.isnan(kappa) else kappa


@dataclass
class _Step:
    threshold: float
    fails: int
    false_fails: int


def threshold_steps(items: Sequence[JudgedItem]) -> list[_Step]:
    """Cumulative fails / false fails at each distinct fail confidence, highest first."""
    fails = sorted((it for it in items if it.label == "fail"), key=lambda it: -it.fail_confidence)
    steps: list[_Step] = []
    n = k = 0
    for i, it in enumerate(fails):
        n, k = n + 1, k + int(it.helpful)
        if i + 1 == len(fails) or fails[i + 1].fail_confidence != it.fail_confidence:
            steps.append(_Step(it.fail_confidence, n, k))
    return steps


def calibrate_judge(
    items: Sequence[JudgedItem],
    judge: str,
    judge_version: str,
    *,
    stage: int | None = None,
    target: float = 0.05,
    confidence: float = 0.95,
) -> JudgeCalibration:
    """Agreement report and fail-alone threshold of one judge (see the module doc)."""
    if not 0.0 < target < 1.0 or not 0.5 < confidence < 1.0:
        raise ValueError("target must be in (0, 1) and confidence in (0.5, 1)")
    n = len(items)
    n_helpful = sum(it.helpful for it in items)
    fails = [it for it in items if it.label == "fail"]
    accuracy, kappa = _agreement(items)
    n_min = min_n_zero_errors(target, confidence)
    report = JudgeCalibration(
        judge=judge,
        judge_version=judge_version,
        stage=stage,
        n=n,
        n_helpful=n_helpful,
        confusion=confusion_of(items),
        accuracy=accuracy,
        kappa=kappa,
        coverage=sum(it.label != "abstain" for it in items) / n if n else None,
        deterministic=bool(items) and not any(it.llm_calls for it in items),
        false_fail=bounded(sum(it.helpful for it in fails), len(fails), confidence),
        helpful_loss=bounded(sum(it.helpful for it in fails), n_helpful, confidence),
        target=target,
        confidence=confidence,
        status="insufficient",
        threshold=None,
        n_min=n_min,
    )
    chosen: _Step | None = None
    for step in threshold_steps(items):
        if step.fails < n_min:
            continue  # could not pass whatever the labels say; not part of the sequence
        ff = stats.clopper_pearson_upper(step.false_fails, step.fails, confidence)
        hl = stats.clopper_pearson_upper(step.false_fails, n_helpful, confidence)
        if ff >= target or hl >= target:
            break
        chosen = step
    if chosen is not None:
        report.status, report.threshold = "calibrated", chosen.threshold
        report.threshold_false_fail = bounded(chosen.false_fails, chosen.fails, confidence)
        report.threshold_helpful_loss = bounded(chosen.false_fails, n_helpful, confidence)
        report.fail_coverage = chosen.fails / n
    _explain(report, items)
    if report.deterministic and report.status == "insufficient":
        report.message = (
            "a deterministic check: its fails stand until labels show them "
            "wrong; not bounded yet: " + report.message.split(": ", 1)[-1]
        )
    return report


def _explain(report: JudgeCalibration, items: Sequence[JudgedItem]) -> None:
    """Status and message: calibrated, refused (more labels will not help) or insufficient
    (with how many more labelled trials are needed)."""
    pct = f"{report.target:.0%}"
    conf = f"{report.confidence:.0%}"
    if report.status == "calibrated":
        t = report.threshold_false_fail
        assert t is not None and report.threshold is not None
        report.message = (
            f"may fail alone at confidence >= {report.threshold:.3g}: {t.k} of its {t.n} "
            f"fails there were rated helpful (upper bound {t.upper:.2%} < {pct} at {conf}); "
            f"it fails {report.fail_coverage:.0%} of trials alone"
        )
        return
    steps = threshold_steps(items)
    tested = [st for st in steps if st.fails >= report.n_min]
    top = tested[0] if tested else (steps[-1] if steps else None)
    # Refused: its most confident n_min fails (or, with fewer fails, every confident
    # subset of them) are wrong more often than the target even at the lower bound.
    hopeless = [tested[0]] if tested else steps
    low = min(
        (lower_bound(st.false_fails, st.fails, report.confidence) for st in hopeless), default=0.0
    )
    if top is not None and low > report.target:
        report.status = "refused"
        report.message = (
            f"may not fail anything alone: even its {top.fails} most confident fails were "
            f"rated helpful {top.false_fails / top.fails:.0%} of the time (lower bound "
            f"{low:.0%} > {pct}); more labels will not change that"
        )
        return
    if not steps:
        report.message = (
            f"may not fail alone: it failed none of the {report.n} labelled trials, so there "
            f"is nothing to bound (it needs >= {report.n_min} labelled fails)"
        )
        return
    report.more_labels_needed = _more_needed(report, steps)
    more = (
        f"about {report.more_labels_needed} more labelled trials"
        if report.more_labels_needed is not None
        else "more labels, and fewer wrong fails than so far,"
    )
    have = report.false_fail.n  # all its labelled fails, not those of one threshold
    report.message = (
        f"may not fail alone yet: bounding its false fails under {pct} at {conf} needs at "
        f"least {report.n_min} labelled fails with none rated helpful, and as many helpful "
        f"answers (has {have} labelled fails, {report.false_fail.k} of them rated helpful, "
        f"and {report.n_helpful} helpful answers); {more} needed"
    )


def _more_needed(report: JudgeCalibration, steps: list[_Step]) -> int | None:
    """About how many more labelled trials would let the judge qualify, assuming the
    error rate and share of trials of its most confident fails stay as they are: the
    fewest over every threshold whose fails are wrong less often than the target (so a
    looser target never asks for more). None when no threshold is."""
    if report.n == 0:
        return None
    best: int | None = None
    for st in steps:
        if st.false_fails >= report.target * st.fails:
            continue
        fails_needed = n_needed_at_rate(st.false_fails / st.fails, report.target,
                                        report.confidence)  # fmt: skip
        loss = st.false_fails / report.n_helpful if report.n_helpful else 0.0
        helpful_needed = n_needed_at_rate(loss, report.target, report.confidence)
        if fails_needed is None or helpful_needed is None:
            continue
        helpful_rate = report.n_helpful / report.n if report.n_helpful else 0.5
        total = max(fails_needed / (st.fails / report.n), helpful_needed / helpful_rate)
        more = max(1, math.ceil(total) - report.n)
        best = more if best is None else min(best, more)
    return best
