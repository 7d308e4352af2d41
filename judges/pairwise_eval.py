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

Reported per judge (name and version): items judged in both orders, position
consistency with a Wilson interval, first/second-position picks, agreement with people
over all items with a human choice (ties included) and over decisive items (people and
judge both named a winner), each with a Wilson interval, and Cohen's kappa over
{A, B, tie}.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel

from evals import stats
from evals.preferences import Choice, PairwiseJudgment, PairwisePreference, judgment_key
from evals.schema import AgentSpec, Case, CaseInput, ModelSpec, Question, Trace, Trial
from judges.pairwise import PairwiseJudge, PairwiseResult

CHOICES: list[Choice] = ["A", "B", "tie"]


class RateCI(BaseModel):
    """k of n with a 95% Wilson interval."""

    k: int
    n: int
    rate: float | None
    low: float
    high: float


def rate_ci(k: int, n: int) -> RateCI:
    """k/n with its Wilson interval."""
    iv = stats.wilson_interval(k, n)
    return RateCI(k=k, n=n, rate=k / n if n else None, low=iv.low, high=iv.high)


class PairwiseAgreement(BaseModel):
    """One pairwise judge against human preferences."""

    judge: str
    judge_version: str
    items: int
    """Items judged in both orders."""
    position_consistency: RateCI
    """Same winner in both orders."""
    first_position_picks: int
    """Items where it chose the answer shown first, in both orders."""
    second_position_picks: int
    """Items where it chose the answer shown second, in both orders."""
    agreement: RateCI
    """Its call equals the human choice (ties count), over items with a human choice."""
    decisive_agreement: RateCI
    """Same winner, over items where people and the judge both named one."""
    kappa: float | None
    """Cohen's kappa of its calls with the human choices over {A, B, tie}."""
    errors: int = 0
    """Orders that failed (no decision)."""


def human_choices(prefs: Iterable[PairwisePreference]) -> dict[str, Choice]:
    """Item -> majority human choice ('tie' when no choice has a strict majority)."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for p in prefs:
        votes[p.item_id][p.choice] += 1
    out: dict[str, Choice] = {}
    for item, count in votes.items():
        top, n = count.most_common(1)[0]
        out[item] = top if 2 * n > sum(count.values()) else "tie"  # type: ignore[assignment]
    return out


def evaluate_pairwise(
    prefs: Sequence[PairwisePreference], judgments: Sequence[PairwiseJudgment]
) -> list[PairwiseAgreement]:
    """Agreement and position consistency of every judge that judged both orders."""
    human = human_choices(prefs)
    by_judge: dict[tuple[str, str], dict[str, dict[str, PairwiseJudgment]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for j in judgments:
        by_judge[(j.judge, j.judge_version)][j.item_id][j.presentation] = j
    return [
        _one(judge, version, items, human) for (judge, version), items in sorted(by_judge.items())
    ]


def _one(
    judge: str,
    version: str,
    items: dict[str, dict[str, PairwiseJudgment]],
    human: dict[str, Choice],
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
    return PairwiseAgreement(
        judge=judge,
        judge_version=version,
        items=len(both),
        position_consistency=rate_ci(consistent, len(both)),
        first_position_picks=first,
        second_position_picks=second,
        agreement=rate_ci(agree, len(rated)),
        decisive_agreement=rate_ci(sum(calls[i] == human[i] for i in decisive), len(decisive)),
        kappa=None if math.isnan(kappa) else kappa,
        errors=errors,
    )


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
    for order, winner in (("AB", result.a_first), ("BA", result.b_first)):
        out.append(
            PairwiseJudgment(
                key=judgment_key(result.case_id, judge.name, judge.version, order),  # type: ignore[arg-type]
                item_id=result.case_id,
                judge=judge.name,
                judge_version=judge.version,
                presentation=order,
                winner=to_choice[winner],  # type: ignore[arg-type]
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
