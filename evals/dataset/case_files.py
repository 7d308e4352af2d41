"""Reading a golden set's JSONL files: cases.jsonl's lines and each case's fixture file.

Every line is checked as it is read (UTF-8, JSON object, sizes: evals.dataset.limits),
recording a problem (file, line) for a bad one, and can be fed to a digest on the way
(the raw-bytes digest a CaseRef keeps: evals.dataset.case_refs).

Fixture files are optional, one per case (``fixtures/<case_id>.jsonl``). FixtureFiles
lists the folder once (and again only when it changes), so a case without one costs a
set lookup instead of building a Path and failing two stats: at 100,000 cases that was
a third of the time of reading a case back during a run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import orjson
from pydantic import ValidationError

from evals.dataset.limits import MAX_FIXTURE_BYTES, check_sizes, inside_set, read_record_lines
from evals.schema import ToolFixture
from evals.yamlfile import Problem, field_path

_FRESH_S = 1.0
"""A folder changed less than this before it was listed is listed again on next use: a
file created in the same tick of the file system's clock leaves its mtime unchanged."""


class Digest(Protocol):
    """What a line is fed to (hashlib's objects)."""

    def update(self, data: bytes, /) -> None:
        """Add bytes."""


class FixtureFiles:
    """The names in a set's ``fixtures/`` folder, listed on first use and again whenever
    the folder's mtime (or identity) changes: one stat a lookup. A name listed is read
    as before (symlinks, containment and all are checked then); one not listed has no
    file. Names are compared case-folded, so a case-insensitive file system finds what
    it did (safe case ids are ASCII)."""

    def __init__(self, root: Path) -> None:
        self._dir = str(root / "fixtures")
        self._stamp: tuple[int, int, int] | None = None
        self._names: frozenset[str] = frozenset()

    def may_exist(self, case_id: str) -> bool:
        """Whether `case_id` may have a fixture file (False: it surely has none)."""
        try:
            st = os.stat(self._dir)
            stamp: tuple[int, int, int] | None = (st.st_dev, st.st_ino, st.st_mtime_ns)
        except OSError:
            stamp = None
        if stamp is None:
            self._stamp, self._names = None, frozenset()
            return False
        if stamp != self._stamp:
            try:
                names = frozenset(n.casefold() for n in os.listdir(self._dir))
            except OSError:
                names = frozenset()
            self._names = names
            recent = time.time_ns() - stamp[2] < _FRESH_S * 1e9
            self._stamp = None if recent else stamp  # recent: list again next time
        return f"{case_id}.jsonl".casefold() in self._names


def validation_problems(
    exc: ValidationError, file: str, line: int | None, prefix: str = ""
) -> Iterator[Problem]:
    """One Problem per pydantic error, located at file:line: field."""
    for err in exc.errors():
        yield Problem(file, line, prefix + (field_path(err["loc"]) or "(record)"), err["msg"])


def read_jsonl(
    root: Path,
    rel: str,
    problems: list[Problem],
    required: bool = True,
    digest: Digest | None = None,
) -> Iterator[tuple[int, int, bytes, Any]]:
    """Yield (line number, byte offset, raw line, parsed object), streaming (one line in
    memory), recording a problem for each bad line; the file must resolve inside the set.
    `digest`: fed every line read, blank or bad ones included."""
    path = root / rel
    if not path.exists() and not path.is_symlink():
        if required:
            problems.append(Problem(rel, None, None, "file is missing"))
        return
    if not inside_set(root, path):
        problems.append(Problem(rel, None, None, "resolves outside the golden set: refused"))
        return
    try:
        f = path.open("rb")
    except OSError as exc:
        problems.append(Problem(rel, None, None, f"cannot read ({exc.strerror})"))
        return
    with f:
        lines: Iterable[tuple[int, int, bytes]] = read_record_lines(f, rel, problems)
        if digest is not None:
            lines = _fed(lines, digest)
        yield from parse_lines(lines, rel, problems)


def _fed(
    lines: Iterable[tuple[int, int, bytes]], digest: Digest
) -> Iterator[tuple[int, int, bytes]]:
    for line in lines:
        digest.update(line[2])
        yield line


def parse_lines(
    lines: Iterable[tuple[int, int, bytes]], rel: str, problems: list[Problem]
) -> Iterator[tuple[int, int, bytes, Any]]:
    """The lines' JSON objects (blank lines skipped; a bad line is a problem)."""
    for number, offset, raw in lines:
        if not raw.strip():
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(rel, number, None, f"not UTF-8 (byte {exc.start})"))
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            problems.append(Problem(rel, number, None, f"bad JSON: {exc}"))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(rel, number, None, "expected a JSON object"))
            continue
        if not check_sizes(obj, len(raw), rel, number, problems):
            continue
        yield number, offset, raw, obj


def load_fixtures(
    root: Path,
    case_id: str,
    problems: list[Problem],
    files: FixtureFiles | None = None,
    digest: Digest | None = None,
) -> list[ToolFixture]:
    """The case's fixture file (optional; `case_id` is a safe name, checked before).
    `files`: the folder's listing (a case without a file is then not even stat'ed);
    `digest`: fed the file's lines."""
    if files is not None and not files.may_exist(case_id):
        return []
    rel = f"fixtures/{case_id}.jsonl"
    fixtures = []
    total = 0
    for number, _offset, _raw, obj in read_jsonl(root, rel, problems, False, digest):
        total += len(orjson.dumps(obj))
        if total > MAX_FIXTURE_BYTES:
            problems.append(
                Problem(
                    rel,
                    number,
                    None,
                    f"the case's fixtures exceed {MAX_FIXTURE_BYTES:,} bytes in all "
                    "(they are copied into every trial of the case)",
                )
            )
            break
        try:
            fixtures.append(ToolFixture.model_validate(obj))
        except ValidationError as exc:
            problems.extend(validation_problems(exc, rel, number))
    return fixtures
