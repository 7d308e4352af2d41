"""Pairwise preferences: human choices between two answers, and judges' recorded
choices in both presentation orders (CSV or JSONL; ``.csv`` is read as CSV).

Fields of a line::

    id                    the pair's id (default: a hash of prompt and both answers)
    prompt                what both answers respond to        } required unless the
    answer_a, answer_b    the two answers                     } line only adds judge
                                                                outputs for a known id
    choice                the human choice: A | B | tie (also accepted: model_a /
                          model_b, a / b, 1 / 2, and tie variants such as "tie (bothbad)")
    annotator             who chose
    model_a, model_b      which models wrote the answers
    judge                 a judge's name, with its recorded outputs:
    judge_ab              its winner when A was shown first   (A | B | tie, named by the
    judge_ba              its winner when B was shown first    original answers, not by
                                                               position)
    judge_confidence_ab, judge_confidence_ba, judge_version   optional

A line holds a human choice, a judge's outputs, or both. Human choices become
``preference`` records; judge outputs become one ``pairwise_judgment`` per order
(source 'import'), so `evals calibrate --pairwise` can evaluate a judge run elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from evals.dataset.preferences import (
    Choice,
    Order,
    PairwiseJudgment,
    PairwisePreference,
    item_id_of,
    judgment_key,
)
from evals.importers.common import (
    ImportBatch,
    ImportFormatError,
    ImportOptions,
    ImportProblem,
    file_sha256,
    register_importer,
    validate_into,
)
from evals.importers.formats.labels import read_rows
from evals.schema import content_hash
from evals.store.workspace import Workspace

FORMAT = "pairwise"
CHOICES: dict[str, Choice] = {
    "a": "A",
    "model_a": "A",
    "1": "A",
    "answer_a": "A",
    "b": "B",
    "model_b": "B",
    "2": "B",
    "answer_b": "B",
    "tie": "tie",
    "draw": "tie",
    "equal": "tie",
    "0": "tie",
}


def to_choice(value: Any) -> Any:
    """Normalise a recorded choice to A, B or tie (ties of any flavour are ties)."""
    if value is None or not isinstance(value, str | int):
        return value
    text = str(value).strip().lower()
    if text.startswith("tie"):
        return "tie"
    if text not in CHOICES:
        raise ValueError(f"expected A, B or tie, got {value!r}")
    return CHOICES[text]


class PairwiseRow(BaseModel):
    """One line of a pairwise file."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    prompt: str | None = None
    answer_a: str | None = None
    answer_b: str | None = None
    choice: Choice | None = None
    annotator: str | None = None
    model_a: str | None = None
    model_b: str | None = None
    judge: str | None = None
    judge_version: str | None = None
    judge_ab: Choice | None = None
    judge_ba: Choice | None = None
    judge_confidence_ab: float | None = None
    judge_confidence_ba: float | None = None

    @field_validator("choice", "judge_ab", "judge_ba", mode="before")
    @classmethod
    def _choice(cls, value: Any) -> Any:
        return to_choice(value)

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _complete(self) -> PairwiseRow:
        has_pair = all(x is not None for x in (self.prompt, self.answer_a, self.answer_b))
        if self.choice is not None and not has_pair:
            raise ValueError("a human choice needs prompt, answer_a and answer_b")
        if self.judge is None and (self.judge_ab or self.judge_ba):
            raise ValueError("judge_ab/judge_ba need the judge's name in 'judge'")
        if self.judge is not None and not (self.judge_ab or self.judge_ba):
            raise ValueError("judge given without judge_ab or judge_ba")
        if self.choice is None and self.judge is None:
            raise ValueError("nothing to import: give choice and/or judge outputs")
        if self.id is None and not has_pair:
            raise ValueError("give id, or prompt, answer_a and answer_b")
        return self

    def item(self) -> str:
        """The pair's id."""
        return self.id or item_id_of(self.prompt or "", self.answer_a or "", self.answer_b or "")


@register_importer(
    FORMAT,
    "pairwise preferences (prompt, answer A/B, human choice) and "
    "judges' recorded outputs in both orders, CSV or JSONL",
)
def parse_pairwise(path: Path, options: ImportOptions, ws: Workspace) -> ImportBatch:
    """Parse preference and judge-output lines (every problem listed, nothing written)."""
    problems: list[ImportProblem] = []
    sha = file_sha256(path)
    batch = ImportBatch(FORMAT, path, sha)
    prefs: list[PairwisePreference] = []
    judgments: dict[str, PairwiseJudgment] = {}
    for n, raw in read_rows(path, problems):
        row = validate_into(PairwiseRow, raw, str(path), f"line {n}", problems)
        if row is None:
            continue
        if row.choice is not None:
            prefs.append(_preference(row, path, sha, n))
        for j in _judgments(row):
            if j.key in judgments:
                problems.append(
                    ImportProblem(
                        str(path),
                        f"line {n}",
                        "judge",
                        f"{j.judge} order {j.presentation} of item {j.item_id} given twice",
                    )
                )
            judgments[j.key] = j
    if not prefs and not judgments and not problems:
        problems.append(ImportProblem(str(path), "line 1", None, "no records"))
    if problems:
        raise ImportFormatError(problems)
    batch.other = {"preference": list(prefs), "pairwise_judgment": list(judgments.values())}
    batch.other = {k: v for k, v in batch.other.items() if v}
    items = {p.item_id for p in prefs}
    batch.summary.append(
        f"{len(prefs)} human choices on {len(items)} pairs; "
        f"{len(judgments)} judge outputs from "
        f"{len({j.judge for j in judgments.values()})} judge(s)"
    )
    return batch


def _preference(row: PairwiseRow, path: Path, sha: str, n: int) -> PairwisePreference:
    item = row.item()
    assert row.choice is not None and row.prompt is not None
    return PairwisePreference(
        id=content_hash({"file": sha, "line": n, "item": item}),
        item_id=item,
        prompt=row.prompt,
        answer_a=row.answer_a or "",
        answer_b=row.answer_b or "",
        choice=row.choice,
        annotator=row.annotator,
        model_a=row.model_a,
        model_b=row.model_b,
        source=f"{path.name}:{n}",
    )


def _judgments(row: PairwiseRow) -> list[PairwiseJudgment]:
    if row.judge is None:
        return []
    version = row.judge_version or "imported"
    out = []
    orders: tuple[tuple[Order, Choice | None, float | None], ...] = (
        ("AB", row.judge_ab, row.judge_confidence_ab),
        ("BA", row.judge_ba, row.judge_confidence_ba),
    )
    for order, winner, conf in orders:
        if winner is not None:
            out.append(
                PairwiseJudgment(
                    key=judgment_key(row.item(), row.judge, version, order),
                    item_id=row.item(),
                    judge=row.judge,
                    judge_version=version,
                    presentation=order,
                    winner=winner,
                    confidence=conf,
                    source="import",
                )
            )
    return out
