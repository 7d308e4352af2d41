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

Two modes: eager (``GoldenSet.cases`` holds every Case) and lazy (``lazy=True``, what
`evals run` uses): the set is validated streaming, line by line, exactly as in eager
mode, but only a compact reference per kept case is held (CaseRefs: byte offset of its
line, line number, question, hash), so memory does not grow with the set's size by
more than a few bytes a case. ``GoldenSet.load_case(ref)`` reads a case back and checks
it still hashes as it did (an edit during a run is an error, never a silent mix).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import BaseModel, ValidationError

from evals.case_refs import CaseRef, CaseRefs
from evals.review_dag import dag_problems, yaml_item_lines
from evals.schema import (
    Case,
    DatasetManifest,
    Question,
    ToolFixture,
    canonical_json,
    content_hash,
)
from evals.schema.dataset import identity_dump


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
    """Every kept case, loaded (eager mode); empty in lazy mode."""
    refs: CaseRefs | None = None
    """Lazy mode: a reference per kept case (read one back with load_case)."""
    loaded_hash: str | None = None
    """content_hash as computed while loading (None: computed from `cases`)."""

    @property
    def name(self) -> str:
        """The set's name."""
        return self.manifest.name

    @cached_property
    def content_hash(self) -> str:
        """Hash of everything a replay depends on; independent of formatting. Always over
        the whole set, whatever a `keep` filter kept."""
        if self.loaded_hash is not None:
            return self.loaded_hash
        return dataset_hash(
            self.manifest, self.questions.values(), (case_hash(c) for c in self.cases)
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

    def load_case(self, ref: CaseRef) -> Case:
        """Read a case back from its line, fixtures included (lazy mode).

        Raises GoldenSetError when the line no longer holds a valid case that hashes as
        it did at load time: the set was edited since (e.g. during a run)."""
        rel = "cases.jsonl"
        problems: list[Problem] = []
        case: Case | None = None
        try:
            with (self.path / rel).open("rb") as f:
                f.seek(ref.offset)
                raw = f.readline()
        except OSError as exc:
            raise GoldenSetError([Problem(str(self.path / rel), None, None, str(exc))]) from None
        for _number, _offset, obj in _parse_lines([(ref.line, ref.offset, raw)], rel, problems):
            case = _validate_case(obj, ref.line, problems)
        if case is not None:
            case.fixtures = case.fixtures + _load_fixtures(self.path, case.id, problems)
            if not problems and case_hash(case) != ref.hash:
                problems.append(
                    Problem(
                        rel,
                        ref.line,
                        None,
                        f"case {case.id!r} changed since the set was "
                        "loaded (edited during the run?): rerun to use the new content",
                    )
                )
        elif not problems:
            problems.append(Problem(rel, ref.line, None, "the case's line is gone (file edited?)"))
        if problems:
            raise GoldenSetError(
                [Problem(str(self.path / p.file), p.line, p.field, p.message) for p in problems]
            )
        assert case is not None
        return case


def dataset_hash(
    manifest: DatasetManifest, questions: Iterable[Question], case_hashes: Iterable[str]
) -> str:
    """content_hash of {manifest, questions, cases: [case hashes]}, computed streaming:
    byte for byte the canonical JSON content_hash would hash, without the list in memory."""
    sha = hashlib.sha256(b'{"cases":[')
    for i, h in enumerate(case_hashes):
        sha.update(canonical_json(h) if i == 0 else b"," + canonical_json(h))
    sha.update(b'],"manifest":' + canonical_json(manifest.model_dump(mode="json")))
    sha.update(b',"questions":' + canonical_json([identity_dump(q) for q in questions]))
    sha.update(b"}")
    return sha.hexdigest()[:16]


def case_hash(case: Case) -> str:
    """Identity of a case's content (input, reference, fixtures, everything)."""
    return content_hash(identity_dump(case))


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


def _read_jsonl(path: Path, rel: str, problems: list[Problem]) -> Iterator[tuple[int, int, Any]]:
    """Yield (line number, byte offset, parsed object), streaming (one line in memory),
    recording a problem for each bad line."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        problems.append(Problem(rel, None, None, "file is missing"))
        return
    with f:
        yield from _parse_lines(_numbered_lines(f), rel, problems)


def _numbered_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, int, bytes]]:
    offset = 0
    for number, raw in enumerate(lines, start=1):
        yield number, offset, raw
        offset += len(raw)


def _parse_lines(
    lines: Iterable[tuple[int, int, bytes]], rel: str, problems: list[Problem]
) -> Iterator[tuple[int, int, Any]]:
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
        yield number, offset, obj


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


def load_golden_set(
    path: str | Path, *, lazy: bool = False, keep: Callable[[Case], bool] | None = None
) -> GoldenSet:
    """Load and validate a golden set; raises GoldenSetError listing every problem.

    `lazy`: hold a CaseRef per case (GoldenSet.refs) instead of the Case. `keep`: hold
    only the cases it accepts (validation and content_hash still cover every case)."""
    root = Path(path)
    problems: list[Problem] = []
    if not root.is_dir():
        raise GoldenSetError([Problem(str(root), None, None, "not a golden-set folder")])
    manifest = _load_yaml_model(
        root / "dataset.yaml", "dataset.yaml", DatasetManifest, problems, many=False
    )
    qlist = (
        _load_yaml_model(root / "questions.yaml", "questions.yaml", Question, problems, many=True)
        or []
    )
    questions: dict[str, Question] = {}
    for q in qlist:
        if q.id in questions:
            problems.append(
                Problem("questions.yaml", None, "id", f"duplicate question id {q.id!r}")
            )
        questions[q.id] = q
    problems.extend(_dag_problems(root, questions))
    golden = GoldenSet(
        root,
        manifest or DatasetManifest(name=root.name),
        questions,
        refs=CaseRefs() if lazy else None,
    )
    hashes = _load_cases(golden, keep, problems)  # a generator: validates as it hashes
    golden.loaded_hash = dataset_hash(golden.manifest, questions.values(), hashes)
    problems = [Problem(str(root / p.file), p.line, p.field, p.message) for p in problems]
    if problems:
        raise GoldenSetError(problems)
    assert manifest is not None
    return golden


def _dag_problems(root: Path, questions: dict[str, Question]) -> list[Problem]:
    """Unknown ids and cycles in the questions' depends_on, at their questions.yaml line."""
    found = dag_problems(questions)
    if not found:
        return []
    try:
        lines = yaml_item_lines((root / "questions.yaml").read_text("utf-8"))
    except (OSError, UnicodeDecodeError):
        lines = []
    index = {qid: i for i, qid in enumerate(questions)}
    return [
        Problem(
            "questions.yaml",
            lines[index[p.question_id]] if index[p.question_id] < len(lines) else None,
            f"[{index[p.question_id]}].depends_on",
            p.message,
        )
        for p in found
    ]


def _validate_case(obj: Any, number: int, problems: list[Problem]) -> Case | None:
    try:
        return Case.model_validate(obj)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, "cases.jsonl", number))
        return None


