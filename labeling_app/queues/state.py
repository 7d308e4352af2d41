"""The state of a review queue, derived from its append-only records.

Nothing about a queue is stored as mutable state: who holds which item, who has labelled
what and what is left are recomputed from the queue record, its settings, its claims and
its labels at a given moment. This module is that computation (pure, no I/O), so the
same rules answer the app, the CLI's simulated reviewers and the tests.

Rules:

* a label is *effective* unless a later ``undo`` label retracts it;
* an item's slots (k = the queue's overlap) are held by effective submissions and by
  live claims: the latest ``claim``/``renew`` of a reviewer on the item, not released,
  its lease not run out, and the reviewer not done with (or declined) the item;
* a reviewer never gets an item twice, never an item they skipped or flagged, and never
  both arms of one case (having seen the agent's answer spoils the control, and the
  other way round);
* among the items a reviewer may take, the order is fixed:
  1. cases they have not seen;
  2. not a control item whose case's agent answers would then lack reviewers (a
     control rules its reviewer out for the case's answers);
  3. not an agent answer whose case's control item would then lack reviewers who have
     not seen the case (only with at least 2k reviewers known: with fewer, a case's
     control and its answers cannot both get k different reviewers, and the answers,
     on which helpfulness is measured, come first);
  4. the arm that keeps the reviewer's share of control items at the queue's share;
  5. agent answers of cases whose control item the reviewer could still take last;
  6. items already partly covered (so overlapping labels complete early);
  7. the question the reviewer has done least of; 8. the queue's (seeded) order.
  The same records and moment always give the same answer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from evals.schema import Label
from labeling_app.queues.models import Claim, QueueItem, QueueSetting, ReviewQueue

CLOSING_ACTIONS = ("submit", "skip", "flag")


@dataclass
class ItemState:
    """Who is on one item."""

    item: QueueItem
    done: dict[str, Label] = field(default_factory=dict)
    """Reviewer -> their effective submission."""
    declined: dict[str, Label] = field(default_factory=dict)
    """Reviewer -> their effective skip or flag."""
    claims: dict[str, Claim] = field(default_factory=dict)
    """Reviewer -> live claim (holding a slot)."""

    @property
    def occupancy(self) -> int:
        """Slots taken: submissions plus live claims."""
        return len(self.done) + len(self.claims)


@dataclass
class QueueState:
    """A queue at one moment."""

    queue: ReviewQueue
    now: datetime
    items: dict[str, ItemState]
    labels: list[Label]
    retracted: set[str]
    closed: bool = False
    show_verdicts: bool = False
    seen: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    """Reviewer -> case id -> arms of that case the reviewer has been given."""

    # ------------------------------------------------------------ per reviewer

    def effective_labels(self, reviewer: str | None = None) -> list[Label]:
        """Submissions, skips and flags not retracted (of one reviewer, or all)."""
        return [
            lb
            for lb in self.labels
            if lb.action in CLOSING_ACTIONS
            and lb.item_id in self.items  # (not a whole review's node label)
            and lb.id not in self.retracted
            and reviewer in (None, lb.reviewer)
        ]

    def current_claim(self, reviewer: str) -> QueueItem | None:
        """The item the reviewer holds (the most recently claimed, if several)."""
        held = [
            (st.claims[reviewer].at, st.item.position, st.item)
            for st in self.items.values()
            if reviewer in st.claims
        ]
        return max(held, key=lambda t: (t[0], t[1]))[2] if held else None

    def held_items(self, reviewer: str) -> list[QueueItem]:
        """Every item the reviewer holds a live claim on."""
        return [st.item for st in self.items.values() if reviewer in st.claims]

    def last_label(self, reviewer: str) -> Label | None:
        """The reviewer's most recent label of any action (undo included)."""
        own = [lb for lb in self.labels if lb.reviewer == reviewer and lb.item_id in self.items]
        return max(own, key=lambda lb: lb.submitted_at) if own else None

    def may_take(self, reviewer: str, st: ItemState) -> bool:
        """Whether the reviewer may be given this item now (slots and rules)."""
        if reviewer in st.done or reviewer in st.declined or reviewer in st.claims:
            return False
        if st.occupancy >= self.queue.overlap:
            return False
        arms = self.seen.get(reviewer, {}).get(st.item.case_id, set())
        return not (arms - {st.item.arm})

    def available(self, reviewer: str) -> list[QueueItem]:
        """Items the reviewer may take now, best first (see the module's rules)."""
        mine = self.effective_labels(reviewer)
        n_done = len(mine)
        n_control = sum(1 for lb in mine if lb.arm == "unassisted")
        share = self.control_share()
        want = "unassisted" if n_control + 1 <= share * (n_done + 1) + 1e-9 else "assisted"
        per_question = Counter(
            self.items[lb.item_id].item.question_id for lb in mine if lb.item_id in self.items
        )
        seen_cases = self.seen.get(reviewer, {})
        candidates = [st for st in self.items.values() if self.may_take(reviewer, st)]
        # Cases whose control item this reviewer could still take: seeing the agent's
        # answer for them would spend the reviewer on that control, so such assisted
        # items come after the others; and when the control would be left without
        # enough fresh reviewers, it goes before the reviewer's arm preference.
        open_controls = {st.item.case_id for st in candidates if st.item.arm == "unassisted"}
        controls_risk = self.controls_at_risk(reviewer, candidates)
        answers_risk = self.answers_at_risk(reviewer)
        candidates.sort(
            key=lambda st: (
                st.item.case_id in seen_cases,
                st.item.arm == "unassisted" and st.item.case_id in answers_risk,
                st.item.arm == "assisted" and st.item.case_id in controls_risk,
                st.item.arm != want,
                st.item.arm == "assisted" and st.item.case_id in open_controls,
                -st.occupancy,
                per_question[st.item.question_id],
                st.item.position,
            )
        )
        return [st.item for st in candidates]

    def controls_at_risk(self, reviewer: str, candidates: list[ItemState]) -> set[str]:
        """Cases whose open control item would lack fresh reviewers if this reviewer saw
        the agent's answer: fewer reviewers who have not seen the case than the control
        still needs. Judged among the reviewers known so far, and only once there are at
        least 2k of them: a case's control and its agent answers need k different
        reviewers each, and with fewer people the agent answers (what helpfulness is
        measured on) come first."""
        known = set(self.seen) | {reviewer}
        if len(known) < 2 * self.queue.overlap:
            return set()
        risky: set[str] = set()
        for st in candidates:
            if st.item.arm != "unassisted":
                continue
            case = st.item.case_id
            fresh = sum(
                1
                for r in known
                if case not in self.seen.get(r, {})
                and r not in st.done
                and r not in st.declined
                and r not in st.claims
            )
            if fresh <= self.queue.overlap - st.occupancy:
                risky.add(case)
        return risky

    def answers_at_risk(self, reviewer: str) -> set[str]:
        """Cases whose agent answers would lack reviewers if this reviewer took the
        case's control item (doing a control rules a reviewer out for the case's
        answers). Judged among the reviewers known so far, once there are more than k."""
        known = set(self.seen) | {reviewer}
        if len(known) <= self.queue.overlap:
            return set()
        need: dict[str, int] = {}
        for st in self.items.values():
            if st.item.arm == "assisted" and st.occupancy < self.queue.overlap:
                left = self.queue.overlap - st.occupancy
                need[st.item.case_id] = max(need.get(st.item.case_id, 0), left)
        risky = set()
        for case, left in need.items():
            able = sum(
                1
                for r in known
                if r != reviewer and "unassisted" not in self.seen.get(r, {}).get(case, set())
            )
            if able < left:
                risky.add(case)
        return risky

    def control_share(self) -> float:
        """Actual share of control items in the queue."""
        n = len(self.queue.items)
        return sum(1 for it in self.queue.items if it.arm == "unassisted") / n if n else 0.0

    def progress(self, reviewer: str) -> tuple[int, int]:
        """(items the reviewer has finished, items they could still take or hold)."""
        done = len(self.effective_labels(reviewer))
        held = len(self.held_items(reviewer))
        return done, held + len(self.available(reviewer))

    # ------------------------------------------------------------ whole queue

    def labels_needed(self) -> int:
        """Submissions still missing for every item to have k of them."""
        k = self.queue.overlap
        return sum(max(0, k - len(st.done)) for st in self.items.values())


