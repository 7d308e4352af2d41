"""Suites: loading, one-line errors with file, line and field, case selection, run ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.run.suite import Subset, SuiteError, load_suite, select_cases
from evals.schema import Case, CaseInput

GOOD = """\
name: demo
dataset: data/set
agent: react
models:
  - alias: a
    model: openai/x
    params: {temperature: 0}
  - alias: b
    model: openai/x
    params: {temperature: 0.7}
prompts:
  v1: p/v1.md
  v2: p/v2.md
repetitions: 2
limits: {lanes: 8, max_steps: 4}
limit: 3
judges: [{name: key_facts}]
"""


def write_suite(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data" / "set").mkdir(parents=True, exist_ok=True)
    (tmp_path / "p").mkdir(exist_ok=True)
    (tmp_path / "p" / "v1.md").write_text("You are careful.\n")
    (tmp_path / "p" / "v2.md").write_text("You are very careful.\n")
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


def test_good_suite_loads_with_prompts_hashed(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, GOOD))
    assert suite.name == "demo"
    assert suite.agent.name == "react" and suite.agent.params == {}
    assert [m.alias for m in suite.models] == ["a", "b"]
    assert [p.name for p in suite.prompts] == ["v1", "v2"]
    assert suite.prompts[0].text == "You are careful.\n"
    assert len(suite.prompts[0].sha256) == 64
    assert suite.dataset_path == (tmp_path / "data" / "set").resolve()
    assert suite.config.judges == [{"name": "key_facts"}]
    assert suite.config.limits.lanes == 8 and suite.config.repetitions == 2


def test_run_id_follows_identity_not_limits(tmp_path: Path) -> None:
    base = load_suite(write_suite(tmp_path, GOOD)).run_id("d1")
    assert base.startswith("demo-")
    relimited = load_suite(
        write_suite(tmp_path, GOOD.replace("lanes: 8", "lanes: 99").replace("limit: 3", "limit: 5"))
    )
    assert relimited.run_id("d1") == base
    assert relimited.run_id("d2") != base
    retuned = load_suite(write_suite(tmp_path, GOOD.replace("0.7", "0.9")))
    assert retuned.run_id("d1") != base
    (tmp_path / "p" / "v2.md").write_text("changed")
    reprompted = load_suite(tmp_path / "suite.yaml")
    assert reprompted.run_id("d1") != base


def test_env_variables_expand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_URL", "http://127.0.0.1:9/v1")
    text = GOOD.replace(
        "params: {temperature: 0}",
        "params: {temperature: 0, api_base: '${FAKE_URL}', x: '${NOPE:-d}'}",
    )
    monkeypatch.setenv("SUITE_DIR", "data")
    suite = load_suite(
        write_suite(tmp_path, text.replace("dataset: data/", "dataset: ${SUITE_DIR}/"))
    )
    assert suite.dataset_path == (tmp_path / "data" / "set").resolve()  # expanded at load
    # Model params keep the text (what the manifest and trials store); the gateway
    # reads the value at call time.
    assert suite.models[0].params["api_base"] == "${FAKE_URL}"
    from evals.secrets import expand_env

    assert expand_env(suite.models[0].params) == {
        "temperature": 0,
        "api_base": "http://127.0.0.1:9/v1",
        "x": "d",
    }


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("repetitions: 2", "repetitions: 0"), ":14: repetitions: Input should be greater"),
        (
            ("    model: openai/x\n    params: {temperature: 0.7}", "    params: {}"),
            ":8: models.1.model: Field required",
        ),
        (
            ("limits: {lanes: 8, max_steps: 4}", "limits: {lanes: 8, max_step: 4}"),
            ":15: limits.max_step: Extra inputs are not permitted",
        ),
        (("  v2: p/v2.md", "  v2: p/missing.md"), ":13: prompts.v2: cannot read prompt file"),
        (("  v2: p/v2.md", "  v2: p/v1.md"), ":13: prompts.v2: same content as prompt 'v1'"),
        (("dataset: data/set", "dataset: data/nope"), ":2: dataset: golden-set folder"),
        (("alias: b", "alias: a"), ":8: models.1.alias: duplicate alias 'a'"),
        (("0.7", "0"), ":8: models.1: same model and params as 'a'"),
        (
            ("params: {temperature: 0}", "params: {temperature: 0, api_key: sk-x}"),
            ":7: models.0.params.api_key: holds a secret",
        ),
        (("models:", "models: 3\nx:"), ":4: models: Input should be a valid list"),
        (("name: demo", "name: [demo"), ": bad YAML"),
    ],
)
def test_bad_suites_fail_with_one_line_naming_file_line_and_field(
    tmp_path: Path,
    change: tuple[str, str],
    expected: str,
) -> None:
    assert change[0] in GOOD
    path = write_suite(tmp_path, GOOD.replace(*change))
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    # One line per problem, each naming the file (and its line).
    assert all(line.startswith(str(path)) for line in message.splitlines())
    assert expected in message


def case(i: int, question: str, **tags: str) -> Case:
    return Case(
        id=f"c{i}", question_id=question, input=CaseInput(question="?"), reference="r", tags=tags
    )


def test_limit_takes_round_robin_over_questions_in_file_order() -> None:
    cases = [case(1, "a"), case(2, "a"), case(3, "a"), case(4, "b"), case(5, "c"), case(6, "c")]
    picked = [c.id for c in select_cases(cases, None, 4)]
    assert picked == ["c1", "c2", "c4", "c5"]
    assert [c.id for c in select_cases(cases, None, None)] == [c.id for c in cases]


def test_subset_filters_before_the_limit() -> None:
    cases = [case(1, "a", j="GB"), case(2, "a", j="DE"), case(3, "b", j="GB"), case(4, "b", j="GB")]
    assert [c.id for c in select_cases(cases, Subset(tags={"j": "GB"}), None)] == ["c1", "c3", "c4"]
    assert [c.id for c in select_cases(cases, Subset(questions=["b"]), 1)] == ["c3"]
    assert [c.id for c in select_cases(cases, Subset(ids=["c2", "c4"]), None)] == ["c2", "c4"]
