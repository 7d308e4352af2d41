"""Typed columns (evals.store.typed_columns): the fact views read them from compacted segments,
and every decision is the same as when every body is parsed (EVALS_TYPED_COLUMNS=0), on
a workspace mixing typed Parquet, Parquet without typed columns and JSONL; a typed
column edited after compaction is never believed (stamp) and `evals audit verify` names
it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from evals.cli.main import app
from evals.run.plan import finished_keys
from evals.schema import Trial, TrialError
from evals.store.audit import verify_workspace
from evals.store.query import query
from evals.store.record_sql import stamp_verified
from evals.store.typed_columns import is_typed, typed_fields, typed_version
from evals.store.workspace import Workspace
from evals.testing.synthetic import make_label, make_trial, make_verdict, write_run

GATE = """name: typed
outcome: {source: cascade}
overall:
  min_judge_pass_rate: 0.5
  max_cost_per_trial: 0.05
  max_p95_latency_s: 60
  noninferiority_margin: 0.05
every_question:
  min_judge_pass_rate: 0.4
"""


def _trials(run: str, model: str, salt: int) -> list[Trial]:
    out = []
    for i in range(24):
        error = None
        if (i + salt) % 7 == 0:
            error = TrialError(kind="agent", code="tool_failed", message="tool failed")
        elif (i + salt) % 11 == 0:
            error = TrialError(kind="infra", code="rate_limit", message="429")
        out.append(make_trial(
            run, f"c{i}", f"q{i % 3}", model_alias=model, repetition=i % 2,
            cost_usd=0.001 * (i % 5), latency_s=0.5 + (i * salt) % 9, input_tokens=100 + i,
            cached_input_tokens=i % 4, output_tokens=10 + i % 3, tool_calls=i % 3, error=error,
        ))
    return out


def _verdicts(trials: list[Trial], salt: int) -> list[object]:
    out: list[object] = []
    for i, t in enumerate(trials):
        if t.status == "error":
            continue
        out.append(make_verdict(t, "pass" if (i + salt) % 3 else "fail"))
        if i % 4 == 0:  # a later cascade version changes its mind
            out.append(make_verdict(t, "fail" if (i + salt) % 3 else "pass", version="v2"))
    return out


def _retry(t: Trial) -> Trial:
    """The same key finished by a later run after an infra error (the view keeps it)."""
    done = make_trial(t.run_id, t.case_id, t.question_id, model_alias=t.model.alias,
                      repetition=t.repetition, cost_usd=0.003, latency_s=2.0)
    return done.model_copy(update={"key": t.key})


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Two runs: typed Parquet, Parquet without typed columns, and JSONL, with retried
    infra errors, re-judged trials and labels."""
    root = tmp_path / "ws"
    ws = Workspace(root)
    base = write_run(ws, "base", _trials("base", "model-a", 1))
    cand = write_run(ws, "cand", _trials("cand", "model-b", 2))
    ws.writer("verdict").append_many(_verdicts(base, 1) + _verdicts(cand, 2))
    ws.close()  # compacted: typed
    ws = Workspace(root)
    retried = [_retry(t) for t in base + cand if t.trace.error and t.trace.error.kind == "infra"]
    ws.writer("trial").append_many(retried[: len(retried) // 2])
    ws.writer("verdict").append_many([make_verdict(t, "pass") for t in retried])
    ws.append("label", make_label("ana", trial=cand[1], helpful=True))
    ws.append("label", make_label("ben", trial=cand[2], helpful=False))
    ws.close()
    ws = Workspace(root)
    writer = ws.writer("trial")
    writer.append_many(retried[len(retried) // 2 :])
    ws.close()
    _without_typed_columns(writer.path.with_suffix(".parquet"))
    ws = Workspace(root)
    ws.append("verdict", make_verdict(cand[3], "fail", version="v3"))  # stays JSONL
    ws.writer("verdict").append_many([])
    return root


def _without_typed_columns(segment: Path) -> None:
    """Make a segment as compaction wrote it before typed columns (and stamp it)."""
    tmp = segment.with_suffix(".old")
    con = duckdb.connect()
    con.execute(f"COPY (SELECT seq, ts, prev, hash, body, seal FROM read_parquet('{segment}')) "
                f"TO '{tmp}' (FORMAT parquet)")
    con.close()
    os.replace(tmp, segment)
    stamp_verified(segment)


def _cli(root: Path, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "-w", str(root)])
    assert result.exit_code in (0, 3, 4), result.output
    return result.output


def _decisions(root: Path, tmp: Path) -> dict[str, Any]:
    """gate --json, compare's and report's JSON, with their creation times removed."""
    gate_file = tmp / "gate.yaml"
    gate_file.write_text(GATE)
    gate = _cli(root, "gate", str(gate_file), "--run", "cand", "--baseline", "base",
                "--json", "--no-record")
    out: dict[str, Any] = {"gate": json.loads(gate[gate.index("{"):])}
    for name, args in (("compare", ["compare", "base", "cand"]), ("report", ["report", "cand"])):
        folder = tmp / f"{name}-{os.environ.get('EVALS_TYPED_COLUMNS', '1')}"
        _cli(root, *args, "--out", str(folder), "--format", "json")
        out[name] = json.loads((folder / "report.json").read_text())
    text = json.dumps(out, sort_keys=True)
    return json.loads(re.sub(r'"(created_at|generated_at|id)": "[^"]*"', r'"\1": ""', text))


def test_typed_and_body_paths_decide_the_same(
    mixed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace(mixed)
    kinds = [p for p in ws.segments("trial") if p.suffix == ".parquet"]
    assert sum(is_typed(p) for p in kinds) == 2 and len(kinds) == 3  # one untyped stamp
    assert any(p.suffix == ".jsonl" for p in ws.segments("verdict"))
    monkeypatch.setenv("EVALS_TYPED_COLUMNS", "1")
    typed = _decisions(mixed, tmp_path)
    finished = finished_keys(ws)
    cols = ", ".join(f'"{c}"' for c in ["recorded_at", *typed_fields("trial")])
    typed_rows = query(ws, f"SELECT {cols} FROM trial_facts ORDER BY key")
    body_rows = query(ws, f"SELECT {cols} FROM trials ORDER BY key")
    vcols = ", ".join(f'"{c}"' for c in ["recorded_at", *typed_fields("verdict")])
    typed_verdicts = query(ws, f"SELECT {vcols} FROM verdict_facts ORDER BY key")
    assert typed_verdicts == query(ws, f"SELECT {vcols} FROM verdicts ORDER BY key")
    monkeypatch.setenv("EVALS_TYPED_COLUMNS", "0")
    assert not any(is_typed(p) for p in kinds)
    assert query(ws, f"SELECT {cols} FROM trial_facts ORDER BY key") == typed_rows == body_rows
    assert len(typed_rows) == 48  # the retries replaced their infra errors
    assert sum(r["error_kind"] == "infra" for r in typed_rows) < 6
    assert finished_keys(ws) == finished and len(finished) == 48
    body = _decisions(mixed, tmp_path)
    assert typed == body
    assert typed["gate"]["checks"] and typed["compare"]["data"]["overall"]["outcome"]["n"]


def _edit_typed_status(segment: Path, seq: int, value: str) -> None:
    """Rewrite a compacted segment with one typed status changed, the body untouched."""
    tmp = segment.with_suffix(".edit")
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * REPLACE (CASE WHEN seq = {seq} THEN '{value}' ELSE typed_status END "
        f"AS typed_status) FROM read_parquet('{segment}')) TO '{tmp}' (FORMAT parquet)"
    )
    con.close()
    os.replace(tmp, segment)


def test_an_edited_typed_column_is_not_believed_and_audit_names_it(mixed: Path) -> None:
    ws = Workspace(mixed)
    segment = next(p for p in ws.segments("trial") if is_typed(p))
    first = query(ws, "SELECT key, status FROM trial_facts WHERE status = 'ok' LIMIT 1")[0]
    seq = query(ws, "SELECT seq FROM raw_trial WHERE body->>'$.key' = ?", [first["key"]])[0]
    _edit_typed_status(segment, seq["seq"], "forged")
    assert not is_typed(segment)  # the file no longer matches its stamp: bodies are read
    status = "SELECT status FROM trial_facts WHERE key = ?"
    assert query(ws, status, [first["key"]]) == [{"status": "ok"}]
    stamp_verified(segment, typed_version("trial"))  # forged stamp: believed until audited
    assert query(ws, status, [first["key"]]) == [{"status": "forged"}]
    report = verify_workspace(ws)
    found = [str(f) for f in report.findings or []]
    assert any(f"{segment}:{seq['seq']}" in f and "status disagree" in f for f in found), found
    assert not is_typed(segment)  # the audit removed the stamp
    assert query(ws, status, [first["key"]]) == [{"status": "ok"}]


def test_audit_stamps_a_clean_typed_segment(mixed: Path) -> None:
    ws = Workspace(mixed)
    report = verify_workspace(ws)
    assert report.ok, report.findings
    typed = [p for p in ws.segments("trial") if is_typed(p)]
    assert len(typed) == 2  # the untyped one stays read from its bodies
