"""Choosing a reviewer's next item without sorting the queue.

`QueueState.available` sorts every item a reviewer may take by eight keys (see
`labeling_app.queues.state`). Only a few of those keys depend on who is asking, and only for
few cases: the cases the reviewer has already seen, and the cases "at risk" (whose
control item or agent answers would run short of reviewers; that needs many reviewers
to have seen the case, so they are found through `CountIndex`). For every other item
the order is the same for everyone:

    (arm differs from the reviewer's wanted arm, agent answer whose case still has an
     open control item, -occupancy, the reviewer's count for the question, position)

so free items (occupancy < k) are kept in buckets by (arm, open control, occupancy,
question), each sorted by position. The next item is the best of each bucket's first
item outside the reviewer's special cases, compared with the special cases' items
under the full key: the same item `available()[0]` gives, in time that grows with the
number of buckets and of the reviewer's own cases, not with the queue.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from labeling_app.queues.models import QueueItem

if TYPE_CHECKING:
    from labeling_app.queues.live import LiveQueue
    from labeling_app.queues.state import ItemState

BucketKey = tuple[str, bool, int, str]
"""(arm, agent answer whose case has an open control item, occupancy, question)."""


class CountIndex:
    """Cases by how many reviewers have seen them (to find the few seen by many)."""

    def __init__(self) -> None:
        self.members: dict[str, set[str]] = {}
        self._by_count: dict[int, set[str]] = defaultdict(set)

    def add(self, case: str, reviewer: str) -> None:
        """Note that the reviewer has seen the case."""
        seen = self.members.setdefault(case, set())
        if reviewer in seen:
            return
        if seen:
            self._by_count[len(seen)].discard(case)
        seen.add(reviewer)
        self._by_count[len(seen)].add(case)

    def count(self, case: str) -> int:
        """Reviewers who have seen the case."""
        return len(self.members.get(case, ()))

    def at_least(self, n: int) -> list[str]:
        """Cases seen by at least n reviewers."""
        return [c for count, cases in self._by_count.items() if count >= n for c in cases]


class Picker:
    """Free items of a queue in pick order, kept up to date as items fill and free."""

    def __init__(self, live: LiveQueue) -> None:
        self.live = live
        self.k = live.k
        items = live.queue.items
        self.share = sum(it.arm == "unassisted" for it in items) / len(items) if items else 0.0
        self.open_controls: Counter[str] = Counter()
        """Case -> its control items with a free slot."""
        self.free = 0
        """Items with a free slot."""
        self._buckets: dict[BucketKey, list[tuple[int, int]]] = defaultdict(list)
        self._where: dict[str, BucketKey | None] = {}
        for st in live.by_order:
            if st.item.arm == "unassisted" and self.k > 0:
                self.open_controls[st.item.case_id] += 1
        for st in live.by_order:
            key = self._bucket(st)
            self._where[st.item.item_id] = key
            if key is not None:
                self._buckets[key].append((st.item.position, live.order[st.item.item_id]))
                self.free += 1
        for entries in self._buckets.values():
            entries.sort()

    # ------------------------------------------------------------ upkeep

    def _bucket(self, st: ItemState) -> BucketKey | None:
        item = st.item
        if st.occupancy >= self.k:
            return None
        open_control = item.arm == "assisted" and self.open_controls[item.case_id] > 0
        return (item.arm, open_control, st.occupancy, item.question_id)

    def update(self, st: ItemState) -> None:
        """Re-file an item whose state may have changed (and its case's answers when
        its control item filled or freed)."""
        item = st.item
        free_before = self._where[item.item_id] is not None
        free_now = st.occupancy < self.k
        if item.arm == "unassisted" and free_before != free_now:
            had_open = self.open_controls[item.case_id] > 0
            self.open_controls[item.case_id] += 1 if free_now else -1
            if (self.open_controls[item.case_id] > 0) != had_open:
                for other in self.live.case_items[item.case_id]:
                    if other.item.arm == "assisted":
                        self._file(other)
        self._file(st)

    def _file(self, st: ItemState) -> None:
        item_id = st.item.item_id
        old, new = self._where[item_id], self._bucket(st)
        if old == new:
            return
        entry = (st.item.position, self.live.order[item_id])
        if old is not None:
            entries = self._buckets[old]
            del entries[bisect_left(entries, entry)]
            if not entries:
                del self._buckets[old]
            self.free -= 1
        if new is not None:
            insort(self._buckets[new], entry)
            self.free += 1
        self._where[item_id] = new

    # ------------------------------------------------------------ choosing

    def best(self, reviewer: str) -> QueueItem | None:
        """The first item of `QueueState.available(reviewer)`, or None."""
        live = self.live
        seen = live.seen.get(reviewer, {})
        tally = live.tally.get(reviewer)
        n_done, n_control = (tally.done, tally.control) if tally else (0, 0)
        per_question: Counter[str] = tally.per_question if tally else Counter()
        want = "unassisted" if n_control + 1 <= self.share * (n_done + 1) + 1e-9 else "assisted"
        answers_risk = self.answers_at_risk(reviewer)
        controls_risk = self.controls_at_risk(reviewer)
        special = answers_risk | controls_risk
        best: tuple[Any, ...] | None = None
        for (arm, open_control, occupancy, question), entries in self._buckets.items():
            for position, order in entries:
                case = live.by_order[order].item.case_id
                if case in seen or case in special:
                    continue
                key = (False, False, False, arm != want, open_control, -occupancy,
                       per_question[question], position, order)  # fmt: skip
                if best is None or key < best:
                    best = key
                break
        # The reviewer's own cases sort last (first key): looked at only when nothing
        # else is left.
        for own in (False, True):
            if own and best is not None:
                break
            for case in seen if own else special - seen.keys():
                for st in live.case_items.get(case, ()):
                    if not live.may_take(reviewer, st):
                        continue
                    key = self._full_key(
                        reviewer, st, seen, answers_risk, controls_risk, want, per_question
                    )
                    if best is None or key < best:
                        best = key
        return None if best is None else live.by_order[best[-1]].item

    def _full_key(
        self,
        reviewer: str,
        st: ItemState,
        seen: dict[str, set[str]],
        answers_risk: set[str],
        controls_risk: set[str],
        want: str,
        per_question: Counter[str],
    ) -> tuple[Any, ...]:
        """`QueueState.available`'s sort key for one item (plus its queue order)."""
        item, live = st.item, self.live
        case = item.case_id
        open_control = item.arm == "assisted" and any(
            o.item.arm == "unassisted" and live.may_take(reviewer, o) for o in live.case_items[case]
        )
        return (
            case in seen,
            item.arm == "unassisted" and case in answers_risk,
            item.arm == "assisted" and case in controls_risk,
            item.arm != want,
            open_control,
            -st.occupancy,
            per_question[item.question_id],
            item.position,
            live.order[item.item_id],
        )

    def count(self, reviewer: str) -> int:
        """len(`QueueState.available(reviewer)`)."""
        live = self.live
        n = self.free
        for case in live.seen.get(reviewer, {}):
            for st in live.case_items.get(case, ()):
                n += live.may_take(reviewer, st) - (st.occupancy < self.k)
        return n

    # ------------------------------------------------------------ cases at risk

    def _known(self, reviewer: str) -> int:
        return len(self.live.seen) + (reviewer not in self.live.seen)

    def answers_at_risk(self, reviewer: str) -> set[str]:
        """As `QueueState.answers_at_risk`. Such a case's answers lack reviewers who
        have not done its control: with more than k reviewers known, that takes at least
        max(1, known - k) of them to have seen the control."""
        live, k = self.live, self.k
        known = self._known(reviewer)
        if known <= k:
            return set()
        risky = set()
        for case in live.control_seen.at_least(max(1, known - k)):
            need = max(
                (
                    k - st.occupancy
                    for st in live.case_items[case]
                    if st.item.arm == "assisted" and st.occupancy < k
                ),
                default=0,
            )
            others = live.control_seen.members[case] - {reviewer}
            if need and known - 1 - len(others) < need:
                risky.add(case)
        return risky

    def controls_at_risk(self, reviewer: str) -> set[str]:
        """As `QueueState.controls_at_risk` (over the items the reviewer may take).
        Fresh reviewers of a case are the known ones who have not seen it, so a case at
        risk has been seen by at least known - k of them."""
        live, k = self.live, self.k
        known = self._known(reviewer)
        if known < 2 * k:
            return set()
        risky = set()
        for case in live.case_seen.at_least(known - k):
            fresh = known - live.case_seen.count(case)
            for st in live.case_items[case]:
                if (
                    st.item.arm == "unassisted"
                    and fresh <= k - st.occupancy
                    and live.may_take(reviewer, st)
                ):
                    risky.add(case)
                    break
        return risky
