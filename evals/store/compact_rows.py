"""The rows file a compaction hands to DuckDB (evals.store.workspace.compact_segment):
one flat row per envelope of a sealed JSONL segment, checked as every reader checks it.

Tab-separated rows go through DuckDB's CSV reader with a buffer sized to the longest
line; JSON rows (only for an envelope a tab-separated row cannot carry: a tampered one)
through its JSON reader, which buffers up to 32 MB of the file whatever it is told, and
that was most of what grew with a run's size in `evals run`'s peak RSS (issue 18).
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from evals.schema import canonical_json
from evals.store.segment_read import GENESIS, Envelope, read_segment

_UNSAFE = re.compile(r"[\t\n\r]")
"""Characters a tab-separated row field cannot hold."""
_ROW_COLUMNS = "{seq: 'BIGINT', ts: 'VARCHAR', prev: 'VARCHAR', hash: 'VARCHAR', " + (
    "body: 'VARCHAR', seal: 'BIGINT'}"
)
_MIN_LINE = 1 << 20
"""Smallest line size (and half the buffer) DuckDB's CSV reader is given for the rows."""


def tsv_row(env: Envelope, body: bytes | None) -> bytes | None:
    """One envelope as a tab-separated line (seq, ts, prev, hash, body, seal; an empty
    field is NULL), or None when a field cannot be one (only a tampered envelope: its
    segment's rows are then written as JSON). Canonical JSON never holds a raw tab,
    newline or carriage return (JSON escapes control characters) and is never empty."""
    text = (env.ts, env.prev, env.hash)
    if type(env.seq) is not int or not (env.seal is None or type(env.seal) is int):
        return None
    if not all(isinstance(v, str) and v and not _UNSAFE.search(v) for v in text):
        return None
    seal = b"" if env.seal is None else str(env.seal).encode()
    fields = [str(env.seq).encode(), *(v.encode() for v in text), body or b"", seal]
    return b"\t".join(fields) + b"\n"


def write_rows(path: Path, rows: Path, tsv: bool) -> tuple[bool, int] | None:
    """Write a JSONL segment's envelopes to `rows`, one flat row a line (tab-separated or
    JSON); returns (every record verifies and chains, longest line), None when a row
    cannot be tab-separated."""
    intact, prev, longest = True, GENESIS, 0
    with open(rows, "wb") as out:
        for env in read_segment(path):
            if not isinstance(env, Envelope):
                intact = False
                continue
            intact = intact and env.prev == prev and env.verifies()
            prev = env.hash
            body = None if env.body is None else canonical_json(env.body)
            if tsv:
                line = tsv_row(env, body)
                if line is None:
                    return None
            else:
                row = {"seq": env.seq, "ts": env.ts, "prev": env.prev, "hash": env.hash}
                text = None if body is None else body.decode()
                line = orjson.dumps({**row, "body": text, "seal": env.seal}) + b"\n"
            longest = max(longest, len(line))
            out.write(line)
    return intact, longest


def rows_sql(rows: Path, tsv: bool, longest: int) -> str:
    """SELECT seq, ts, prev, hash, body, seal of the rows file. Tab-separated rows go
    through DuckDB's CSV reader with a buffer sized to the longest line: its JSON
    reader buffers up to 32 MB of the file whatever it is told (+35 MB of RSS for
    10,000 trials against +10 MB), and that was most of what grew with a run's size."""
    source = str(rows).replace("'", "''")
    if not tsv:
        return (
            f"SELECT seq, ts, prev, hash, body, seal FROM read_json('{source}', "
            f"format = 'newline_delimited', maximum_object_size = {1 << 30}, "
            f"columns = {_ROW_COLUMNS})"
        )
    line = max(_MIN_LINE, longest + 2)
    return (
        f"SELECT seq, ts, prev, hash, body, seal FROM read_csv('{source}', delim = '\\t', "
        "quote = '', escape = '', header = false, auto_detect = false, "
        f"columns = {_ROW_COLUMNS}, max_line_size = {line}, buffer_size = {2 * line})"
    )
