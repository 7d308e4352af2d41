"""Simulated reviewers, for demos and load tests: clearly marked, never mistaken for people.

Their ids start with ``sim:`` (the dashboard can leave them out). They work through a
queue with the real queue operations (claims, leases, labels, timing events), on a
virtual clock that ends about now, so the records look like a morning of review work:

* an assisted item is rated helpful when the agent's answer states every key fact of
  the case and none of its forbidden claims; correctness is 'correct' in that case,
  'partly' when at least half the key facts are there and nothing forbidden, else
  'wrong'. Each reviewer flips the helpful rating with a small probability (``noise``)
  so agreement statistics have something to measure;
* a control item is answered with the case's reference answer;
* handling times are log-normal around 75 s (assisted) and 110 s (unassisted) times a
  per-reviewer speed factor, with heartbeats every 15 s, an occasional tab switch
  (hidden/visible) and an occasional idle pause; both are left out of the active time
  by the same rules as for people.

The numbers are made up; they exist so the dashboard, reports and judge calibration
have data to show in a demo. Nothing here should be read as a measurement.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from evals.schema import Case, utcnow
from evals.store.query import query
from labeling_app.metrics.dashboard import SIMULATED_PREFIX
from labeling_app.queues.models import QueueItem
from labeling_app.queues.service import Decision, EventKind, QueueService

Correctness = Literal["correct", "partly", "wrong"]
"""A reviewer's correctness rating (as labeling_app.queues.lead.Correctness)."""

MEDIAN_S = {"assisted": 75.0, "unassisted": 110.0}
HEARTBEAT_S = 15.0


@dataclass
class SimulationSummary:
    """What the simulated reviewers did."""

    queue_id: str
    reviewers: list[str]
    submitted: int = 0
    helpful: int = 0
    control: int = 0
    per_reviewer: dict[str, int] = field(default_factory=dict)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9%]+", " ", text.lower()).strip()


def judge_answer(answer: str, case: Case) -> tuple[bool, Correctness]:
    """(helpful, correctness) by the key-facts rule."""
    text = _norm(answer)
    facts = [f for f in case.key_facts if f.strip()]
    present = sum(_norm(f) in text for f in facts)
    forbidden = any(_norm(f) in text for f in case.forbidden if f.strip())
    if not forbidden and present == len(facts):
        return True, "correct"
    if not forbidden and facts and present * 2 >= len(facts):
        return False, "partly"
    return False, "wrong"


class SimulatedReviewer:
    """One simulated reviewer with its own speed, clock and random stream."""

    def __init__(
        self, svc: QueueService, queue_id: str, index: int, seed: int, start: datetime, noise: float
    ) -> None:
        self.svc, self.queue_id = svc, queue_id
        self.id = f"{SIMULATED_PREFIX}reviewer-{index + 1}"
        self.rng = random.Random(f"{seed}-{index}")
        self.speed = self.rng.lognormvariate(0.0, 0.25)
        self.clock = start + timedelta(seconds=self.rng.uniform(0, 120))
        self.noise = noise

    def work_one(self, answers: dict[str, str]) -> tuple[QueueItem, bool | None] | None:
        """Claim, 'read', and decide one item; None when nothing is left for them."""
        item = self.svc.claim_next(self.queue_id, self.id, now=self.clock)
        if item is None:
            return None
        q = self.svc.queue(self.queue_id)
        case = q.cases[item.case_id]
        end = self._read(item)
        if item.arm == "unassisted":
            decision = Decision(corrected_answer=case.reference)
        else:
            helpful, correctness = judge_answer(answers.get(item.trial_key or "", ""), case)
            if self.rng.random() < self.noise:
                helpful = not helpful
            decision = Decision(helpful=helpful, correctness=correctness)
        self.svc.decide(self.queue_id, item.item_id, self.id, decision, now=end)
        self.clock = end + timedelta(seconds=self.rng.uniform(3, 20))
        return item, decision.helpful

    def _read(self, item: QueueItem) -> datetime:
        """Write the timing events of reading one item; returns the decision time."""
        t = self.clock + timedelta(seconds=1)
        duration = self.rng.lognormvariate(0.0, 0.45) * MEDIAN_S[item.arm] * self.speed
        self._event(item, "shown", t)
        end = t + timedelta(seconds=duration)
        pause_at = t + timedelta(seconds=duration * self.rng.uniform(0.2, 0.8))
        pause = self.rng.random()
        while True:
            t += timedelta(seconds=HEARTBEAT_S * self.rng.uniform(0.95, 1.05))
            if t >= end:
                return end
            if pause < 0.05 and t >= pause_at:  # switched tabs for a while
                self._event(item, "hidden", t)
                away = timedelta(seconds=self.rng.uniform(30, 300))
                t, end, pause = t + away, end + away, 1.0
                self._event(item, "visible", t)
            elif pause < 0.12 and t >= pause_at:  # walked away, page left open
                away = timedelta(seconds=self.rng.uniform(90, 400))
                t, end, pause = t + away, end + away, 1.0
            self._event(item, "heartbeat", t, idle_s=round(self.rng.uniform(0, 10), 1))

    def _event(self, item: QueueItem, kind: EventKind, at: datetime, **data: object) -> None:
        self.svc.record_event(
            self.queue_id,
            item.item_id,
            self.id,
            kind,
            at=at,
            data={"simulated": True, **data},
        )


def simulate(
    svc: QueueService,
    queue_id: str,
    reviewers: int = 4,
    seed: int = 0,
    noise: float = 0.05,
    max_items: int | None = None,
    end: datetime | None = None,
) -> SimulationSummary:
    """Run simulated reviewers through a queue until nothing is left for any of them
    (or ``max_items`` decisions). Their virtual working day ends about ``end`` (now)."""
    q = svc.queue(queue_id)
    answers = trial_answers(svc, [it.trial_key for it in q.items if it.trial_key])
    per_reviewer_items = len(q.items) * q.overlap / max(reviewers, 1)
    span = timedelta(seconds=per_reviewer_items * (MEDIAN_S["assisted"] + 40))
    start = (end or utcnow()) - span
    team = [SimulatedReviewer(svc, queue_id, i, seed, start, noise) for i in range(reviewers)]
    return run_team(queue_id, team, answers, max_items)


def trial_answers(svc: QueueService, keys: list[str]) -> dict[str, str]:
    """Trial key -> its final answer (what a simulated reviewer reads)."""
    return {
        r["key"]: r["final_answer"] or ""
        for r in query(
            svc.ws, "SELECT key, final_answer FROM trials WHERE list_contains(?, key)", [keys]
        )
    }


class _Worker(Protocol):
    id: str

    def work_one(self, answers: dict[str, str]) -> tuple[QueueItem, bool | None] | None: ...


def run_team(
    queue_id: str, team: Sequence[_Worker], answers: dict[str, str], max_items: int | None
) -> SimulationSummary:
    """Let each simulated reviewer take turns until none has work left (or ``max_items``
    decisions): single items and whole reviews alike."""
    summary = SimulationSummary(queue_id, [r.id for r in team])
    active = list(team)
    while active and (max_items is None or summary.submitted < max_items):
        for sim in list(active):
            done = sim.work_one(answers)
            if done is None:
                active.remove(sim)
                continue
            item, helpful = done
            summary.submitted += 1
            summary.helpful += bool(helpful)
            summary.control += item.arm == "unassisted"
            summary.per_reviewer[sim.id] = summary.per_reviewer.get(sim.id, 0) + 1
            if max_items is not None and summary.submitted >= max_items:
                break
    return summary
