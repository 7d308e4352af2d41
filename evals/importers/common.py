"""What every importer shares: problems that name the record, the batch written at the
end, the registry of formats.

An importer parses a whole file into an :class:`ImportBatch` without touching the
store; only when every record parsed does :func:`write_batch` append it. So a bad file
writes nothing, and the run manifest plus an ``import`` record are appended last, after
the trials: a crash in the middle of writing leaves trials without a run manifest, and
re-importing the same file writes the same trial keys again (the views de-duplicate
keyed records), which completes it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import orjson
from pydantic import BaseModel, Field, ValidationError

from evals import registry
from evals.dataset.limits import largest_string
from evals.errors import InputError, Problem
from evals.schema import (
    Case,
    Label,
    Question,
    Record,
    RunManifest,
    Trial,
    Verdict,
    content_hash,
    utcnow,
)
from evals.store.query import ViewSpec, register_view
from evals.store.workspace import Workspace

if TYPE_CHECKING:
    from evals.importers.golden_export import GoldenExport

# --------------------------------------------------------------------------- problems


@dataclass(frozen=True, init=False)
class ImportProblem(Problem):
    """One bad record: where it is (file, line or record index and id), which field, what.

    ``where`` is ``line N`` (a JSONL or CSV line: printed as every problem is,
    ``file:N: field: message``) or the record in words, printed in the line's place
    (``file: simulation 3 (task_id 12): field: message``: a whole-file JSON format has
    records, not lines)."""

    where: str
    """The record: ``line N``, ``simulation N (task_id ID)``, ``top level``, ..."""

    def __init__(self, file: str, where: str, field: str | None, message: str) -> None:
        found = re.match(r"line (\d+)", where)
        for name, value in (
            ("file", file),
            ("line", int(found.group(1)) if found else None),
            ("field", field),
            ("message", message),
            ("where", where),
        ):
            object.__setattr__(self, name, value)  # frozen: set once, here

    def __str__(self) -> str:
        if self.line is not None and self.where == f"line {self.line}":
            return super().__str__()
        return f"{self.file}: {self.where}: {self.field + ': ' if self.field else ''}{self.message}"


class ImportFormatError(InputError):
    """A file that did not import; holds every problem found (nothing was written)."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        files = {p.file for p in problems}
        source = f" in {files.pop()}" if len(files) == 1 else ""
        super().__init__(
            problems=problems, summary=f"{len(problems)} problem(s){source}; nothing written"
        )


def validation_problems(
    exc: ValidationError, file: str, where: str, prefix: str = ""
) -> list[ImportProblem]:
    """One problem per pydantic error, the field written as a path (``messages[3].role``)."""
    out = []
    for err in exc.errors():
        path = prefix
        for part in err["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        out.append(ImportProblem(file, where, path or None, err["msg"]))
    return out


M = TypeVar("M", bound=BaseModel)


MAX_IMPORT_RECORD_BYTES = 8 * 1024 * 1024
"""Largest source record imported: a stored record past DuckDB's maximum JSON object
size (16 MB) made every query of the workspace fail, so it is refused here, naming its
largest field."""


def validate_into(
    model: type[M], raw: Any, file: str, where: str, problems: list[ImportProblem]
) -> M | None:
    """Validate one record; its problems are appended (naming file, record and field)."""
    size = len(orjson.dumps(raw))
    if size > MAX_IMPORT_RECORD_BYTES:
        field_size, field = largest_string(raw)
        problems.append(
            ImportProblem(
                file,
                where,
                field or None,
                f"record of {size:,} bytes is larger than the {MAX_IMPORT_RECORD_BYTES:,} "
                f"allowed (largest field: {field_size:,} bytes)",
            )
        )
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, file, where))
        return None


def load_json_file(path: Path) -> Any:
    """Parse a whole JSON file; a syntax error names its line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            [ImportProblem(str(path), f"byte {exc.start}", None, "not UTF-8 text")]
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            [
                ImportProblem(
                    str(path),
                    f"line {exc.lineno}",
                    None,
                    f"invalid JSON: {exc.msg} (column {exc.colno})",
                )
            ]
        ) from None


def file_sha256(path: Path) -> str:
    """Content hash of the source file (identifies a recording across imports)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def slug(text: str) -> str:
    """A run-id-safe version of a name (letters, digits, dot, dash)."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower()[:48] or "x"


def parse_time(value: str | None) -> datetime | None:
    """An ISO timestamp from a results file; naive ones are taken as UTC."""
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- records


class ImportedCase(Record):
    """A case that came with an imported run (imported runs have no golden-set folder)."""

    key: str
    """``<dataset_hash>:<case id>``: unique across datasets."""
    dataset: str
    """Dataset name the run was imported under (e.g. 'tau2-retail')."""
    dataset_hash: str
    """Content hash of the imported tasks."""
    case: Case
    """The case: input, reference, key facts and required tools as the source states them."""
    question: Question
    """The question the case answers (imports have one per domain or source)."""


class ImportRecord(Record):
    """One completed import: what file, in what format, produced which run and records."""

    id: str
    """Import id: hash of format, file content and options."""
    format: str
    """Importer used (jsonl, tau-bench, tau2-bench, pairwise, labels)."""
    source: str
    """File imported (as given on the command line)."""
    sha256: str
    """Content hash of the file."""
    run_id: str | None = None
    """Run created (None for label and preference imports)."""
    counts: dict[str, int] = Field(default_factory=dict)
    """Records written, per kind."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Command-line options that shaped the import (model alias, prompt name, ...)."""
    imported_at: datetime = Field(default_factory=utcnow)
    """When the import finished parsing."""


