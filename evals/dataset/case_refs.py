"""Compact references to golden-set cases, for runs that must not hold every Case.

A pydantic Case with its fixtures costs kilobytes; a CaseRef is what a run needs to
compute trial keys and to read the case back when its trial runs (evals.dataset.golden.
GoldenSet.load_case): where its line is (byte offset and length), the line number, its
question, its hash, and a digest of its raw bytes (the line and its fixture file's
lines) that lets a read-back skip re-hashing a case whose bytes did not change.
CaseRefs stores them in arrays: 40 bytes a case, whatever the set holds.
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
    length: int = 0
    """Byte length of the line, newline included (0: unknown, read up to the newline)."""
    raw_digest: bytes = b""
    """RAW_DIGEST_BYTES of blake2b over the line's bytes and its fixture file's lines as
    loaded (b"": unknown, the read-back then re-hashes the case)."""


_HASH_BYTES = 8  # case_hash is content_hash's default: 16 hex digits
RAW_DIGEST_BYTES = 8
"""Size of CaseRef.raw_digest."""
_NO_REVIEW = -1


class CaseRefs:
    """A compact sequence of CaseRef in arrays: 40 bytes a case (not ~4 KB a Case), and no
    Python object per case (strings are interned: one per question and per review)."""

    def __init__(self) -> None:
        self._offsets = array("q")
        self._lengths = array("I")
        self._lines = array("I")
        self._questions = array("I")
        self._reviews = array("i")  # index into _review_ids, _NO_REVIEW for none
        self._hashes = bytearray()
        self._digests = bytearray()
        self._question_ids: list[str] = []
        self._question_index: dict[str, int] = {}
        self._review_ids: list[str] = []
        self._review_index: dict[str, int] = {}

    def append(self, ref: CaseRef) -> None:
        """Add a ref at the end."""
        digest = bytes.fromhex(ref.hash)
        if len(digest) != _HASH_BYTES:
            raise ValueError(f"a case hash has {2 * _HASH_BYTES} hex digits, not {ref.hash!r}")
        raw = ref.raw_digest
        if raw and len(raw) != RAW_DIGEST_BYTES:
            raise ValueError(f"a raw digest has {RAW_DIGEST_BYTES} bytes, not {len(raw)}")
        self._offsets.append(ref.offset)
        self._lengths.append(ref.length)
        self._lines.append(ref.line)
        self._questions.append(_intern(ref.question_id, self._question_ids, self._question_index))
        review = ref.review
        self._reviews.append(
            _NO_REVIEW if review is None else _intern(review, self._review_ids, self._review_index)
        )
        self._hashes += digest
        self._digests += raw or bytes(RAW_DIGEST_BYTES)  # all zero: unknown

    def __len__(self) -> int:
        return len(self._offsets)

    def __getitem__(self, i: int) -> CaseRef:
        if i < 0:
            i += len(self)
        start = i * _HASH_BYTES
        review = self._reviews[i]
        raw = bytes(self._digests[i * RAW_DIGEST_BYTES : (i + 1) * RAW_DIGEST_BYTES])
        return CaseRef(
            self._offsets[i],
            self._lines[i],
            self._question_ids[self._questions[i]],
            self._hashes[start : start + _HASH_BYTES].hex(),
            None if review == _NO_REVIEW else self._review_ids[review],
            self._lengths[i],
            b"" if raw == bytes(RAW_DIGEST_BYTES) else raw,
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


def _intern(value: str, values: list[str], index: dict[str, int]) -> int:
    """The position of `value` in `values`, appended when new."""
    found = index.setdefault(value, len(values))
    if found == len(values):
        values.append(value)
    return found
