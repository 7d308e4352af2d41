"""Query rows as typed records (evals/store/rows.py), read from a real DuckDB query."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest
from pydantic import BaseModel

from evals.store.rows import fetch_dicts, record_fields, rows_as


class Pair(NamedTuple):
    a: int
    b: str | None = None


@dataclass
class PairDC:
    a: int
    b: str | None = None


class PairModel(BaseModel):
    a: int
    b: str | None = None


@pytest.mark.parametrize("record", [Pair, PairDC, PairModel])
def test_rows_become_records_taking_only_their_fields(record: type) -> None:
    con = duckdb.connect(":memory:")
    sql = "SELECT 1 AS a, 'x' AS b, 99 AS extra UNION ALL SELECT 2, NULL, 0 ORDER BY a"
    rows = fetch_dicts(con.execute(sql))
    assert rows == [{"a": 1, "b": "x", "extra": 99}, {"a": 2, "b": None, "extra": 0}]
    got = rows_as(record, rows)
    assert [(r.a, r.b) for r in got] == [(1, "x"), (2, None)]
    assert record_fields(record) == {"a": True, "b": False}


def test_a_missing_column_is_named_and_a_defaulted_one_may_be_absent() -> None:
    with pytest.raises(KeyError, match="Pair: the query has no column a"):
        rows_as(Pair, [{"b": "x"}])
    assert rows_as(Pair, [{"a": 3}]) == [Pair(3, None)]
    with pytest.raises(TypeError, match="not a NamedTuple"):
        rows_as(Path, [{}])
