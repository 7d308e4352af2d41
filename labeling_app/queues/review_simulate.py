"""Simulated reviewers working through a queue of whole reviews (demo data, ``sim:*``).

The same made-up reviewers as `labeling_app.queues.simulate` (speed, heartbeats, tab switches,
idle pauses; key-facts rule for helpfulness, the reference as a control answer), but
each claim is a whole review: they decide its nodes in DAG order through
`labeling_app.queues.review_work.decide_node`, exactly as the Whole review page does, so the
records (node labels, the review label, the review's timeline with ``data.node``) are
those of people. Nothing here is a measurement.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from evals.schema import utcnow
from labeling_app.queues.models import QueueItem
from labeling_app.queues.review_work import decide_node
from labeling_app.queues.service import Decision, QueueService
from labeling_app.queues.simulate import (
    MEDIAN_S,
    SimulatedReviewer,
    SimulationSummary,
    judge_answer,
    run_team,
    trial_answers,
)


class SimulatedWholeReviewer(SimulatedReviewer):
    """A simulated reviewer who takes whole reviews."""

    def work_one(self, answers: dict[str, str]) -> tuple[QueueItem, bool | None] | None:
        """Claim one review and decide every node of it; None when nothing is left."""
        item = self.svc.claim_next(self.queue_id, self.id, now=self.clock)
        if item is None:
            return None
        if not item.nodes:
            raise ValueError(f"item {item.item_id} is not a whole review")
        q = self.svc.queue(self.queue_id)
        self._event(item, "shown", self.clock, node=item.nodes[0].question_id)
        verdicts: list[bool] = []
        for node in item.nodes:
            case = q.cases[node.case_id]
            end = self._read(item)
            if item.arm == "unassisted":
                decision = Decision(corrected_answer=case.reference)
            else:
                helpful, correctness = judge_answer(answers.get(node.trial_key or "", ""), case)
                if self.rng.random() < self.noise:
                    helpful = not helpful
                verdicts.append(helpful)
                decision = Decision(helpful=helpful, correctness=correctness)
            decide_node(self.svc, self.queue_id, item, node.question_id, self.id, decision, end)
            self.clock = end
        self.clock += timedelta(seconds=self.rng.uniform(3, 20))
        return item, (all(verdicts) if item.arm == "assisted" else None)


def simulate_reviews(
    svc: QueueService,
    queue_id: str,
    reviewers: int = 4,
    seed: int = 0,
    noise: float = 0.05,
    max_items: int | None = None,
    end: datetime | None = None,
) -> SimulationSummary:
    """Run simulated reviewers through a queue of whole reviews until nothing is left
    for any of them (or ``max_items`` reviews); their day ends about ``end`` (now)."""
    q = svc.queue(queue_id)
    answers = trial_answers(
        svc, [n.trial_key for it in q.items for n in it.nodes or [] if n.trial_key]
    )
    nodes = sum(len(it.nodes or []) for it in q.items)
    span = timedelta(seconds=nodes * q.overlap / max(reviewers, 1) * (MEDIAN_S["assisted"] + 40))
    start = (end or utcnow()) - span
    team = [SimulatedWholeReviewer(svc, queue_id, i, seed, start, noise) for i in range(reviewers)]
    return run_team(queue_id, team, answers, max_items)
