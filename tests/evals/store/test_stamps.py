"""Verification stamps of compacted segments (evals.store.record_sql): a settled file is
trusted by its stat without being hashed again, and any change to it (which moves its
ctime or inode) sends it back to the hash."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest

from evals.store import record_sql
from evals.store.record_sql import is_stamped, read_stamp, stamp_verified, unstamp


@pytest.fixture
def segment(tmp_path: Path) -> Path:
    """A segment file where compaction puts one (the stamp lives under cache/)."""
    path = tmp_path / "ws" / "records" / "trial" / "seg.parquet"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x" * 4096)
    return path


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file is settled: the clock reads a minute ahead."""
    monkeypatch.setattr(record_sql, "time", SimpleNamespace(time=lambda: time.time() + 60))


def _no_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> str:
        raise AssertionError("hashed")

    monkeypatch.setattr(record_sql, "_file_digest", refuse)


def test_a_fresh_file_is_stamped_by_hash_only(segment: Path) -> None:
    stamp_verified(segment, "v1")
    stamp = read_stamp(segment)
    assert stamp is not None and "stat" not in stamp and stamp["typed"] == "v1"
    assert is_stamped(segment)
    assert "stat" not in (read_stamp(segment) or {})  # not settled yet: hashed every time


def test_a_settled_file_is_trusted_by_its_stat(
    segment: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamp_verified(segment, "v1")
    assert (read_stamp(segment) or {}).get("stat")
    _no_hashing(monkeypatch)
    assert is_stamped(segment)


def test_a_settled_stamp_gains_its_stat_on_the_first_hash(
    segment: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamp = {"sha256": record_sql._file_digest(segment), "typed": "v1"}
    record_sql._write_stamp(segment, stamp)  # as stamped before stats were recorded
    assert is_stamped(segment)
    assert read_stamp(segment) == {**stamp, "stat": record_sql._stat_key(segment.stat())}
    _no_hashing(monkeypatch)
    assert is_stamped(segment)


def test_a_same_size_edit_after_the_stat_is_hashed_and_refused(
    segment: Path, later: None
) -> None:
    stamp_verified(segment, "v1")
    before = segment.stat()
    with open(segment, "r+b") as fh:  # in place: same inode, same size
        fh.write(b"y")
    os.utime(segment, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime put back
    assert segment.stat().st_size == before.st_size
    assert not is_stamped(segment)


def test_a_replaced_file_is_hashed_and_refused(segment: Path, later: None) -> None:
    stamp_verified(segment, "v1")
    other = segment.with_suffix(".new")
    other.write_bytes(b"z" * 4096)
    os.replace(other, segment)
    assert not is_stamped(segment)


def test_an_unstamp_while_hashing_is_not_undone(
    segment: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = record_sql._file_digest(segment)
    record_sql._write_stamp(segment, {"sha256": digest})

    def audit_meanwhile(*_args: object) -> str:
        unstamp(segment)  # `evals audit verify` found the segment's columns forged
        return digest

    monkeypatch.setattr(record_sql, "_file_digest", audit_meanwhile)
    is_stamped(segment)
    assert read_stamp(segment) is None


def test_a_garbled_stamp_is_no_stamp(segment: Path) -> None:
    stamp_verified(segment)
    record_sql._stamp_path(segment).write_bytes(orjson.dumps(["not", "a", "stamp"]))
    assert not is_stamped(segment)
