"""Golden sets: loading and validating `datasets/<name>/`.

Format (documented in docs/data-model.md)::

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
mode, but only a compact reference per kept case is held (CaseRefs, in arrays: where its
line is, its question, hash and raw-bytes digest), so memory grows by 40 bytes a case.
``GoldenSet.load_case(ref)`` reads a case back and checks it is the one loaded (an edit
during a run is an error, never a silent mix): when the line's bytes and its fixture
file's have the digest they had, it is (no re-hash); otherwise it is read up to its
newline and hashed, and must hash as it did. Fixture files are found through one
listing of the folder (evals.dataset.case_files.FixtureFiles), not a stat per case.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from evals.dataset.case_files import (
    FixtureFiles,
    load_fixtures,
    parse_lines,
    read_jsonl,
    validation_problems,
)
from evals.dataset.case_refs import RAW_DIGEST_BYTES, CaseRef, CaseRefs
from evals.dataset.limits import check_case_id, inside_set
from evals.dataset.review_dag import dag_problems
from evals.errors import InputError
from evals.schema import (
    Case,
    DatasetManifest,
    Question,
    canonical_json,
    content_hash,
)
from evals.schema.dataset import identity_dump
from evals.yamlfile import Problem, YamlDoc, YamlFileError, read_yaml

__all__ = ["GoldenSet", "GoldenSetError", "Problem", "case_hash", "load_golden_set"]


class GoldenSetError(InputError):
    """A golden set that does not validate; holds every problem found (`root`: the set,
    named in the last line the CLI prints)."""

    def __init__(self, problems: list[Problem], root: Path | str | None = None) -> None:
        summary = f"{len(problems)} problem(s) in golden set {root}" if root else None
        super().__init__(problems=problems, summary=summary)


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

    @cached_property
    def _fixture_files(self) -> FixtureFiles:
        return FixtureFiles(self.path)

    @cached_property
    def _cases_file(self) -> str:
        return str(self.path / "cases.jsonl")

    def load_case(self, ref: CaseRef) -> Case:
        """Read a case back from its line, fixtures included (lazy mode).

        Raises GoldenSetError when the line no longer holds a valid case that hashes as
        it did at load time: the set was edited since (e.g. during a run). When the
        line's bytes and its fixture file's are those loaded (the ref's raw digest), the
        case is the one hashed then and is not hashed again."""
        if ref.length and ref.raw_digest:
            case = self._load_unchanged(ref)
            if case is not None:
                return case
        return self._load_checked(ref)

    def _load_unchanged(self, ref: CaseRef) -> Case | None:
        """The case when its bytes are those loaded; None: changed, or unreadable (then
        _load_checked names the problem). One pread of the line, no Path built, and the
        fixture file opened only when the folder lists one."""
        try:
            fd = os.open(self._cases_file, os.O_RDONLY)
            try:
                raw = os.pread(fd, ref.length, ref.offset)
            finally:
                os.close(fd)
        except OSError:
            return None
        digest = hashlib.blake2b(raw, digest_size=RAW_DIGEST_BYTES)
        problems: list[Problem] = []
        case = None
        for _number, _offset, _raw, obj in parse_lines([(ref.line, ref.offset, raw)], "", problems):
            case = _validate_case(obj, ref.line, problems)
        if case is None or problems:
            return None
        fixtures = load_fixtures(self.path, case.id, problems, self._fixture_files, digest)
        if problems or digest.digest() != ref.raw_digest:
            return None
        case.fixtures = case.fixtures + fixtures
        return case

    def _load_checked(self, ref: CaseRef) -> Case:
        """Read the case's line up to its newline, and check it hashes as it did."""
        rel = "cases.jsonl"
        problems: list[Problem] = []
        case: Case | None = None
        try:
            with (self.path / rel).open("rb") as f:
                f.seek(ref.offset)
                raw = f.readline()
        except OSError as exc:
            raise GoldenSetError(
                [Problem(str(self.path / rel), None, None, str(exc))], self.path
            ) from None
        for _number, _offset, _raw, obj in parse_lines(
            [(ref.line, ref.offset, raw)], rel, problems
        ):
            case = _validate_case(obj, ref.line, problems)
        if case is not None:
            case.fixtures = case.fixtures + load_fixtures(self.path, case.id, problems)
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
                [Problem(str(self.path / p.file), p.line, p.field, p.message) for p in problems],
                self.path,
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


def _load_yaml_model(
    root: Path, rel: str, model: type[BaseModel], problems: list[Problem], many: bool
) -> tuple[Any, YamlDoc | None]:
    """The file's model(s) and its parsed document (for later problems' lines)."""
    if (root / rel).exists() and not inside_set(root, root / rel):
        problems.append(Problem(rel, None, None, "resolves outside the golden set: refused"))
        return None, None
    try:
        doc = read_yaml(root / rel, rel)
    except YamlFileError as exc:
        problems.append(exc.problem)
        return None, None
    items = doc.data if many else [doc.data]
    if not isinstance(items, list):
        problems.append(doc.problem([], "expected a list"))
        return None, doc
    out = []  # (index in the file, model): problems found later need the index
    for i, item in enumerate(items):
        try:
            out.append((i, model.model_validate(item)))
        except ValidationError as exc:
            problems.extend(doc.validation_problems(exc, [i] if many else []))
    return (out if many else (out[0][1] if out else None)), doc


def _load_questions(root: Path, problems: list[Problem]) -> dict[str, Question]:
    qlist, doc = _load_yaml_model(root, "questions.yaml", Question, problems, many=True)
    questions: dict[str, Question] = {}
    for i, q in qlist or []:
        assert doc is not None
        if q.id in questions:
            problems.append(doc.problem([i, "id"], f"duplicate question id {q.id!r}"))
        questions[q.id] = q
        for key, message in q.gate.problems():
            problems.append(doc.problem([i, "gate", key], message))
    index = {q.id: i for i, q in qlist or []}
    for found in dag_problems(questions):  # unknown ids and cycles of the review DAG
        assert doc is not None
        problems.append(doc.problem([index[found.question_id], "depends_on"], found.message))
    return questions


def load_golden_set(
    path: str | Path, *, lazy: bool = False, keep: Callable[[Case], bool] | None = None
) -> GoldenSet:
    """Load and validate a golden set; raises GoldenSetError listing every problem.

    `lazy`: hold a CaseRef per case (GoldenSet.refs) instead of the Case. `keep`: hold
    only the cases it accepts (validation and content_hash still cover every case)."""
    root = Path(path)
    problems: list[Problem] = []
    if not root.is_dir():
        raise GoldenSetError([Problem(str(root), None, None, "not a golden-set folder")], root)
    manifest, _ = _load_yaml_model(root, "dataset.yaml", DatasetManifest, problems, many=False)
    questions = _load_questions(root, problems)
    golden = GoldenSet(
        root,
        manifest or DatasetManifest(name=root.name),
        questions,
        refs=CaseRefs() if lazy else None,
    )
    counted = [0]

    def counting(hashes: Iterator[str]) -> Iterator[str]:
        for h in hashes:
            counted[0] += 1
            yield h

    hashes = counting(_load_cases(golden, keep, problems))  # validates as it hashes
    golden.loaded_hash = dataset_hash(golden.manifest, questions.values(), hashes)
    if counted[0] == 0 and not problems:
        # An empty set would "pass" every gate with a 0-trial run.
        problems.append(Problem("cases.jsonl", None, None, "no cases: a golden set needs one"))
    problems = [Problem(str(root / p.file), p.line, p.field, p.message) for p in problems]
    if problems:
        raise GoldenSetError(problems, root)
    assert manifest is not None
    return golden


def _validate_case(obj: Any, number: int, problems: list[Problem]) -> Case | None:
    try:
        case = Case.model_validate(obj)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, "cases.jsonl", number))
        return None
    unsafe = check_case_id(case.id)
    if unsafe is not None:
        problems.append(Problem("cases.jsonl", number, "id", unsafe))
        return None
    return case


def _load_cases(
    golden: GoldenSet, keep: Callable[[Case], bool] | None, problems: list[Problem]
) -> Iterator[str]:
    """Validate every case, streaming; keep the accepted ones in `golden` (as Case or
    CaseRef); yield every valid case's hash, in file order."""
    seen: dict[str, int] = {}
    review_nodes: dict[tuple[str, str], int] = {}
    files = FixtureFiles(golden.path)  # listed once: no stat per case without fixtures
    for number, offset, raw, obj in read_jsonl(golden.path, "cases.jsonl", problems):
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
        digest = hashlib.blake2b(raw, digest_size=RAW_DIGEST_BYTES)
        case.fixtures = case.fixtures + load_fixtures(golden.path, case.id, problems, files, digest)
        chash = case_hash(case)
        if keep is None or keep(case):
            if golden.refs is not None:
                ref = CaseRef(offset, number, case.question_id, chash, case.review, len(raw),
                              digest.digest())  # fmt: skip
                golden.refs.append(ref)
            else:
                golden.cases.append(case)
        yield chash
