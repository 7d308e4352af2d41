"""How far a pairwise judge can be trusted: agreement with human preferences, and
position consistency (the same winner when the two answers swap places).

Inputs are ``preference`` records (a person's choice between answers A and B) and
``pairwise_judgment`` records (a judge's choice in one presentation order: imported
from elsewhere, or made here by :func:`judge_preferences`). Per item:

* the human choice is the majority of its annotators' choices (A, B or tie; a split
  vote with no majority counts as tie);
* the judge is *position-consistent* when both orders name the same winner; its call is
  that winner, and 'tie' when the orders disagree (a winner only when both agree, as the
  harness's pairwise judge decides); *first-position bias* counts items where it chose
  whichever answer it was shown first in both orders.

Reported per judge (name and version), every interval at the ``confidence`` asked for:

* **accuracy** (the standard figure judge benchmarks publish): the share of its
  judgments, each presentation order counted once, that name the human choice, over
  items with a human choice (an item judged in both orders weighs 1, each order 1/2;
  the interval is over items). A judge whose outputs cover one order only gets its
  one-order accuracy, stated as such (``orders``);
* **strict agreement** (consistent and correct): its call (the winner of both orders,
  'tie' when they differ) equals the human choice, over items judged in both orders,
  and over decisive items (people and judge both named a winner); Cohen's kappa over
  {A, B, tie};
* **position consistency**, first/second-position picks.

Judge confidences (imported or the harness's own) feed a pairwise cascade calibration
(:func:`pairwise_cascade_items`): the judges as stages, cheapest first, deciding A or B
on items where people named a winner, calibrated as pass/fail cascades are.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel

from evals import stats
from evals.dataset.preferences import (
    Choice,
    Order,
    PairwiseJudgment,
    PairwisePreference,
    judgment_key,
)
from evals.schema import AgentSpec, Case, CaseInput, ModelSpec, Question, Trace, Trial
from judges.cascade_calibration import CascadeItem, StageObservation
from judges.pairwise import PairwiseJudge, PairwiseResult

CHOICES: list[Choice] = ["A", "B", "tie"]


class RateCI(BaseModel):
    """k of n with a Wilson interval (at the report's confidence)."""

    k: float
    """Successes (a half when one of an item's two orders counts)."""
    n: int
    rate: float | None
    low: float
    high: float


def rate_ci(k: float, n: int, confidence: float = 0.95) -> RateCI:
    """k/n with its Wilson interval (k may be fractional: half-credit per order)."""
    # k may be fractional (half-credit per order); the Wilson formula takes any real k.
    iv = stats.wilson_interval(k, n, confidence)  # type: ignore[arg-type]
    return RateCI(k=k, n=n, rate=k / n if n else None, low=iv.low, high=iv.high)


class PairwiseAgreement(BaseModel):
    """One pairwise judge against human preferences."""

    judge: str
    judge_version: str
    confidence: float = 0.95
    """Coverage of every interval."""
    orders: str = "both"
    """Presentation orders its judgments cover: 'both', 'AB only', 'BA only', 'mixed'."""
    judged_items: int = 0
    """Items judged in at least one order."""
    accuracy: RateCI | None = None
    """Standard accuracy: its judgments (each order once) naming the human choice, over
    items with a human choice; one-order accuracy when `orders` is not 'both'."""
    items: int
    """Items judged in both orders."""
    position_consistency: RateCI
    """Same winner in both orders."""
    first_position_picks: int
    """Items where it chose the answer shown first, in both orders."""
    second_position_picks: int
    """Items where it chose the answer shown second, in both orders."""
    agreement: RateCI
    """Strict: its call (consistent winner, else tie) equals the human choice (ties
    count), over items judged in both orders with a human choice."""
    decisive_agreement: RateCI
    """Same winner, over items where people and the judge both named one."""
    kappa: float | None
    """Cohen's kappa of its calls with the human choices over {A, B, tie}."""
    errors: int = 0
    """Orders that failed (no decision)."""


def human_choices(prefs: Iterable[PairwisePreference]) -> dict[str, Choice]:
    """Item -> majority human choice ('tie' when no choice has a strict majority)."""
    votes: dict[str, Counter[Choice]] = defaultdict(Counter)
    for p in prefs:
        votes[p.item_id][p.choice] += 1
    out: dict[str, Choice] = {}
    for item, count in votes.items():
        top, n = count.most_common(1)[0]
        out[item] = top if 2 * n > sum(count.values()) else "tie"
    return out


def evaluate_pairwise(
    prefs: Sequence[PairwisePreference],
    judgments: Sequence[PairwiseJudgment],
    confidence: float = 0.95,
) -> list[PairwiseAgreement]:
    """Accuracy, strict agreement and position consistency of every judge."""
    human = human_choices(prefs)
    by_judge: dict[tuple[str, str], dict[str, dict[str, PairwiseJudgment]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for j in judgments:
        by_judge[(j.judge, j.judge_version)][j.item_id][j.presentation] = j
    return [
        _one(judge, version, items, human, confidence)
        for (judge, version), items in sorted(by_judge.items())
    ]


def _accuracy(
    items: dict[str, dict[str, PairwiseJudgment]], human: dict[str, Choice], confidence: float
) -> tuple[str, int, RateCI]:
    """(orders covered, items judged, standard accuracy): each order's winner against the
    human choice, an item's orders sharing its weight."""
    done = {
        i: [j for j in o.values() if j.error is None] for i, o in items.items() if i in human
    }
    done = {i: js for i, js in done.items() if js}
    seen = {j.presentation for js in done.values() for j in js}
    per_item = [sum(j.winner == human[i] for j in js) / len(js) for i, js in done.items()]
    one = {len(js) for js in done.values()}
    orders = (
        "both" if one == {2} else ("mixed" if 2 in one or len(seen) > 1 else f"{min(seen)} only")
        if seen
        else "none"
    )
    return orders, len(done), rate_ci(sum(per_item), len(per_item), confidence)


def _one(
    judge: str,
    version: str,
    items: dict[str, dict[str, PairwiseJudgment]],
    human: dict[str, Choice],
    confidence: float = 0.95,
) -> PairwiseAgreement:
    both = {
        i: o
        for i, o in items.items()
        if "AB" in o and "BA" in o and o["AB"].error is None and o["BA"].error is None
    }
    errors = sum(1 for o in items.values() for j in o.values() if j.error is not None)
    consistent = first = second = 0
    calls: dict[str, Choice] = {}
    for item, orders in both.items():
        ab, ba = orders["AB"].winner, orders["BA"].winner
        consistent += ab == ba
        first += ab == "A" and ba == "B"
        second += ab == "B" and ba == "A"
        calls[item] = ab if ab == ba else "tie"
    rated = [i for i in calls if i in human]
    agree = sum(calls[i] == human[i] for i in rated)
    decisive = [i for i in rated if human[i] != "tie" and calls[i] != "tie"]
    kappa = (
        stats.cohens_kappa([calls[i] for i in rated], [human[i] for i in rated], labels=CHOICES)
        if rated
        else math.nan
    )
    covered, judged_n, accuracy = _accuracy(items, human, confidence)
    return PairwiseAgreement(
        judge=judge,
        judge_version=version,
        confidence=confidence,
        orders=covered,
        judged_items=judged_n,
        accuracy=accuracy,
        items=len(both),
        position_consistency=rate_ci(consistent, len(both), confidence),
        first_position_picks=first,
        second_position_picks=second,
        agreement=rate_ci(agree, len(rated), confidence),
        decisive_agreement=rate_ci(
            sum(calls[i] == human[i] for i in decisive), len(decisive), confidence
        ),
        kappa=None if math.isnan(kappa) else kappa,
        errors=errors,
    )


def pairwise_cascade_items(
    prefs: Sequence[PairwisePreference], judgments: Sequence[PairwiseJudgment]
) -> tuple[list[str], list[CascadeItem]]:
    """Pairwise judges as cascade stages (cheapest first by mean cost per judgment, then
    by name) on the items where people named a winner: 'pass' = A wins, 'fail' = B wins
    (truth 'helpful' = people chose A), 'abstain' = a tie or orders that disagree. Its
    confidence is the judgments' (imported or the harness's own; the mean of both
    orders). A judge that did not judge an item leaves that stage empty."""
    human = {i: c for i, c in human_choices(prefs).items() if c != "tie"}
    by_judge: dict[str, dict[str, list[PairwiseJudgment]]] = defaultdict(lambda: defaultdict(list))
    costs: dict[str, list[float]] = defaultdict(list)
    for j in judgments:
        name = f"{j.judge}@{j.judge_version[:8]}"
        costs[name].append(j.usage.cost_usd)
        if j.error is None and j.item_id in human:
            by_judge[name][j.item_id].append(j)
    names = sorted(costs, key=lambda n: (sum(costs[n]) / len(costs[n]), n))
    items = [
        CascadeItem(item, human[item] == "A", tuple(_stage(by_judge[n].get(item)) for n in names))
        for item in sorted(human)
    ]
    return names, items


def _stage(orders: list[PairwiseJudgment] | None) -> StageObservation | None:
    if not orders:
        return None
    winners = {j.winner for j in orders}
    confs = [j.confidence for j in orders]
    conf = None if None in confs else sum(c or 0.0 for c in confs) / len(confs)
    cost = sum(j.usage.cost_usd for j in orders)
    if len(winners) > 1 or winners == {"tie"}:
        return StageObservation("abstain", conf, cost)
    return StageObservation("pass" if winners == {"A"} else "fail", conf, cost)


# --------------------------------------------------------------------------- running


def _as_trials(p: PairwisePreference) -> tuple[Trial, Trial, Case, Question]:
    """A preference item as two trials of one case, the shape the pairwise judge takes.
    The prompt becomes the case's question (trusted as golden-set text is: it is the
    team's own dataset); the two answers are the trials' answers, rendered as data."""
    case = Case(
        id=p.item_id,
        question_id="preference",
        input=CaseInput(question=p.prompt),
        reference="(none given)",
    )
    question = Question(
        id="preference",
        title="Human preference",
        rubric="The more helpful, correct and complete answer is better.",
    )
    model = ModelSpec(alias="recorded", model="recorded")
    agent = AgentSpec(name="recorded")
    stamp = datetime.now(UTC)

    def trial(side: str, answer: str) -> Trial:
        return Trial(
            key=f"{p.item_id}:{side}",
            run_id="preferences",
            dataset="preferences",
            dataset_hash="-",
            case_id=p.item_id,
            case_hash="-",
            question_id="preference",
            agent=agent,
            model=model,
            prompt="-",
            prompt_hash="-",
            trace=Trace(final_answer=answer),
            started_at=stamp,
            finished_at=stamp,
        )

    return trial("A", p.answer_a), trial("B", p.answer_b), case, question


def judgments_of(result: PairwiseResult, judge: PairwiseJudge) -> list[PairwiseJudgment]:
    """A PairwiseResult (both orders, winners in trial terms) as two order records."""
    out = []
    to_choice: dict[str | None, Choice] = {"a": "A", "b": "B", "tie": "tie", None: "tie"}
    orders: tuple[tuple[Order, str | None], ...] = (("AB", result.a_first), ("BA", result.b_first))
    for order, winner in orders:
        out.append(
            PairwiseJudgment(
                key=judgment_key(result.case_id, judge.name, judge.version, order),
                item_id=result.case_id,
                judge=judge.name,
                judge_version=judge.version,
                presentation=order,
                winner=to_choice[winner],
                confidence=result.confidence,
                reason=result.reason[:2000],
                error=result.error,
                usage=result.usage.model_copy(update={"cost_usd": result.usage.cost_usd / 2}),
                source="run",
            )
        )
    return out


async def judge_preferences(
    judge: PairwiseJudge,
    prefs: Sequence[PairwisePreference],
    done: set[str],
    emit: Callable[[PairwiseJudgment], None],
    concurrency: int = 4,
) -> int:
    """Judge every preference item in both orders (items already judged by this judge
    version are skipped); returns how many items were judged now."""
    items = {p.item_id: p for p in prefs}
    todo = iter(
        [
            p
            for item, p in sorted(items.items())
            if judgment_key(item, judge.name, judge.version, "AB") not in done
        ]
    )
    count = 0

    async def lane() -> None:
        nonlocal count
        for p in todo:
            a, b, case, question = _as_trials(p)
            for j in judgments_of(await judge.compare(a, b, case, question), judge):
                emit(j)
            count += 1

    await asyncio.gather(*(lane() for _ in range(max(1, concurrency))))
    return count
