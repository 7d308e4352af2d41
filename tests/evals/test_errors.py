"""The one error model (evals/errors.py): every error class of the project is an
EvalsError with its family's exit code, and errors print as the CLI prints them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evals.agents.base import AgentError, UnknownAgentError
from evals.analysis.gates import GateFileError
from evals.analysis.rundata import RunSelectionError
from evals.cli.common import UserError
from evals.dataset.golden import GoldenSetError
from evals.errors import (
    MAX_PROBLEMS_SHOWN,
    EvalsError,
    InputError,
    NotFoundError,
    Problem,
    ProviderError,
    RefusedError,
    RunError,
    StoreError,
    error_lines,
)
from evals.importers.common import ImportFormatError, ImportProblem
from evals.models.errors import ProviderHTTPError
from evals.models.local import LocalModelError
from evals.models.types import GatewayError
from evals.run.reviews import ReviewPlanError
from evals.run.runner import RunError as RunnerRunError
from evals.run.suite import SuiteError
from evals.store.workspace import LockBusy
from evals.store.workspace import StoreError as StoreStoreError
from evals.yamlfile import YamlFileError
from judges.base import JudgeConfigError
from judges.config import JudgeConfigFileError
from judges.judging import JudgingError
from judges.llm import JudgeCallError
from judges.llm_output import UnparseableOutput
from judges.render import PromptError
from labeling_app.auth.roster import RosterError
from labeling_app.queues.build import QueueBuildError
from labeling_app.queues.service import QueueError

FAMILIES: dict[type[EvalsError], tuple[type[EvalsError], int]] = {
    YamlFileError: (InputError, 2),
    SuiteError: (InputError, 2),
    GoldenSetError: (InputError, 2),
    GateFileError: (InputError, 2),
    JudgeConfigFileError: (InputError, 2),
    JudgeConfigError: (InputError, 2),
    PromptError: (InputError, 2),
    ImportFormatError: (InputError, 2),
    RosterError: (InputError, 2),
    QueueBuildError: (InputError, 2),
    UnknownAgentError: (InputError, 2),
    ReviewPlanError: (InputError, 2),
    RunSelectionError: (NotFoundError, 1),
    StoreStoreError: (StoreError, 1),
    LockBusy: (StoreError, 1),
    RunnerRunError: (RunError, 1),
    JudgingError: (RunError, 1),
    AgentError: (RunError, 1),
    GatewayError: (ProviderError, 1),
    ProviderHTTPError: (ProviderError, 1),
    LocalModelError: (ProviderError, 1),
    JudgeCallError: (ProviderError, 1),
    UnparseableOutput: (ProviderError, 1),
    QueueError: (RefusedError, 1),
}


@pytest.mark.parametrize("cls", list(FAMILIES), ids=lambda c: c.__name__)
def test_every_error_class_is_in_its_family_with_its_exit_code(cls: type[EvalsError]) -> None:
    family, code = FAMILIES[cls]
    assert issubclass(cls, family) and cls.exit_code == code


def test_the_families_are_the_names_callers_already_catch() -> None:
    # Re-exported where they used to be defined, and still the builtins they were.
    assert StoreStoreError is StoreError and RunnerRunError is RunError
    assert issubclass(SuiteError, ValueError) and issubclass(RunSelectionError, ValueError)
    assert issubclass(LocalModelError, RuntimeError) and issubclass(YamlFileError, ValueError)
    assert UserError("x", 2).code == UserError("x", 2).exit_code == 2


def test_no_error_class_outside_the_model() -> None:
    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"^class (\w+)\((Exception|ValueError|RuntimeError|TypeError)\)", re.M)
    found = [
        f"{path.relative_to(root)}: {m.group(1)}"
        for package in ("evals", "judges", "labeling_app", "reports")
        for path in sorted((root / package).rglob("*.py"))
        for m in pattern.finditer(path.read_text())
        if path.name != "errors.py" or package != "evals"
    ]
    assert found == [], "subclass an evals.errors family instead"


def test_problems_print_one_line_each_then_the_summary() -> None:
    problems = [
        Problem("s.yaml", 3, "models.0.model", "unknown"),
        Problem("s.yaml", None, None, "x"),
    ]
    err = InputError(problems=problems, summary="2 problem(s) in s.yaml")
    assert error_lines(err) == [
        "s.yaml:3: models.0.model: unknown",
        "s.yaml: x",
        "2 problem(s) in s.yaml",
    ]
    assert str(err) == "s.yaml:3: models.0.model: unknown\ns.yaml: x"
    assert err.exit_code == 2


def test_a_message_is_one_error_line_and_many_problems_are_capped() -> None:
    assert error_lines(NotFoundError("no run 'r1'")) == ["error: no run 'r1'"]
    assert error_lines(RunError("two\nlines")) == ["error: two", "lines"]
    assert error_lines(EvalsError("x", exit_code=7)) == ["error: x"]
    many = [Problem("f", i, None, "bad") for i in range(1, MAX_PROBLEMS_SHOWN + 6)]
    lines = error_lines(InputError(problems=many))
    assert len(lines) == MAX_PROBLEMS_SHOWN + 1 and lines[-1] == "... and 5 more problem(s)"


def test_import_problems_on_a_line_print_as_every_problem_does() -> None:
    assert str(ImportProblem("t.jsonl", "line 7", "helpful", "bad")) == "t.jsonl:7: helpful: bad"
    assert ImportProblem("t.jsonl", "line 7", None, "x").line == 7
    record = ImportProblem("r.json", "simulation 3 (task_id 12)", "reward", "Field required")
    assert str(record) == "r.json: simulation 3 (task_id 12): reward: Field required"
    assert record.line is None
