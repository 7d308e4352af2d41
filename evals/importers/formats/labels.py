"""Human labels from CSV or JSONL (``.csv`` is read as CSV, anything else as JSONL).

Columns (CSV header or JSON keys)::

    trial_key                 the trial rated; or locate it with
    run_id, case_id           ... plus repetition and/or model when the run has several
    repetition, model         trials of that case
    reviewer        required  who rated it
    helpful         required  yes/no, true/false, 1/0 (the answer was helpful)
    correctness               correct | partly | wrong
    corrected_answer, comment free text
    submitted_at              ISO timestamp (default: now)
    active_seconds            handling time, when known
    id                        label id (default: a hash of trial, reviewer and line)

Labels land in the review queue ``import:<file name>`` with the trial key as the item,
arm 'assisted', action 'submit', so the dashboard, gates, comparisons and `evals
calibrate` read them like labels from the app. Every trial must already be in the
workspace (import or run it first); an unknown or ambiguous trial is an error naming the
line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, field_validator

from evals.importers.common import (
    ImportBatch,
    ImportFormatError,
    ImportOptions,
    ImportProblem,
    file_sha256,
    parse_time,
    register_importer,
    validate_into,
)
from evals.importers.formats.jsonl import read_jsonl
from evals.schema import Label, content_hash, utcnow
from evals.store.query import query
from evals.store.rows import rows_as
from evals.store.workspace import Workspace

FORMAT = "labels"
TRUE = {"yes", "y", "true", "t", "1", "helpful"}
FALSE = {"no", "n", "false", "f", "0", "unhelpful", "not helpful"}


class LabelRow(BaseModel):
    """One imported label (CSV cells arrive as text; blanks count as missing)."""

    model_config = ConfigDict(extra="forbid")

    trial_key: str | None = None
    run_id: str | None = None
    case_id: str | None = None
    repetition: int | None = None
    model: str | None = None
    reviewer: str
    helpful: bool
    correctness: Literal["correct", "partly", "wrong"] | None = None
    corrected_answer: str | None = None
    comment: str | None = None
    submitted_at: str | None = None
    active_seconds: float | None = None
    id: str | None = None

    @field_validator("helpful", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip().lower()
            if text in TRUE:
                return True
            if text in FALSE:
                return False
            raise ValueError(f"expected yes/no, true/false or 1/0, got {value!r}")
        return value

    @field_validator("case_id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def read_rows(path: Path, problems: list[ImportProblem]) -> list[tuple[int, Any]]:
    """(line number, raw row) from a CSV (header line 1) or JSONL file."""
    if path.suffix.lower() != ".csv":
        return read_jsonl(path, problems)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(ImportProblem(str(path), f"byte {exc.start}", None, "not UTF-8 text"))
        return []
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for row in reader:
        if None in row:  # more cells than header columns
            problems.append(
                ImportProblem(
                    str(path),
                    f"line {reader.line_num}",
                    None,
                    f"{len(row[None])} cell(s) beyond the header",
                )
            )
            continue
        rows.append(
            (
                reader.line_num,
                {k.strip(): v for k, v in row.items() if k and v is not None and v.strip() != ""},
            )
        )
    return rows


@register_importer(FORMAT, "human labels (helpful yes/no per trial) from CSV or JSONL")
def parse_labels(path: Path, options: ImportOptions, ws: Workspace) -> ImportBatch:
    """Parse labels and resolve each to a trial already in the workspace."""
    problems: list[ImportProblem] = []
    rows = []
    for n, raw in read_rows(path, problems):
        row = validate_into(LabelRow, raw, str(path), f"line {n}", problems)
        if row is not None:
            rows.append((n, row))
    if not rows and not problems:
        problems.append(ImportProblem(str(path), "line 1", None, "no labels"))
    trials = _trials(ws)
    sha = file_sha256(path)
    batch = ImportBatch(FORMAT, path, sha)
    for n, row in rows:
        trial = _resolve(row, trials, str(path), n, problems)
        if trial is not None:
            batch.labels.append(_label(row, trial, path, sha, n))
    if problems:
        raise ImportFormatError(problems)
    helpful = sum(1 for lb in batch.labels if lb.helpful)
    batch.summary.append(
        f"{len(batch.labels)} labels on "
        f"{len({lb.trial_key for lb in batch.labels})} trials by "
        f"{len({lb.reviewer for lb in batch.labels})} reviewer(s); "
        f"{helpful} rated helpful"
    )
    return batch


class LabelledTrial(NamedTuple):
    """A trial a label line can name (a row of the ``trials`` view)."""

    key: str
    """The trial."""
    run_id: str
    """Its run."""
    case_id: str
    """Its case."""
    repetition: int
    """Its repetition."""
    model_alias: str
    """The model that answered."""


def _trials(ws: Workspace) -> list[LabelledTrial]:
    rows = query(ws, f"SELECT {', '.join(LabelledTrial._fields)} FROM trials")
    return rows_as(LabelledTrial, rows)


def _resolve(
    row: LabelRow, trials: list[LabelledTrial], file: str, n: int, problems: list[ImportProblem]
) -> LabelledTrial | None:
    where = f"line {n}"
    if row.trial_key:
        found = [t for t in trials if t.key == row.trial_key]
        if not found:
            problems.append(
                ImportProblem(
                    file, where, "trial_key", f"no trial {row.trial_key} in the workspace"
                )
            )
        return found[0] if found else None
    if not (row.run_id and row.case_id):
        problems.append(
            ImportProblem(
                file, where, "trial_key", "missing (give trial_key, or run_id and case_id)"
            )
        )
        return None
    found = [
        t
        for t in trials
        if t.run_id == row.run_id
        and t.case_id == row.case_id
        and row.repetition in (None, t.repetition)
        and row.model in (None, t.model_alias)
    ]
    if len(found) == 1:
        return found[0]
    if not found:
        problems.append(
            ImportProblem(
                file, where, "case_id", f"no trial of case {row.case_id} in run {row.run_id}"
            )
        )
    else:
        problems.append(
            ImportProblem(
                file,
                where,
                "case_id",
                f"{len(found)} trials of case {row.case_id} in run {row.run_id}; "
                "add repetition and/or model (or give trial_key)",
            )
        )
    return None


def _label(row: LabelRow, trial: LabelledTrial, path: Path, sha: str, n: int) -> Label:
    return Label(
        id=row.id
        or content_hash({"file": sha, "line": n, "trial": trial.key, "reviewer": row.reviewer}),
        queue_id=f"import:{path.name}",
        item_id=trial.key,
        trial_key=trial.key,
        case_id=trial.case_id,
        reviewer=row.reviewer,
        helpful=row.helpful,
        correctness=row.correctness,
        corrected_answer=row.corrected_answer,
        comment=row.comment,
        submitted_at=parse_time(row.submitted_at) or utcnow(),
        active_seconds=row.active_seconds,
    )
