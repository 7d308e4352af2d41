"""Keyed views keep one record per key: first written wins, except that a trial's retry
beats its infrastructure error; ties on time fall to filename, then seq. Checked against
explicit expectations and against the window-function formulation the views replaced;
columns read with one from_json per record match the per-column `body->>` they replaced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from evals.schema import AgentSpec, ModelSpec, Trace, Trial, TrialError
from evals.store.query import (
    TRIAL_PREFERENCE,
    VIEWS,
    BodyField,
    _fields,
    body_columns_sql,
    connect,
    query,
)
from evals.store.workspace import GENESIS, Workspace, compact_segment, envelope_hash


def trial(key: str, run_id: str, infra: bool = False, answer: str = "answer") -> Trial:
    error = TrialError(kind="infra", code="rate_limit", message="429") if infra else None
    return Trial(
        key=key,
        run_id=run_id,
        dataset="d",
        dataset_hash="h",
        case_id=key,
        case_hash="c",
        question_id="q",
        agent=AgentSpec(name="react"),
        model=ModelSpec(alias="m", model="openai/m"),
        prompt="v1",
        prompt_hash="p",
        status="error" if infra else "ok",
        trace=Trace(final_answer=None if infra else answer, error=error),
    )


def verdict(key: str, judge: str, label: str) -> dict[str, Any]:
    return {"key": key, "trial_key": "t", "run_id": "r", "judge": judge, "label": label}


def window_deduped(con: Any, kind: str, key: str, prefer: str | None) -> str:
    """A view of `kind`'s records deduplicated the way the views did before, with
    QUALIFY row_number() (the semantic reference); returns its name."""
    order = f"{prefer}, ts, filename, seq" if prefer else "ts, filename, seq"
    con.execute(
        f"CREATE VIEW window_{kind} AS SELECT * FROM raw_{kind} WHERE body IS NOT NULL "
        f"QUALIFY row_number() OVER (PARTITION BY body->>'$.{key}' ORDER BY {order}) = 1"
    )
    return f"window_{kind}"


def old_window_rows(ws: Workspace, view: str) -> list[tuple[Any, ...]]:
    """What `view` held with the window dedupe (same columns)."""
    with connect(ws) as con:
        if view == "traces":
            raw = window_deduped(con, "trial", "key", TRIAL_PREFERENCE)
            fields: dict[str, Any] = {
                "trial_key": BodyField("key"),
                "run_id": BodyField("run_id"),
                "trace": BodyField("trace", "JSON"),
            }
            sql = f"SELECT * EXCLUDE (recorded_at) FROM ({body_columns_sql(raw, fields)})"
        else:
            spec = next(s for s in VIEWS.values() if s.view == view)
            assert spec.key is not None
            raw = window_deduped(con, spec.kind, spec.key, spec.prefer)
            sql = body_columns_sql(raw, _fields(spec))
        return sorted(con.execute(sql).fetchall(), key=repr)


def rows_of(ws: Workspace, sql: str) -> list[tuple[Any, ...]]:
    with connect(ws) as con:
        return sorted(con.execute(sql).fetchall(), key=repr)


@pytest.fixture
def two_segments(tmp_path: Path) -> Workspace:
    """Two writer processes' worth of segments (one compacted, one still JSONL)."""
    first, second = Workspace(tmp_path / "ws"), Workspace(tmp_path / "ws")
    first.append("trial", trial("dup", "run-a", answer="from a"))
    first.append("trial", trial("retried", "run-a", infra=True))
    first.append("trial", trial("ok-then-infra", "run-a", answer="kept"))
    first.append("trial", trial("infra-twice", "run-a", infra=True))
    first.append("trial", trial("same", "run-a"))
    first.append("trial", trial("same", "run-a"))  # an identical record, same segment
    first.append("verdict", verdict("v1", "first", "pass"))
    first.append("label", label_body("l1", "first"))
    second.append("trial", trial("dup", "run-b", answer="from b"))
    second.append("trial", trial("retried", "run-b", answer="retry"))
    second.append("trial", trial("ok-then-infra", "run-b", infra=True))
    second.append("trial", trial("infra-twice", "run-b", infra=True))
    second.append("verdict", verdict("v1", "second", "fail"))
    second.append("label", label_body("l1", "second"))
    first.close()  # sealed and compacted to Parquet
    return second  # still writing JSONL


def label_body(label_id: str, reviewer: str) -> dict[str, Any]:
    return {"id": label_id, "queue_id": "q", "item_id": "i", "case_id": "c", "reviewer": reviewer}


def test_first_written_wins_across_segments_and_retries_beat_infra(
    two_segments: Workspace,
) -> None:
    ws = two_segments
    assert {p.suffix for p in ws.segments("trial")} == {".parquet", ".jsonl"}
    got = {
        r["key"]: (r["run_id"], r["status"], r["final_answer"])
        for r in query(ws, "SELECT key, run_id, status, final_answer FROM trials")
    }
    assert got == {
        "dup": ("run-a", "ok", "from a"),  # first written wins
        "retried": ("run-b", "ok", "retry"),  # the retry beats the infra error
        "ok-then-infra": ("run-a", "ok", "kept"),  # a later infra error never replaces
        "infra-twice": ("run-a", "error", None),  # both infra: first written
        "same": ("run-a", "ok", "answer"),  # identical records count once
    }
    traces = {
        r["trial_key"]: (r["run_id"], r["answer"])
        for r in query(
            ws, "SELECT trial_key, run_id, trace->>'$.final_answer' AS answer FROM traces"
        )
    }
    assert traces == {k: (v[0], v[2]) for k, v in got.items()}
    assert query(ws, "SELECT judge FROM verdicts") == [{"judge": "first"}]
    assert query(ws, "SELECT reviewer FROM labels") == [{"reviewer": "first"}]


