"""Lazy golden sets: compact case references, and reading a case back during a run
(unchanged bytes are not re-hashed; any edit, of the line or of its fixture file, is
still caught by the hash)."""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

import pytest

from evals.dataset.case_refs import RAW_DIGEST_BYTES, CaseRef, CaseRefs
from evals.dataset.golden import GoldenSetError, case_hash, load_golden_set
from tests.evals.dataset.test_golden import make_set


def case(i: int) -> dict[str, object]:
    return {
        "id": f"c{i}",
        "question_id": "q1",
        "reference": "Active, SG",
        "input": {"question": "Status?", "subject": {"name": f"Co {i}"}},
    }


def fixture_line(observation: object) -> str:
    return json.dumps({"tool": "registry_lookup", "arguments": {}, "observation": observation})


def test_refs_round_trip_every_field() -> None:
    refs = CaseRefs()
    given = [
        CaseRef(0, 1, "q1", "0123456789abcdef", None, 120, b"\x01" * RAW_DIGEST_BYTES),
        CaseRef(120, 2, "q2", "fedcba9876543210", "subject-1", 4000, b"\x02" * RAW_DIGEST_BYTES),
        CaseRef(4120, 4, "q1", "00000000000000ff", "subject-1"),  # built by hand: unknowns
        CaseRef(2**40, 2**31, "q2", "ffffffffffffffff", "subject-2", 2**26, b"\xff" * 8),
    ]
    for ref in given:
        refs.append(ref)
    assert list(refs) == given
    assert refs[-1] == given[-1]
    assert refs.question_ids() == ["q1", "q2", "q1", "q2"]
    assert list(refs.take([3, 0])) == [given[3], given[0]]
    with pytest.raises(ValueError, match="16 hex digits"):
        refs.append(CaseRef(0, 1, "q1", "abcd"))
    with pytest.raises(ValueError, match="raw digest"):
        refs.append(CaseRef(0, 1, "q1", "0123456789abcdef", raw_digest=b"short"))


def _owned_bytes(refs: CaseRefs) -> int:
    """Bytes of the containers a CaseRefs holds (strings they share excluded)."""
    return sum(sys.getsizeof(part) for part in gc.get_referents(vars(refs)))


def test_refs_hold_no_object_per_case() -> None:
    """Structural: a case costs a fixed number of array bytes, not a Python object (a
    string, a tuple, a list slot) per case; reviews and questions are interned."""

    def build(n: int) -> CaseRefs:
        refs = CaseRefs()
        for i in range(n):
            review = f"subject-{i // 4}" if i % 2 else None
            refs.append(CaseRef(i * 300, i + 1, f"q{i % 3}", f"{i:016x}", review, 300, bytes(8)))
        return refs

    small, large = build(1000), build(11_000)
    per_case = (_owned_bytes(large) - _owned_bytes(small)) / 10_000
    # 40 bytes of arrays a case, plus the interned review ids (one per 4 cases here).
    assert per_case < 40 + 80, per_case
    assert all(not isinstance(v, list) or len(v) <= 2750 for v in vars(large).values())


def test_unchanged_cases_read_back_with_fixtures_in_file_order(tmp_path: Path) -> None:
    root = make_set(tmp_path / "s", [case(i) for i in range(1, 6)])
    (root / "fixtures" / "c2.jsonl").write_text(fixture_line({"status": "Active"}) + "\n")
    (root / "fixtures" / "c4.jsonl").write_text("\n" + fixture_line("x") + "\n\n")
    eager = load_golden_set(root)
    lazy = load_golden_set(root, lazy=True)
    assert lazy.refs is not None
    assert all(r.length > 0 and len(r.raw_digest) == RAW_DIGEST_BYTES for r in lazy.refs)
    lines = (root / "cases.jsonl").read_bytes().splitlines(keepends=True)
    assert [r.length for r in lazy.refs] == [len(line) for line in lines]
    assert [lazy.load_case(r) for r in lazy.refs] == eager.cases
    assert [len(c.fixtures) for c in eager.cases] == [0, 1, 0, 1, 0]
    # Read back twice, in any order: the same cases.
    assert [lazy.load_case(r) for r in reversed(list(lazy.refs))] == eager.cases[::-1]