def compute_state(
    queue: ReviewQueue,
    settings: list[QueueSetting],
    claims: list[Claim],
    labels: list[Label],
    now: datetime,
) -> QueueState:
    """The queue's state at ``now`` from its records (claims and labels oldest first)."""
    retracted = {lb.retracts for lb in labels if lb.action == "undo" and lb.retracts}
    items = {it.item_id: ItemState(it) for it in queue.items}
    for lb in labels:
        st = items.get(lb.item_id)
        if st is None or lb.id in retracted or lb.action not in CLOSING_ACTIONS:
            continue
        target = st.done if lb.action == "submit" else st.declined
        target[lb.reviewer] = lb
    seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    latest: dict[tuple[str, str], Claim] = {}
    for c in claims:
        st = items.get(c.item_id)
        if st is None:
            continue
        seen[c.reviewer][st.item.case_id].add(st.item.arm)
        if c.action == "release":
            latest.pop((c.item_id, c.reviewer), None)
        else:
            latest[(c.item_id, c.reviewer)] = c
    for lb in labels:
        if lb.item_id in items:
            seen[lb.reviewer][items[lb.item_id].item.case_id].add(items[lb.item_id].item.arm)
    for (item_id, reviewer), c in latest.items():
        st = items[item_id]
        if reviewer in st.done or reviewer in st.declined:
            continue
        if c.lease_until is not None and c.lease_until > now:
            st.claims[reviewer] = c
    closed, show = False, queue.show_verdicts
    for s in settings:
        closed = s.closed if s.closed is not None else closed
        show = s.show_verdicts if s.show_verdicts is not None else show
    return QueueState(
        queue, now, items, labels, retracted, closed, show, {r: dict(v) for r, v in seen.items()}
    )