@pytest.mark.parametrize("view", ["trials", "traces", "verdicts", "labels", "runs"])
def test_views_match_the_window_dedupe_they_replaced(two_segments: Workspace, view: str) -> None:
    assert rows_of(two_segments, f"SELECT * FROM {view}") == old_window_rows(two_segments, view)


def write_segment(path: Path, records: list[tuple[int, str, dict[str, Any]]]) -> None:
    """A hand-made segment (seq, ts, body): lets two records share a timestamp. Each
    record's own hash is real (the views read only records whose hash verifies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        orjson.dumps(
            {"seq": seq, "ts": ts, "prev": GENESIS, "body": body,
             "hash": envelope_hash(GENESIS, seq, ts, body)},
            option=orjson.OPT_SORT_KEYS,
        )
        for seq, ts, body in records
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_ties_on_time_fall_to_filename_then_seq(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ts = "2026-01-01T00:00:00+00:00"
    body = trial("k", "x").model_dump(mode="json")
    folder = ws.records_dir("trial")
    write_segment(
        folder / "b.jsonl",
        [(1, ts, {**body, "run_id": "b1"}), (2, ts, {**body, "key": "j", "run_id": "b2"})],
    )
    write_segment(
        folder / "a.jsonl",
        [
            (2, ts, {**body, "key": "j", "run_id": "a2"}),
            (1, ts, {**body, "key": "j", "run_id": "a1"}),
        ],
    )
    compact_segment(folder / "b.jsonl")  # b.parquet still sorts after a.jsonl
    got = {r["key"]: r["run_id"] for r in query(ws, "SELECT key, run_id FROM trials")}
    assert got == {"k": "b1", "j": "a1"}
    assert rows_of(ws, "SELECT * FROM trials") == old_window_rows(ws, "trials")


def test_keyed_views_use_no_window_operator(two_segments: Workspace) -> None:
    """DuckDB's window operator buffers every record, body included: memory would grow
    with the number of trials (bench/bench_memory.py)."""
    with connect(two_segments) as con:
        for view in ("trials", "traces", "verdicts", "labels", "runs"):
            plan = "\n".join(
                str(row[1]) for row in con.execute(f"EXPLAIN SELECT * FROM {view}").fetchall()
            )
            assert "WINDOW" not in plan.upper(), view


OLD_TRIAL_COLUMNS = """
SELECT body->>'$.key' AS key, json_extract(body, '$.agent') AS agent,
  json_extract(body, '$.model') AS model, TRY_CAST(body->>'$.repetition' AS BIGINT) AS repetition,
  TRY_CAST(body->>'$.started_at' AS TIMESTAMPTZ) AS started_at,
  body->>'$.model.alias' AS model_alias, body->>'$.agent.name' AS agent_name,
  body->>'$.trace.final_answer' AS final_answer,
  CAST(body->>'$.trace.usage.input_tokens' AS BIGINT) AS input_tokens,
  CAST(body->>'$.trace.usage.cost_usd' AS DOUBLE) AS cost_usd,
  CAST(body->>'$.trace.latency_s' AS DOUBLE) AS latency_s,
  len(list_filter(json_extract_string(body, '$.trace.steps[*].kind'),
    lambda x: x = 'tool_call')) AS tool_calls,
  body->>'$.trace.error.kind' AS error_kind, body->>'$.trace.error.code' AS error_code
FROM raw_trial WHERE body IS NOT NULL
"""
"""How the trials view read these columns before (one JSON parse per column)."""


def test_columns_read_in_one_parse_match_the_per_column_extraction(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    calls = [
        {"kind": "tool_call", "tool": "lookup", "arguments": {"q": 'é "quoted"'}},
        {"kind": "thought", "text": "hmm"},
        {"kind": "tool_call", "tool": "lookup", "arguments": {}},
    ]
    body = trial("tools", "r").model_dump(mode="json")
    body["trace"]["steps"] = calls
    body["trace"]["usage"].update({"input_tokens": 12, "cost_usd": 0.25})
    body["trace"]["latency_s"] = 1.5
    body["model"]["params"] = {"temperature": 0.5, "nested": {"a": [1, 2]}}
    ws.append("trial", body)
    ws.append("trial", trial("infra", "r", infra=True))
    ws.append("trial", trial("plain", "r", answer="line\nbreak ünïcode"))
    names = [
        "key", "agent", "model", "repetition", "started_at", "model_alias", "agent_name",
        "final_answer", "input_tokens", "cost_usd", "latency_s", "tool_calls", "error_kind",
        "error_code",
    ]  # fmt: skip
    new = rows_of(ws, f"SELECT {', '.join(names)} FROM trials")
    assert new == rows_of(ws, OLD_TRIAL_COLUMNS)
    assert {(r[0], r[11]) for r in new} == {("tools", 2), ("infra", 0), ("plain", 0)}


def test_trial_and_verdict_facts_keep_the_records_their_views_keep(
    two_segments: Workspace,
) -> None:
    """The fact views choose only among keys written more than once (the rest pass
    through, evals.store.typed_columns.deduped_facts_sql): the same records as the views."""
    trials = "SELECT key, run_id, status, recorded_at FROM {}"
    assert rows_of(two_segments, trials.format("trial_facts")) == rows_of(
        two_segments, trials.format("trials")
    )
    verdicts = "SELECT key, judge, recorded_at FROM {}"
    assert rows_of(two_segments, verdicts.format("verdict_facts")) == rows_of(
        two_segments, verdicts.format("verdicts")
    )
    dup = "SELECT count(*) - count(DISTINCT key) AS n FROM {}"
    assert rows_of(two_segments, dup.format("facts_trial"))[0][0] > 0  # dups were there