def _load_cases(
    golden: GoldenSet, keep: Callable[[Case], bool] | None, problems: list[Problem]
) -> Iterator[str]:
    """Validate every case, streaming; keep the accepted ones in `golden` (as Case or
    CaseRef); yield every valid case's hash, in file order."""
    seen: dict[str, int] = {}
    review_nodes: dict[tuple[str, str], int] = {}
    for number, offset, obj in _read_jsonl(golden.path / "cases.jsonl", "cases.jsonl", problems):
        case = _validate_case(obj, number, problems)
        if case is None:
            continue
        if case.id in seen:
            first = seen[case.id]
            problems.append(
                Problem(
                    "cases.jsonl",
                    number,
                    "id",
                    f"duplicate case id {case.id!r} (first on line {first})",
                )
            )
            continue
        seen[case.id] = number
        if case.review is not None:
            node = (case.review, case.question_id)
            if node in review_nodes:
                problems.append(
                    Problem(
                        "cases.jsonl",
                        number,
                        "review",
                        f"review {case.review!r} already has a case of question "
                        f"{case.question_id!r} (line {review_nodes[node]})",
                    )
                )
            review_nodes.setdefault(node, number)
        if golden.questions and case.question_id not in golden.questions:
            problems.append(
                Problem(
                    "cases.jsonl", number, "question_id", f"unknown question {case.question_id!r}"
                )
            )
        case.fixtures = case.fixtures + _load_fixtures(golden.path, case.id, problems)
        chash = case_hash(case)
        if keep is None or keep(case):
            if golden.refs is not None:
                golden.refs.append(CaseRef(offset, number, case.question_id, chash, case.review))
            else:
                golden.cases.append(case)
        yield chash


def _load_fixtures(root: Path, case_id: str, problems: list[Problem]) -> list[ToolFixture]:
    path = root / "fixtures" / f"{case_id}.jsonl"
    if not path.exists():
        return []
    rel = f"fixtures/{case_id}.jsonl"
    fixtures = []
    for number, _offset, obj in _read_jsonl(path, rel, problems):
        try:
            fixtures.append(ToolFixture.model_validate(obj))
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, rel, number))
    return fixtures