register_view(ViewSpec("import", "imports", ImportRecord, key="id"))


@dataclass
class ImportOptions:
    """What the user asked for on the command line."""

    run_id: str | None = None
    """Run id to create (default derived from the format, model and file hash)."""
    model_alias: str | None = None
    """Model alias to record (default: the model named in the file)."""
    prompt: str | None = None
    """Prompt version name to record (default: from the file, or 'recorded')."""
    dataset: str | None = None
    """Dataset name to record (default from the source, e.g. 'tau2-retail')."""

    def as_dict(self) -> dict[str, Any]:
        """The options that were set (part of the import's identity)."""
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass
class ImportBatch:
    """Everything one file imports into, built in memory before anything is written."""

    format: str
    source: Path
    sha256: str
    run: RunManifest | None = None
    trials: list[Trial] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    cases: list[ImportedCase] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    other: dict[str, list[BaseModel]] = field(default_factory=dict)
    """Further record kinds (e.g. 'preference', 'pairwise_judgment') and their records."""
    summary: list[str] = field(default_factory=list)
    """Lines the CLI prints after writing (pass rates, counts)."""
    golden: GoldenExport | None = None
    """The run's cases as a golden-set folder, written before the records."""

    def kinds(self) -> list[tuple[str, list[Any]]]:
        """Records per kind in write order: the run manifest comes last (see module doc)."""
        out: list[tuple[str, list[Any]]] = [
            ("imported_case", list(self.cases)),
            ("trial", list(self.trials)),
            ("verdict", list(self.verdicts)),
            ("label", list(self.labels)),
            *((kind, list(recs)) for kind, recs in self.other.items()),
            ("run", [self.run] if self.run else []),
        ]
        return [(k, recs) for k, recs in out if recs]

    def counts(self) -> dict[str, int]:
        """Number of records per kind."""
        return {kind: len(recs) for kind, recs in self.kinds()}


class Importer(Protocol):
    """Parses one file into a batch; reads the workspace only (e.g. to resolve trials)."""

    def __call__(self, path: Path, options: ImportOptions, ws: Workspace) -> ImportBatch: ...


@dataclass(frozen=True)
class ImporterInfo:
    """A registered import format."""

    name: str
    description: str
    parse: Importer


IMPORTERS: dict[str, ImporterInfo] = registry.entries("importer")
"""Import formats registered in-process by name; `evals import FORMAT` also finds
installed ones (entry-point group ``agent_evals.importer``) and 'module:function'."""


def register_importer(name: str, description: str) -> Callable[[Importer], Importer]:
    """Decorator: make a parse function available as `evals import <name>`."""

    def deco(fn: Importer) -> Importer:
        registry.register("importer", name, ImporterInfo(name, description, fn))
        registry.tag(fn, registry.RegistryInfo("importer", name, {"description": description}))
        return fn

    return deco


def _as_info(name: str, obj: Any) -> ImporterInfo:
    """An importer given by an entry point or import path: its registered info, or a
    bare parse function described by the first line of its docstring."""
    if isinstance(obj, ImporterInfo):
        return obj
    info = registry.registry_info(obj)
    if info is not None and info.kind == "importer" and info.name in IMPORTERS:
        return IMPORTERS[info.name]
    if not callable(obj):
        raise UnknownFormatError(f"import format {name!r} is not a parse function")
    doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    return ImporterInfo(name, doc[0] if doc else "", obj)


registry.set_adapter("importer", _as_info)


class UnknownFormatError(LookupError):
    """`evals import FORMAT` names no registered, installed or importable format."""


def find_importer(fmt: str) -> ImporterInfo:
    """The import format `fmt` names: registered, installed, or 'module:function'.
    Raises UnknownFormatError (one line) for an unknown or unloadable one."""
    try:
        found = registry.lookup("importer", fmt)
    except registry.RegistryError as exc:
        if exc.reason == "unknown":
            raise UnknownFormatError(
                f"unknown import format {fmt!r}; formats: {', '.join(exc.known)} "
                "(or give 'package.module:function')"
            ) from None
        raise UnknownFormatError(f"import format {fmt!r}: {exc.cause}") from None
    return _as_info(fmt, found)


# --------------------------------------------------------------------------- writing


def import_id(batch: ImportBatch, options: ImportOptions) -> str:
    """Identity of an import: same format, file content and options -> same id."""
    return content_hash(
        {"format": batch.format, "sha256": batch.sha256, "options": options.as_dict()}
    )


def previous_import(ws: Workspace, batch: ImportBatch) -> ImportRecord | None:
    """An earlier completed import of the same file content in the same format."""
    for body in ws.iter_bodies("import"):
        if body.get("sha256") == batch.sha256 and body.get("format") == batch.format:
            return ImportRecord.model_validate(body)
    return None


def write_batch(ws: Workspace, batch: ImportBatch, options: ImportOptions) -> ImportRecord:
    """Append a fully parsed batch: every kind, then the run manifest, then the import
    record (the marker that the import completed)."""
    record = ImportRecord(
        id=import_id(batch, options),
        format=batch.format,
        source=str(batch.source),
        sha256=batch.sha256,
        run_id=batch.run.run_id if batch.run else None,
        counts=batch.counts(),
        options=options.as_dict(),
    )
    if batch.golden is not None:
        batch.golden.write()
    for kind, records in batch.kinds():
        ws.writer(kind).append_many(records)
    ws.writer("import", durable=True).append(record)
    ws.close()
    return record
