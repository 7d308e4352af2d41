"""The append-only store: concurrent writers, kill -9, no rewrites, audit chains."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evals.schema import AgentSpec, ModelSpec, Trace, Trial
from evals.store.audit import verify_workspace
from evals.store.query import query
from evals.store.workspace import Workspace, compact_segment

WRITER = """
import sys, time
from evals.store.workspace import Workspace
ws = Workspace(sys.argv[1])
name, n = sys.argv[2], int(sys.argv[3])
for i in range(n):
    ws.append("note", {"id": f"{name}-{i}", "writer": name, "pad": "x" * 2000})
    if i % 50 == 0:
        time.sleep(0.001)
if sys.argv[4] == "close":
    ws.close()
else:
    time.sleep(60)  # wait to be killed
"""


def _spawn(ws: Path, name: str, n: int, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(ws), name, str(n), mode])


def _trial(key: str) -> Trial:
    return Trial(key=key, run_id="r", dataset="d", dataset_hash="h", case_id=key,
                 case_hash="c", question_id="q", agent=AgentSpec(name="react"),
                 model=ModelSpec(alias="m", model="openai/m"), prompt="v1", prompt_hash="p",
                 trace=Trace(final_answer="answer"))


@pytest.mark.slow
def test_three_writers_and_a_reader_lose_nothing(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace(root)
    writers = [_spawn(root, f"w{i}", 600, "close") for i in range(3)]
    ws = Workspace(root)
    seen = []
    while any(w.poll() is None for w in writers):  # a fourth process queries meanwhile
        if not ws.segments("note"):
            continue
        seen.append(query(ws, "SELECT count(*) AS n FROM raw_note WHERE body IS NOT NULL")[0]["n"])
    assert all(w.wait() == 0 for w in writers)
    rows = query(ws, "SELECT body->>'$.id' AS id FROM raw_note WHERE body IS NOT NULL")
    ids = [r["id"] for r in rows]
    assert len(ids) == 1800 and len(set(ids)) == 1800
    assert seen == sorted(seen)  # counts only ever grow: no torn or lost reads
    assert verify_workspace(ws).ok


@pytest.mark.slow
def test_kill_9_leaves_a_readable_store(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace(root)
    proc = _spawn(root, "victim", 100_000, "wait")
    time.sleep(1.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    ws = Workspace(root)
    (segment,) = ws.segments("note")
    # Simulate the write the kill cut in half: a torn last line without its newline.
    with open(segment, "ab") as fh:
        fh.write(b'{"seq": 999999, "ts": "2026')
    n = query(ws, "SELECT count(*) AS n FROM raw_note WHERE body IS NOT NULL")[0]["n"]
    assert n > 0
    assert len(list(ws.iter_bodies("note"))) == n
    report = verify_workspace(ws)
    assert report.ok, report.findings  # a torn last line is a crash, not tampering
    # A new writer never appends to the old segment.
    ws.append("note", {"id": "after"})
    assert len(ws.segments("note")) == 2


def test_torn_line_is_skipped_with_a_warning(workspace: Workspace, caplog) -> None:  # type: ignore[no-untyped-def]
    workspace.append("note", {"id": "a"})
    seg = workspace.segments("note")[0]
    with open(seg, "ab") as fh:
        fh.write(b'{"seq": 2, "ts": "x", "prev')
    assert [b["id"] for b in workspace.iter_bodies("note")] == ["a"]
    assert "torn last line" in caplog.text


def test_records_are_never_rewritten(workspace: Workspace) -> None:
    for i in range(5):
        workspace.append("trial", _trial(f"k{i}"))
    seg = workspace.segments("trial")[0]
    before = seg.read_bytes()
    for i in range(5, 8):
        workspace.append("trial", _trial(f"k{i}"))
    assert seg.read_bytes().startswith(before)
    workspace.close()  # seal + compact: the Parquet holds the same envelopes
    (parquet,) = workspace.segments("trial")
    assert parquet.suffix == ".parquet" and not seg.exists()
    rows = pq.read_table(parquet).to_pylist()
    first = orjson.loads(before.split(b"\n")[0])
    assert rows[0]["hash"] == first["hash"]
    assert len(rows) == 9  # 8 records + seal
    assert verify_workspace(workspace).ok


def test_duplicate_keys_count_once(workspace: Workspace) -> None:
    workspace.append("trial", _trial("same"))
    workspace.append("trial", _trial("same"))
    assert query(workspace, "SELECT count(*) AS n FROM trials")[0]["n"] == 1


def test_views_exist_on_an_empty_workspace(workspace: Workspace) -> None:
    for view in ("runs", "trials", "traces", "verdicts", "labels", "events", "decisions"):
        assert query(workspace, f"SELECT count(*) AS n FROM {view}")[0]["n"] == 0


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_audit_names_an_edited_record(workspace: Workspace) -> None:
    for i in range(4):
        workspace.append("trial", _trial(f"key{i}"))
    seg = workspace.segments("trial")[0]
    lines = _lines(seg)
    idx = next(i for i, line in enumerate(lines) if b'"key":"key2"' in line)
    lines[idx] = lines[idx].replace(b'"final_answer":"answer"', b'"final_answer":"Answer"')
    seg.write_bytes(b"".join(lines))
    report = verify_workspace(workspace)
    assert not report.ok
    assert report.findings is not None
    (finding,) = report.findings
    assert finding.record == "key2" and finding.line == idx + 1 and "edited" in finding.message


def test_audit_detects_deleted_and_reordered_records(workspace: Workspace) -> None:
    for i in range(5):
        workspace.append("trial", _trial(f"key{i}"))
    seg = workspace.segments("trial")[0]
    lines = _lines(seg)
    seg.write_bytes(b"".join(lines[:2] + lines[3:]))
    findings = verify_workspace(workspace).findings or []
    assert any(f.record == "key3" and "deleted" in f.message for f in findings)
    seg.write_bytes(b"".join([lines[1], lines[0], *lines[2:]]))
    findings = verify_workspace(workspace).findings or []
    assert any(f.record == "key1" for f in findings)


def test_audit_checks_compacted_segments(workspace: Workspace) -> None:
    for i in range(3):
        workspace.append("trial", _trial(f"key{i}"))
    workspace.close()
    (parquet,) = workspace.segments("trial")
    table = pq.read_table(parquet).to_pylist()
    table[1]["body"] = table[1]["body"].replace('"answer"', '"ANSWER"')
    pq.write_table(pa.Table.from_pylist(table, schema=pq.read_schema(parquet)), parquet)
    findings = verify_workspace(workspace).findings or []
    assert [(f.line, f.record) for f in findings] == [(2, "key1")]


def test_compaction_is_atomic_for_readers(workspace: Workspace) -> None:
    workspace.append("note", {"id": "x"})
    seg = workspace.segments("note")[0]
    workspace.writer("note").close(compact=False)
    compact_segment(seg)
    assert [b["id"] for b in workspace.iter_bodies("note")] == ["x"]
