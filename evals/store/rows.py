"""Query rows as typed records: the boundary between DuckDB's rows and the code.

A query returns rows keyed by column name; code past the query reads them through a
record (a NamedTuple, a dataclass or a pydantic model) whose fields are the columns it
needs, so a misspelt column fails at the query, not three calls later as a KeyError,
and mypy knows each value's type. :func:`rows_as` takes from each row exactly the
record's fields (a ``SELECT *`` may hold more columns); a field without a default that
the row lacks is an error naming the record and the column (a field with a default, such
as an outcome computed later, may be absent).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

R = TypeVar("R")

__all__ = ["fetch_dicts", "record_fields", "rows_as"]


def record_fields(record: type[Any]) -> dict[str, bool]:
    """{field name: required} of a NamedTuple, dataclass or pydantic model class."""
    if isinstance(record, type) and issubclass(record, BaseModel):
        return {name: f.is_required() for name, f in record.model_fields.items()}
    if dataclasses.is_dataclass(record):
        none = dataclasses.MISSING
        return {
            f.name: f.default is none and f.default_factory is none
            for f in dataclasses.fields(record)
            if f.init
        }
    fields = getattr(record, "_fields", None)  # a NamedTuple
    if fields is None:
        raise TypeError(f"{record.__name__} is not a NamedTuple, dataclass or pydantic model")
    defaults = getattr(record, "_field_defaults", {})
    return {name: name not in defaults for name in fields}


def rows_as(record: type[R], rows: Iterable[Mapping[str, Any]]) -> list[R]:
    """Each row as a `record` (its fields taken by name from the row's columns)."""
    fields = record_fields(record)
    out = []
    for row in rows:
        missing = [n for n, required in fields.items() if required and n not in row]
        if missing:
            raise KeyError(f"{record.__name__}: the query has no column {', '.join(missing)}")
        out.append(record(**{n: row[n] for n in fields if n in row}))
    return out


def fetch_dicts(cursor: Any) -> list[dict[str, Any]]:
    """A DuckDB cursor's remaining rows, each as {column: value}."""
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
