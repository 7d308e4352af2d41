"""Golden sets: loading and validating `datasets/<name>/`.

Format (documented in the README)::

    datasets/<name>/
      dataset.yaml            DatasetManifest: name, description, licence, tools
      questions.yaml          a list of Question (the nodes of the review)
      cases.jsonl             one Case per line (without fixtures)
      fixtures/<case_id>.jsonl  the case's recorded tool observations, one ToolFixture a line

Validation collects every problem (file, line, field) instead of stopping at the first,
and never writes anything. The content hash is over the parsed content, so key order
and whitespace do not change it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import BaseModel, ValidationError

from evals.schema import Case, DatasetManifest, Question, ToolFixture, content_hash


@dataclass(frozen=True)
class Problem:
    """One validation error, located precisely."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


class GoldenSetError(Exception):
    """A golden set that does not validate; holds every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class GoldenSet:
    """A validated golden set."""

    path: Path
    manifest: DatasetManifest
    questions: dict[str, Question]
    cases: list[Case] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The set's name."""
        return self.manifest.name

    @cached_property
    def content_hash(self) -> str:
        """Hash of everything a replay depends on; independent of formatting."""
        return content_hash(
            {
                "manifest": self.manifest.model_dump(mode="json"),
                "questions": [q.model_dump(mode="json") for q in self.questions.values()],
                "cases": [case_hash(c) for c in self.cases],
            }
        )

    def case(self, case_id: str) -> Case:
        """A case by id."""
        for c in self.cases:
            if c.id == case_id:
                return c
        raise KeyError(case_id)

    def question_for(self, case: Case) -> Question:
        """The question a case answers."""
        return self.questions[case.question_id]


def case_hash(case: Case) -> str:
    """Identity of a case's content (input, reference, fixtures, everything)."""
    return content_hash(case.model_dump(mode="json"))


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(record)"


def _validation_problems(
    exc: ValidationError, file: str, line: int | None, prefix: str = ""
) -> Iterator[Problem]:
    for err in exc.errors():
        yield Problem(file, line, prefix + _field_path(err["loc"]), err["msg"])


def _read_text(path: Path, rel: str, problems: list[Problem]) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        problems.append(Problem(rel, None, None, "file is missing"))
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        problems.append(Problem(rel, line, None, f"not UTF-8 (byte {exc.start})"))
    return None


def _read_jsonl(path: Path, rel: str, problems: list[Problem]) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed object), recording a problem for each bad line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(rel, None, None, "file is missing"))
        return
    for number, raw in enumerate(data.split(b"\n"), start=1):
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
        yield number, obj


def _load_yaml_model(
    path: Path, rel: str, model: type[BaseModel], problems: list[Problem], many: bool
) -> Any:
    text = _read_text(path, rel, problems)
    if text is None:
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.append(Problem(rel, mark.line + 1 if mark else None, None, f"bad YAML: {exc}"))
        return None
    items = data if many else [data]
    if not isinstance(items, list):
        problems.append(Problem(rel, None, None, "expected a list"))
        return None
    out = []
    for i, item in enumerate(items):
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            prefix = f"[{i}]." if many else ""
            problems.extend(_validation_problems(exc, rel, None, prefix))
    return out if many else (out[0] if out else None)


def load_golden_set(path: str | Path) -> GoldenSet:
    """Load and validate a golden set; raises GoldenSetError listing every problem."""
    root = Path(path)
    problems: list[Problem] = []
    if not root.is_dir():
        raise GoldenSetError([Problem(str(root), None, None, "not a golden-set folder")])
    manifest = _load_yaml_model(root / "dataset.yaml", "dataset.yaml", DatasetManifest,
                                problems, many=False)
    qlist = _load_yaml_model(root / "questions.yaml", "questions.yaml", Question, problems,
                             many=True) or []
    questions: dict[str, Question] = {}
    for q in qlist:
        if q.id in questions:
            problems.append(
                Problem("questions.yaml", None, "id", f"duplicate question id {q.id!r}")
            )
        questions[q.id] = q
    cases = _load_cases(root, questions, problems)
    problems = [Problem(str(root / p.file), p.line, p.field, p.message) for p in problems]
    if problems:
        raise GoldenSetError(problems)
    assert manifest is not None
    return GoldenSet(root, manifest, questions, cases)


def _load_cases(root: Path, questions: dict[str, Question], problems: list[Problem]) -> list[Case]:
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for number, obj in _read_jsonl(root / "cases.jsonl", "cases.jsonl", problems):
        try:
            case = Case.model_validate(obj)
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, "cases.jsonl", number))
            continue
        if case.id in seen:
            first = seen[case.id]
            problems.append(Problem("cases.jsonl", number, "id",
                                    f"duplicate case id {case.id!r} (first on line {first})"))
            continue
        seen[case.id] = number
        if questions and case.question_id not in questions:
            problems.append(Problem("cases.jsonl", number, "question_id",
                                    f"unknown question {case.question_id!r}"))
        case.fixtures = case.fixtures + _load_fixtures(root, case.id, problems)
        cases.append(case)
    return cases


def _load_fixtures(root: Path, case_id: str, problems: list[Problem]) -> list[ToolFixture]:
    path = root / "fixtures" / f"{case_id}.jsonl"
    if not path.exists():
        return []
    rel = f"fixtures/{case_id}.jsonl"
    fixtures = []
    for number, obj in _read_jsonl(path, rel, problems):
        try:
            fixtures.append(ToolFixture.model_validate(obj))
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, rel, number))
    return fixtures
