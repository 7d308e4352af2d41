"""Hostile records: one bad record never makes a workspace unreadable, and a record that
reads one way to DuckDB and another to the verifier (duplicate keys) is caught by both."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evals.schema import AgentSpec, ModelSpec, Trace, Trial
from evals.store.audit import verify_workspace
from evals.store.query import query
from evals.store.workspace import GENESIS, Workspace, envelope_hash


def _trial(key: str, run_id: str = "r", answer: str = "answer") -> Trial:
    return Trial(key=key, run_id=run_id, dataset="d", dataset_hash="h", case_id=key,
                 case_hash="c", question_id="q", agent=AgentSpec(name="react"),
                 model=ModelSpec(alias="m", model="openai/m"), prompt="v1", prompt_hash="p",
                 trace=Trace(final_answer=answer))


def _findings(ws: Workspace) -> list[str]:
    return [str(f) for f in verify_workspace(ws).findings or []]


def _answers(ws: Workspace) -> dict[str, str]:
    return {r["key"]: r["final_answer"] for r in query(ws, "SELECT key, final_answer FROM trials")}


def test_an_oversized_record_leaves_other_runs_readable(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace(tmp_path / "ws")
    ws.append("trial", _trial("other", run_id="unrelated"))
    ws.close()
    big = Workspace(tmp_path / "ws")  # a second writer (a run that died mid-way)
    big.append("trial", _trial("small", run_id="huge"))
    with caplog.at_level(logging.WARNING):
        big.append("trial", _trial("big", run_id="huge", answer="x" * (34 * 1024 * 1024)))
    big.append("trial", _trial("after", run_id="huge"))
    assert f"{big.writer('trial').path}:2: record of" in caplog.text
    assert _answers(ws) == {"other": "answer", "small": "answer", "after": "answer"}
    seg = big.writer("trial").path
    assert f"{seg}:2 (record big): record of" in "\n".join(_findings(ws))


def test_a_malformed_record_is_left_out_with_file_and_line(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace(tmp_path / "ws")
    for key in ("a", "b", "c"):
        ws.append("trial", _trial(key))
    seg = ws.writer("trial").path
    lines = seg.read_bytes().splitlines(keepends=True)
    lines[1] = b'{"body": {"key": "b", oops\n'
    seg.write_bytes(b"".join(lines))
    with caplog.at_level(logging.WARNING):
        assert set(_answers(ws)) == {"a", "c"}
    assert f"{seg}:2" in caplog.text
    ws.close()  # compacts what is readable; the Parquet is not stamped as verified
    (parquet,) = ws.segments("trial")
    rows = pq.read_table(parquet).to_pylist()
    rows[0]["body"] = rows[0]["body"][:-5]  # a body that is not JSON any more
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(parquet)), parquet)
    assert set(_answers(ws)) == {"c"}
    assert any(f"{parquet}:1: unreadable" in f for f in _findings(ws))


def test_a_forged_duplicate_body_in_jsonl_is_caught(workspace: Workspace) -> None:
    workspace.append("trial", _trial("k"))
    workspace.append("trial", _trial("j"))
    seg = workspace.writer("trial").path
    lines = seg.read_bytes().splitlines(keepends=True)
    env = orjson.loads(lines[0])
    forged = dict(env["body"], trace=dict(env["body"]["trace"], final_answer="FORGED"))
    lines[0] = b'{"body":' + orjson.dumps(forged) + b"," + lines[0][1:]
    seg.write_bytes(b"".join(lines))
    assert "FORGED" not in _answers(workspace).values()
    assert "FORGED" not in str(query(workspace, "SELECT body FROM raw_trial"))
    assert any(f.startswith(f"{seg}:1 (record k): not stored as written")
               for f in _findings(workspace))


def test_a_leading_duplicate_key_in_a_parquet_body_is_caught(workspace: Workspace) -> None:
    workspace.append("trial", _trial("k"))
    workspace.append("trial", _trial("j"))
    workspace.close()
    (parquet,) = workspace.segments("trial")
    rows = pq.read_table(parquet).to_pylist()
    rows[0]["body"] = '{"status":"forged",' + rows[0]["body"][1:]
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(parquet)), parquet)
    statuses = {r["key"]: r["status"] for r in query(workspace, "SELECT key, status FROM trials")}
    assert statuses == {"j": "ok"}
    assert any(f.startswith(f"{parquet}:1 (record k): not stored as written")
               for f in _findings(workspace))


def test_dropping_the_tail_and_seal_of_a_parquet_is_caught(workspace: Workspace) -> None:
    for key in ("a", "b", "c"):
        workspace.append("trial", _trial(key))
    workspace.close()
    (parquet,) = workspace.segments("trial")
    table = pq.read_table(parquet)
    pq.write_table(table.slice(0, 2), parquet)
    assert any("without its seal" in f for f in _findings(workspace))


@pytest.mark.parametrize("compacted", [False, True])
def test_an_intact_workspace_verifies_and_reads_everything(
    workspace: Workspace, compacted: bool
) -> None:
    for key in ("a", "b"):
        workspace.append("trial", _trial(key, answer="é \u2028 \x1f 1e-05"))
    if compacted:
        workspace.close()
    assert _findings(workspace) == []
    assert _answers(workspace) == {"a": "é \u2028 \x1f 1e-05", "b": "é \u2028 \x1f 1e-05"}


# ---------------------------------------------------------------- the manifest


def _rechain(seg: Path, lines: list[bytes]) -> list[bytes]:
    """Recompute every hash of a JSONL segment from its bodies (what a careful forger
    does after an edit); returns the new lines and rewrites the head file to match."""
    prev, out = GENESIS, []
    for raw in lines:
        env = orjson.loads(raw)
        env["prev"] = prev
        env["hash"] = prev = envelope_hash(prev, env["seq"], env["ts"], env["body"])
        out.append(orjson.dumps(env, option=orjson.OPT_SORT_KEYS) + b"\n")
    seg.write_bytes(b"".join(out))
    head = seg.with_suffix(".head")
    head.write_text(f"{orjson.loads(out[-1])['seq']:020d} {prev}\n")
    return out


def _cli(*args: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from evals.cli.main import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_deleting_the_last_record_of_an_unsealed_segment_is_caught(workspace: Workspace) -> None:
    for key in ("a", "b", "c"):
        workspace.append("trial", _trial(key))
    seg = workspace.writer("trial").path
    seg.write_bytes(b"".join(seg.read_bytes().splitlines(keepends=True)[:2]))
    assert any("ends at record 2, but the head file says it reached 3" in f
               for f in _findings(workspace))


def test_deleting_a_whole_segment_is_caught(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.append("trial", _trial("a"))
    ws.close()
    other = Workspace(tmp_path / "ws")
    other.append("verdict", {"key": "v", "trial_key": "a"})
    (parquet,) = ws.segments("trial")
    parquet.unlink()
    parquet.with_suffix(".head").unlink()
    assert any("segment deleted" in f for f in _findings(ws))
    other.close()


def test_an_edit_with_every_later_hash_recomputed_is_caught(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    for key in ("a", "b", "c"):
        ws.append("trial", _trial(key))
    ws.close(compact=False)  # sealed: the manifest holds its final head
    (seg,) = ws.segments("trial")
    lines = seg.read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b'"final_answer":"answer"', b'"final_answer":"EDITED"')
    _rechain(seg, lines)
    assert any("does not match the manifest entry" in f for f in _findings(ws))


def test_a_pinned_head_catches_a_rewritten_manifest(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    for key in ("a", "b"):
        ws.append("trial", _trial(key))
    code, out = _cli("audit", "head", "--workspace", str(ws.root))
    pin = out.strip()
    assert code == 0 and ":" in pin
    assert _cli("audit", "verify", "--workspace", str(ws.root), "--pin", pin)[0] == 0
    seg = ws.writer("trial").path
    lines = seg.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"final_answer":"answer"', b'"final_answer":"EDITED"')
    _rechain(seg, lines)  # head file rewritten too: only the checkpoint knows
    code, out = _cli("audit", "verify", "--workspace", str(ws.root), "--pin", pin)
    assert code != 0 and "does not match the manifest entry" in out
    # The forger rebuilds the manifest without the checkpoint: the pin is gone.
    (ws.root / "manifest.jsonl").unlink()
    Workspace(ws.root).append("note", {"id": "fresh manifest"})
    code, out = _cli("audit", "verify", "--workspace", str(ws.root), "--pin", pin)
    assert code != 0 and f"pinned head {pin} is not in the manifest" in out


def test_garbage_with_a_recomputed_hash_does_not_break_queries(workspace: Workspace) -> None:
    for key in ("a", "b"):
        workspace.append("trial", _trial(key))
    seg = workspace.writer("trial").path
    lines = seg.read_bytes().splitlines(keepends=True)
    env = orjson.loads(lines[0])
    body = b'{"key":"a",oops'  # not JSON, yet hashed as the writer hashes a body
    payload = b'{"body":' + body + b',"seq":1,"ts":' + orjson.dumps(env["ts"]) + b"}"
    digest = __import__("hashlib").sha256(GENESIS.encode() + b"\n" + payload).hexdigest()
    lines[0] = (b'{"body":' + body + b',"hash":"' + digest.encode() + b'","prev":"'
                + GENESIS.encode() + b'","seq":1,"ts":' + orjson.dumps(env["ts"]) + b"}\n")
    seg.write_bytes(b"".join(lines))
    assert set(_answers(workspace)) == {"b"}
    assert any(f"{seg}:1" in f for f in _findings(workspace))


def test_a_same_size_edit_of_a_just_compacted_parquet_is_left_out(workspace: Workspace) -> None:
    workspace.append("trial", _trial("k"))
    workspace.close()
    (parquet,) = workspace.segments("trial")
    assert _answers(workspace) == {"k": "answer"}  # read through its verification stamp
    rows = pq.read_table(parquet).to_pylist()
    rows[0]["body"] = rows[0]["body"].replace('"answer"', '"ANSWER"')
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(parquet)), parquet)
    assert _answers(workspace) == {}


def test_a_workspace_from_before_the_manifest_still_verifies(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    for key in ("a", "b"):
        ws.append("trial", _trial(key))
    ws.close()
    ws.append("note", {"id": "open"})  # an unsealed JSONL segment too
    (ws.root / "manifest.jsonl").unlink()  # what a workspace written before looks like
    for head in ws.root.glob("records/*/*.head"):
        head.unlink()
    report = verify_workspace(ws)
    assert report.ok, report.findings
    assert report.notes and "2 segment(s) predate the manifest" in report.notes[0]
    assert _answers(ws) == {"a": "answer", "b": "answer"}
    ws.close(compact=False)


def test_warning_about_a_segment_compacted_meanwhile_never_fails_the_query(  # type: ignore[no-untyped-def]
    tmp_path: Path, caplog
) -> None:
    from evals.store.record_sql import quarantine

    gone = tmp_path / "records" / "trial" / "gone.jsonl"  # its Parquet replaced it
    with caplog.at_level(logging.WARNING):
        quarantine(str(gone), None, "unreadable or tampered record")  # must not raise
    assert "incomplete last line" in caplog.text
