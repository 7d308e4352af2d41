"""`evals schema` exports JSON Schemas of suite, gate and judges files; the repo's own
files validate against them, and the mistakes the loaders refuse are refused too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from judges.config import load_cascade_file

REPO = Path(__file__).resolve().parents[2]
SUITES = sorted((REPO / "suites").glob("*.yaml"))
GATES = sorted((REPO / "gates").glob("*.yaml"))
JUDGES_FILES = sorted((REPO / "judges" / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("schemas")
    proc = subprocess.run(
        [sys.executable, "-m", "evals.cli.main", "schema", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = {
        n: json.loads((out / f"{n}.schema.json").read_text()) for n in ("suite", "gate", "judges")
    }
    for schema in loaded.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    return loaded


def problems(schema: dict[str, Any], doc: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message[:160]}" for e in validator.iter_errors(doc)]


def test_the_repo_files_validate(schemas: dict[str, dict[str, Any]]) -> None:
    assert SUITES and GATES and JUDGES_FILES
    for path in SUITES:
        doc = yaml.safe_load(path.read_text())
        assert problems(schemas["suite"], doc) == [], path
        if doc.get("judges"):  # a suite's list is also a judges file
            assert problems(schemas["judges"], doc["judges"]) == [], path
    for path in GATES:
        assert problems(schemas["gate"], yaml.safe_load(path.read_text())) == [], path
    for path in JUDGES_FILES:
        assert problems(schemas["judges"], yaml.safe_load(path.read_text())) == [], path
        load_cascade_file(path)  # and the loader takes it


def test_schemas_refuse_what_the_loaders_refuse(schemas: dict[str, dict[str, Any]]) -> None:
    suite = yaml.safe_load(SUITES[0].read_text())
    assert problems(schemas["suite"], {**suite, "repetitons": 2})  # unknown field
    assert problems(schemas["suite"], {**suite, "agent": "not a name"})  # neither name nor path
    assert not problems(schemas["suite"], {**suite, "agent": "my_pkg.agents:factory"})
    assert not problems(schemas["suite"], {**suite, "judges": [], "gates": []})
    assert problems(schemas["judges"], [])  # a judges file judges something
    typo = [{"judge": "key_facts", "params": {"min_fractoin": 1}}]
    assert problems(schemas["judges"], typo)  # a built-in judge's params are checked
    assert problems(schemas["judges"], [{"judge": "key_facts", "params": {"min_fraction": 2}}])
    assert not problems(schemas["judges"], [{"judge": "my_pkg:Judge", "params": {"any": 1}}])
    stage_shadow = [{"stage": "s", "judges": [{"judge": "answered", "shadow": True}]}]
    assert problems(schemas["judges"], stage_shadow)  # shadow is a stage's, not a member's
    gate = yaml.safe_load(GATES[0].read_text())
    assert problems(schemas["gate"], {**gate, "confidence": 1.5})
    assert problems(schemas["gate"], {**gate, "overall": {"min_helpful_rate": 0.8}})


def test_names_complete_in_editors(schemas: dict[str, dict[str, Any]]) -> None:
    judge_names = schemas["judges"]["$defs"]["JudgeSpec"]["properties"]["judge"]["anyOf"][0]
    assert {"key_facts", "grounded", "rubric"} <= set(judge_names["enum"])
    agent = schemas["suite"]["properties"]["agent"]["anyOf"][0]["anyOf"][0]
    assert {"react", "edd_template", "edd_rails"} <= set(agent["enum"])
