"""A golden set's cases by id, for judging, without a Python object per case.

`evals judge` looks a case up by id for every trial it streams (judges.judge_stream):
its hash (is the trial's case still the one in the set?) and, for a trial it judges,
the case itself. A lazily loaded set (evals.dataset.golden: a CaseRef per case, in
arrays) is read back a case at a time; what remains is the id -> position lookup,
which as a dict of strings cost about 170 bytes a case (17 MB at 100,000 cases,
measured with tracemalloc). CaseIndex keeps it in two arrays instead: an open-addressing
table of the ids' 64-bit digests and their positions, 32 bytes a case.

Two ids with the same digest (about one chance in 10^8 at a million cases) are kept
exactly, in a dict of their own; an id absent from the set whose digest equals a
present one's finds that case, whose id differs: `JudgingCases.case` checks the id it
read back, and `hash_of` then names a hash the trial's case does not have (a content
hash of another case), so such a trial is excluded as missing, as it should be.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable
from pathlib import Path

from evals.dataset.golden import GoldenSet, case_hash, load_golden_set
from evals.schema import Case

_EMPTY = -1


def _digest(case_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(case_id.encode(), digest_size=8).digest(), "little")


class CaseIndex:
    """Case id -> position in the set (an int), in arrays: about 32 bytes an id."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._digests = array("Q", bytes(8 * 16))
        self._positions = array("q", [_EMPTY]) * 16
        self._count = 0
        self._exact: dict[str, int] = {}  # ids whose digest another id has too
        for position, case_id in enumerate(ids):
            self.add(case_id, position)

    def __len__(self) -> int:
        return self._count + len(self._exact)

    def _slot(self, digest: int) -> int:
        """The slot holding `digest`, or the empty slot where it would go."""
        mask = len(self._positions) - 1
        slot = digest & mask
        while self._positions[slot] != _EMPTY and self._digests[slot] != digest:
            slot = (slot + 1) & mask
        return slot

    def add(self, case_id: str, position: int) -> None:
        """Map `case_id` to `position` (ids are unique in a golden set)."""
        digest = _digest(case_id)
        slot = self._slot(digest)
        if self._positions[slot] != _EMPTY:  # a digest collision: keep both exactly
            self._exact[case_id] = position
            return
        self._digests[slot] = digest
        self._positions[slot] = position
        self._count += 1
        if 2 * self._count > len(self._positions):
            self._grow()

    def get(self, case_id: str) -> int | None:
        """The position of `case_id`, None when absent (or see the module docstring)."""
        exact = self._exact.get(case_id)
        if exact is not None:
            return exact
        slot = self._slot(_digest(case_id))
        position = self._positions[slot]
        return None if position == _EMPTY else position

    def _grow(self) -> None:
        digests, positions = self._digests, self._positions
        size = 2 * len(positions)
        self._digests = array("Q", bytes(8 * size))
        self._positions = array("q", [_EMPTY]) * size
        for digest, position in zip(digests, positions, strict=True):
            if position != _EMPTY:
                slot = self._slot(digest)
                self._digests[slot] = digest
                self._positions[slot] = position


class JudgingCases:
    """A golden set's cases by id, for judging: held (an eager set) or read back one at
    a time (a lazy set and the ids of its refs, in order, in a CaseIndex)."""

    def __init__(self, golden: GoldenSet, ids: Iterable[str] | CaseIndex | None = None) -> None:
        self.golden = golden
        self._cases = {c.id: c for c in golden.cases} if golden.refs is None else {}
        self._index = CaseIndex()
        if golden.refs is not None:
            index = ids if isinstance(ids, CaseIndex) else CaseIndex(ids or ())
            if len(index) != len(golden.refs):
                raise ValueError("a lazy golden set needs the id of every ref")
            self._index = index

    @classmethod
    def load(cls, path: Path) -> JudgingCases:
        """Load a golden set lazily (raises evals.dataset.golden.GoldenSetError)."""
        index = CaseIndex()

        def keep(case: Case) -> bool:
            index.add(case.id, len(index))  # called once per kept case, in the refs' order
            return True

        return cls(load_golden_set(path, lazy=True, keep=keep), index)

    def hash_of(self, case_id: str) -> str | None:
        """The case's hash, None when the set has no such case."""
        case = self._cases.get(case_id)
        if case is not None:
            return case_hash(case)
        i = self._index.get(case_id)
        return None if i is None or self.golden.refs is None else self.golden.refs[i].hash

    def case(self, case_id: str) -> Case:
        """The case (read back from the set's file in lazy mode); KeyError when the set
        has no such case."""
        case = self._cases.get(case_id)
        if case is not None:
            return case
        i = self._index.get(case_id)
        if i is None or self.golden.refs is None:
            raise KeyError(case_id)
        case = self.golden.load_case(self.golden.refs[i])
        if case.id != case_id:  # another id's digest (see the module docstring)
            raise KeyError(case_id)
        return case


