"""Helpers every model uses: UTC time, canonical JSON, content hashes, Record."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict


def utcnow() -> datetime:
    """Timezone-aware now; every timestamp in the store is UTC."""
    return datetime.now(UTC)


def canonical_json(value: Any) -> bytes:
    """Key-order and whitespace independent JSON: the input to every content hash."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def content_hash(value: Any, length: int = 16) -> str:
    """Stable short sha256 of a JSON-able value (models are dumped in JSON mode first)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return hashlib.sha256(canonical_json(value)).hexdigest()[:length]


class Record(BaseModel):
    """Base of every serialized model: unknown fields are errors, docstrings are kept."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