def test_a_whitespace_edit_that_changes_a_line_length_still_loads(tmp_path: Path) -> None:
    """The line's bytes differ (so its digest does), its content does not: the case is
    read up to its newline and hashed, as before, and still is the case loaded."""
    root = make_set(tmp_path / "s", [case(1), case(2)])
    lazy = load_golden_set(root, lazy=True)
    assert lazy.refs is not None
    first, second = list(lazy.refs)
    lines = (root / "cases.jsonl").read_text().splitlines(keepends=True)
    lines[1] = json.dumps(case(2), indent=None, separators=(" ,  ", " :  ")) + "\n"
    (root / "cases.jsonl").write_text("".join(lines))
    assert lazy.load_case(second).id == "c2"
    lines[0] = lines[0].replace('"q1"', '"q1"   ')  # longer: every later offset moves
    (root / "cases.jsonl").write_text("".join(lines))
    assert lazy.load_case(first).id == "c1"
    with pytest.raises(GoldenSetError):
        lazy.load_case(second)


def test_a_fixture_file_added_or_edited_mid_run_is_caught(tmp_path: Path) -> None:
    """The fixtures folder is listed once, and again when it changes: a file added after
    the listing (the folder's mtime moves) is found, and the case's hash then differs."""
    root = make_set(tmp_path / "s", [case(1), case(2)])
    (root / "fixtures" / "c2.jsonl").write_text(fixture_line("old") + "\n")
    old = 1_600_000_000
    os.utime(root / "fixtures", (old, old))  # listed long after its last change: cached
    lazy = load_golden_set(root, lazy=True)
    assert lazy.refs is not None
    first, second = list(lazy.refs)
    assert lazy.load_case(first).fixtures == [] and lazy.load_case(second).fixtures
    (root / "fixtures" / "c1.jsonl").write_text(fixture_line("new") + "\n")
    with pytest.raises(GoldenSetError, match="'c1' changed"):
        lazy.load_case(first)
    (root / "fixtures" / "c1.jsonl").unlink()
    assert lazy.load_case(first).fixtures == []
    (root / "fixtures" / "c2.jsonl").write_text(fixture_line("edited") + "\n")  # in place
    with pytest.raises(GoldenSetError, match="'c2' changed"):
        lazy.load_case(second)
    (root / "fixtures" / "c2.jsonl").write_text(fixture_line("old") + "\n")
    assert lazy.load_case(second).fixtures[0].observation == "old"


def test_fixtures_found_through_the_listing_match_the_eager_load(tmp_path: Path) -> None:
    """Fixture files found by the folder's listing are those found by looking each one up:
    a missing folder, a file per case, a stray file with no case."""
    root = make_set(tmp_path / "s", [case(i) for i in range(1, 4)])
    (root / "fixtures" / "c3.jsonl").write_text(fixture_line("three") + "\n")
    (root / "fixtures" / "notes.txt").write_text("not a fixture file")
    lazy = load_golden_set(root, lazy=True)
    assert lazy.refs is not None
    loaded = [lazy.load_case(r) for r in lazy.refs]
    assert [len(c.fixtures) for c in loaded] == [0, 0, 1]
    assert [case_hash(c) for c in loaded] == [r.hash for r in lazy.refs]
    bare = make_set(tmp_path / "bare", [case(1)])
    (bare / "fixtures").rmdir()
    lazy_bare = load_golden_set(bare, lazy=True)
    assert lazy_bare.refs is not None
    assert lazy_bare.load_case(lazy_bare.refs[0]) == load_golden_set(bare).cases[0]
