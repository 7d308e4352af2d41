"""What a golden set may hold: safe case ids, files inside the set, bounded sizes.

A golden set is input, possibly from someone else; the runner copies cases and their
fixtures into every trial record, and DuckDB refuses a JSON record over its maximum
object size (16 MB by default), which made a whole workspace unreadable. So:

* a case id names a fixture file (``fixtures/<id>.jsonl``): it must be a plain name
  (letters, digits, ``_``, ``-``, ``.``; not starting with a dot; no separators), so an
  id such as ``../../x`` or ``/abs/x`` cannot read a file outside the set;
* every file read from the set must resolve (symlinks followed) inside the set's folder;
* a string field is at most ``MAX_FIELD_BYTES``, a line (one case, one fixture) at most
  ``MAX_RECORD_BYTES``, and a case's fixtures together at most ``MAX_FIXTURE_BYTES``;
  a line past ``MAX_LINE_READ`` is not even parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from evals.yamlfile import Problem

MAX_FIELD_BYTES = 256 * 1024
"""Largest string value in a case or fixture (UTF-8 bytes)."""
MAX_RECORD_BYTES = 1024 * 1024
"""Largest line of cases.jsonl or of a fixtures file."""
MAX_FIXTURE_BYTES = 4 * 1024 * 1024
"""Largest total of one case's fixture lines (they are copied into its trials)."""
MAX_LINE_READ = 64 * 1024 * 1024
"""A longer line is refused unparsed (its fields are not named)."""
MAX_ID_CHARS = 128
"""Longest case id."""

_SAFE_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


def check_case_id(case_id: str) -> str | None:
    """Why a case id is not a safe name, or None when it is."""
    if len(case_id) > MAX_ID_CHARS:
        return f"case id longer than {MAX_ID_CHARS} characters"
    if not _SAFE_ID.fullmatch(case_id) or ".." in case_id:
        return (
            f"case id {case_id[:80]!r} is not a safe name (letters, digits, '_', '-', '.'; "
            "no path separators, no leading dot, no '..')"
        )
    return None


def inside_set(root: Path, path: Path) -> bool:
    """Whether `path` resolves (symlinks followed) inside the set's folder."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def read_record_lines(
    f: IO[bytes], rel: str, problems: list[Problem]
) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, line) of a JSONL file, a line read at most
    MAX_LINE_READ bytes at a time: a longer line is a problem and is skipped unread."""
    offset = 0
    number = 0
    while True:
        raw = f.readline(MAX_LINE_READ + 1)
        if not raw:
            return
        number += 1
        start = offset
        offset += len(raw)
        if len(raw) > MAX_LINE_READ and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line
                raw = f.readline(MAX_LINE_READ)
                offset += len(raw)
            problems.append(
                Problem(rel, number, None, f"record larger than {MAX_LINE_READ:,} bytes: refused")
            )
            continue
        yield number, start, raw


def largest_string(obj: Any, path: list[str] | None = None) -> tuple[int, str]:
    """(UTF-8 size, dotted path) of the largest string in a parsed record."""
    best = (0, "")
    stack: list[tuple[Any, list[str]]] = [(obj, path or [])]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            size = len(value) if value.isascii() else len(value.encode("utf-8"))
            if size > best[0]:
                best = (size, ".".join(where))
        elif isinstance(value, dict):
            stack.extend((v, [*where, str(k)]) for k, v in value.items())
            # Keys are strings too: a huge key counts like a huge value.
            stack.extend((k, [*where, "(key)"]) for k in value if isinstance(k, str))
        elif isinstance(value, list):
            stack.extend((v, [*where, str(i)]) for i, v in enumerate(value))
    return best


def check_sizes(obj: Any, raw_size: int, rel: str, number: int, problems: list[Problem]) -> bool:
    """Record a problem when a field or the record is too large; True when within bounds."""
    if raw_size <= MAX_FIELD_BYTES:
        return True  # no decoded string is longer than the JSON text holding it
    size, where = largest_string(obj)
    if size > MAX_FIELD_BYTES:
        problems.append(
            Problem(
                rel,
                number,
                where or None,
                f"value of {size:,} bytes is larger than the {MAX_FIELD_BYTES:,} allowed "
                "for a field (keep large documents out of the golden set)",
            )
        )
        return False
    if raw_size > MAX_RECORD_BYTES:
        problems.append(
            Problem(
                rel,
                number,
                where or None,
                f"record of {raw_size:,} bytes is larger than the {MAX_RECORD_BYTES:,} allowed "
                f"(largest field: {size:,} bytes)",
            )
        )
        return False
    return True
