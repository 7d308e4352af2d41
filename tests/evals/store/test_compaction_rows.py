"""Compaction writes the envelopes it read, byte for byte, whichever rows file carries
them to DuckDB (tab-separated, or JSON for an envelope a tab-separated row cannot hold)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import orjson

from evals.schema import AgentSpec, ModelSpec, Trace, Trial, canonical_json
from evals.store.record_sql import read_stamp
from evals.store.segment_read import Envelope, read_segment
from evals.store.typed_columns import is_typed
from evals.store.workspace import _COMPACT_BATCH, Workspace, compact_segment

AWKWARD = 'tab\there, newline\nthere, "quotes", back\\slash, \r, \x00, ünï, \u2028, ,;|'


def _trial(key: str, answer: str) -> Trial:
    return Trial(key=key, run_id="r", dataset="d", dataset_hash="h", case_id=key,
                 case_hash="c", question_id="q", agent=AgentSpec(name="react"),
                 model=ModelSpec(alias="m", model="openai/m"), prompt="v1", prompt_hash="p",
                 trace=Trace(final_answer=answer))


def _envelopes(segment: Path) -> list[tuple[Any, ...]]:
    """(seq, ts, prev, hash, body as canonical JSON text, seal) of a JSONL segment."""
    out = []
    for env in read_segment(segment):
        assert isinstance(env, Envelope)
        body = None if env.body is None else canonical_json(env.body).decode()
        out.append((env.seq, env.ts, env.prev, env.hash, body, env.seal))
    return out


def _parquet_rows(parquet: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    try:
        return con.execute(
            f"SELECT seq, ts, prev, hash, body, seal FROM read_parquet('{parquet}') ORDER BY seq"
        ).fetchall()
    finally:
        con.close()


def _sealed(ws: Workspace, kind: str) -> Path:
    (segment,) = ws.segments(kind)
    ws.writer(kind).close(compact=False)
    return segment


def test_bodies_with_every_awkward_character_compact_unchanged_and_typed(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    for i in range(2 * _COMPACT_BATCH + 3):
        ws.append("trial", _trial(f"k{i}", AWKWARD if i % 7 == 0 else f"answer {i}"))
    ws.append("note", {"text": AWKWARD, "empty": "", "none": None, "list": [1, "\t"]})
    for kind in ("trial", "note"):
        segment = _sealed(ws, kind)
        expected = _envelopes(segment)
        parquet = compact_segment(segment)
        assert _parquet_rows(parquet) == expected
        assert expected[-1][4] is None and expected[-1][5] == len(expected) - 1  # the seal
    (trials,) = ws.segments("trial")
    assert is_typed(trials)  # every record verified: stamped with its typed columns
    con = duckdb.connect()
    groups = con.execute(
        f"SELECT max(row_group_num_rows) FROM parquet_metadata('{trials}')"
    ).fetchone()
    answers = con.execute(f"SELECT typed_key FROM read_parquet('{trials}') WHERE seq = 1")
    assert groups is not None and groups[0] < 2 * _COMPACT_BATCH  # DuckDB's is approximate
    assert answers.fetchone() == ("k0",)


def test_an_envelope_no_tab_separated_row_can_hold_is_compacted_as_json(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    for i in range(3):
        ws.append("trial", _trial(f"k{i}", f"answer {i}"))
    segment = _sealed(ws, "trial")
    lines = segment.read_bytes().splitlines(keepends=True)
    env = orjson.loads(lines[1])
    env["ts"] = "2026-01-01\tT00"  # tampered: its hash no longer verifies either
    lines[1] = orjson.dumps(env, option=orjson.OPT_SORT_KEYS) + b"\n"
    segment.write_bytes(b"".join(lines))
    expected = _envelopes(segment)
    parquet = compact_segment(segment)
    assert _parquet_rows(parquet) == expected
    assert expected[1][1] == "2026-01-01\tT00"
    assert read_stamp(parquet) is None  # not every record verified: no stamp
