"""Compact references to golden-set cases, for runs that must not hold every Case.

A pydantic Case with its fixtures costs kilobytes; a CaseRef is what a run needs to
compute trial keys and to read the case back when its trial runs (evals.dataset.golden.
GoldenSet.load_case): the byte offset of its line, the line number, its question and
its hash. CaseRefs stores them in arrays, a few tens of bytes a case.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from typing import NamedTuple


class CaseRef(NamedTuple):
    """A case not held in memory: where its line is and what it hashed to when loaded."""

    offset: int
    """Byte offset of the case's line in cases.jsonl."""
    line: int
    """Its line number (for error messages)."""
    question_id: str
    """The question it answers (the limit takes cases round-robin over questions)."""
    hash: str
    """case_hash of the case (fixtures included) when the set was loaded."""
    review: str | None = None
    """The review (subject) the case is a node of, if any."""


_HASH_BYTES = 8  # case_hash is content_hash's default: 16 hex digits


class CaseRefs:
    """A compact sequence of CaseRef: arrays, about 30 bytes a case (not ~4 KB a Case)."""

    def __init__(self) -> None:
        self._offsets = array("q")
        self._lines = array("q")
        self._questions = array("l")
        self._hashes = bytearray()
        self._question_ids: list[str] = []
        self._question_index: dict[str, int] = {}
        self._reviews: list[str | None] = []  # one per ref; None for most golden sets

    def append(self, ref: CaseRef) -> None:
        """Add a ref at the end."""
        index = self._question_index.setdefault(ref.question_id, len(self._question_ids))
        if index == len(self._question_ids):
            self._question_ids.append(ref.question_id)
        digest = bytes.fromhex(ref.hash)
        if len(digest) != _HASH_BYTES:
            raise ValueError(f"a case hash has {2 * _HASH_BYTES} hex digits, not {ref.hash!r}")
        self._offsets.append(ref.offset)
        self._lines.append(ref.line)
        self._questions.append(index)
        self._hashes += digest
        self._reviews.append(ref.review)

    def __len__(self) -> int:
        return len(self._offsets)

    def __getitem__(self, i: int) -> CaseRef:
        start = i * _HASH_BYTES
        return CaseRef(
            self._offsets[i],
            self._lines[i],
            self._question_ids[self._questions[i]],
            self._hashes[start : start + _HASH_BYTES].hex(),
            self._reviews[i],
        )

    def __iter__(self) -> Iterator[CaseRef]:
        return (self[i] for i in range(len(self)))

    def question_ids(self) -> list[str]:
        """The question of each ref, in order (interned: one string per question)."""
        return [self._question_ids[q] for q in self._questions]

    def take(self, indices: Iterable[int]) -> CaseRefs:
        """A new CaseRefs of the refs at `indices`, in that order."""
        out = CaseRefs()
        for i in indices:
            out.append(self[i])
        return out
