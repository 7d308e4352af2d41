"""Hostile inputs (issue 14, items 1 and 2): YAML bombs and oversized files, empty and
escaping golden sets, oversized records, and problems located at their real lines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.analysis.gates import GateFileError, load_gate
from evals.cli.main import app
from evals.dataset.golden import GoldenSetError, load_golden_set
from evals.dataset.limits import MAX_FIELD_BYTES
from evals.run.suite import SuiteError, load_suite
from evals.store.workspace import Workspace
from evals.yamlfile import MAX_YAML_BYTES, YamlFileError, parse_yaml
from judges.config import JudgeConfigFileError, load_cascade_file

QUESTIONS = """\
- id: q1
  title: Registration
  rubric: States status and jurisdiction.
"""


def bomb(levels: int = 9, width: int = 9) -> str:
    """A "billion laughs": `width` ** `levels` nodes from a few hundred bytes."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def make_set(root: Path, cases: list[dict[str, object]]) -> Path:
    root.mkdir(parents=True)
    (root / "dataset.yaml").write_text("name: tiny\n")
    (root / "questions.yaml").write_text(QUESTIONS)
    (root / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    (root / "fixtures").mkdir()
    return root


def case(i: int | str, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": i if isinstance(i, str) else f"c{i}",
        "question_id": "q1",
        "reference": "Active",
        "input": {"question": "Status?"},
    }
    base.update(extra)
    return base


def problems(root: Path) -> list[str]:
    with pytest.raises(GoldenSetError) as info:
        load_golden_set(root)
    return [str(p) for p in info.value.problems]


# ------------------------------------------------------------------------ YAML bombs


def test_an_alias_bomb_is_refused_before_it_is_expanded() -> None:
    with pytest.raises(YamlFileError, match=r"^x.yaml:6: expands to more than 200,000 nodes"):
        parse_yaml(bomb(), "x.yaml")  # 9**6 > 200,000: the list on line 6 is the first over
    many = "a: &a 1\nb: [" + ", ".join(["*a"] * 500) + "]\n"
    with pytest.raises(YamlFileError, match=r"x.yaml:2: bad YAML: more than \d+ aliases"):
        parse_yaml(many, "x.yaml")
    with pytest.raises(YamlFileError, match="nested too deeply"):
        parse_yaml("a: " + "[" * 5000 + "]" * 5000 + "\n", "x.yaml")
    with pytest.raises(YamlFileError, match=r"^x.yaml:2: holds a recursive alias"):
        parse_yaml("x: 1\na: &a [1, *a]\n", "x.yaml")
    # Ordinary anchors, shared twice, and merge keys still work.
    assert parse_yaml("a: &a [1]\nb: [*a, *a]\n", "ok.yaml").data["b"] == [[1], [1]]
    doc = parse_yaml("base: &b {t: 0}\nm:\n  <<: *b\n  u: 1\n", "ok.yaml")
    assert doc.data["m"] == {"t": 0, "u": 1}


def test_every_yaml_reader_refuses_bombs_and_oversized_files(tmp_path: Path) -> None:
    root = make_set(tmp_path / "s", [case(1)])
    (root / "dataset.yaml").write_text("name: tiny\n" + bomb())
    assert any(
        p.startswith(f"{root / 'dataset.yaml'}:7: expands to more than") for p in problems(root)
    )
    (root / "dataset.yaml").write_text("name: tiny\n")
    (root / "questions.yaml").write_text("# " + "x" * MAX_YAML_BYTES + "\n" + QUESTIONS)
    assert any("questions.yaml: larger than" in p for p in problems(root))

    suite = tmp_path / "suite.yaml"
    suite.write_text(bomb())
    with pytest.raises(SuiteError, match=f"^{suite}:6: expands to more than"):
        load_suite(suite)
    gate = tmp_path / "gate.yaml"
    gate.write_text(bomb())
    with pytest.raises(GateFileError, match="expands to more than"):
        load_gate(gate)
    judges = tmp_path / "judges.yaml"
    judges.write_text(bomb())
    with pytest.raises(JudgeConfigFileError, match="expands to more than"):
        load_cascade_file(judges)


# --------------------------------------------------------------------- golden sets


def test_an_empty_golden_set_is_refused(tmp_path: Path) -> None:
    root = make_set(tmp_path / "s", [])
    assert problems(root) == [f"{root / 'cases.jsonl'}: no cases: a golden set needs one"]
    result = CliRunner().invoke(app, ["validate", str(root)])
    assert result.exit_code == 2


@pytest.mark.parametrize("bad_id", ["../../x", "/abs/x", "a/b", ".hidden", "a\\b", "x..y"])
def test_case_ids_must_be_safe_names(tmp_path: Path, bad_id: str) -> None:
    root = make_set(tmp_path / "s", [case(1), case(bad_id)])
    assert any(
        p.startswith(f"{root / 'cases.jsonl'}:2: id: case id") and "not a safe name" in p
        for p in problems(root)
    )


def test_files_resolving_outside_the_set_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "outside.jsonl"
    secret.write_text(json.dumps({"tool": "t", "arguments": {}, "observation": "secret"}) + "\n")
    root = make_set(tmp_path / "s", [case(1)])
    os.symlink(secret, root / "fixtures" / "c1.jsonl")
    assert problems(root) == [
        f"{root / 'fixtures' / 'c1.jsonl'}: resolves outside the golden set: refused"
    ]
    (root / "fixtures" / "c1.jsonl").unlink()
    (root / "questions.yaml").unlink()
    outside_q = tmp_path / "q.yaml"
    outside_q.write_text(QUESTIONS)
    os.symlink(outside_q, root / "questions.yaml")
    assert any("questions.yaml: resolves outside the golden set" in p for p in problems(root))
    # A symlink inside the set is fine.
    (root / "questions.yaml").unlink()
    (root / "q_real.yaml").write_text(QUESTIONS)
    os.symlink(root / "q_real.yaml", root / "questions.yaml")
    assert [c.id for c in load_golden_set(root).cases] == ["c1"]


def test_an_oversized_field_is_refused_naming_file_line_and_field(tmp_path: Path) -> None:
    big = "x" * (5 * 1024 * 1024)
    root = make_set(tmp_path / "s", [case(1), case(2, input={"question": "q", "context": big})])
    [found] = problems(root)
    assert found.startswith(f"{root / 'cases.jsonl'}:2: input.context: value of 5,242,880 bytes")
    assert f"{MAX_FIELD_BYTES:,}" in found
    # A record made of many fields under the bound is refused as a record.
    many = {f"k{i}": "y" * 100_000 for i in range(12)}
    root2 = make_set(tmp_path / "t", [case(1, tags=many)])
    [found] = problems(root2)
    assert ":1: " in found and "record of" in found
    # Fixtures are bounded too.
    (root / "cases.jsonl").write_text(json.dumps(case(1)) + "\n")
    fixture = {"tool": "t", "arguments": {}, "observation": big}
    (root / "fixtures" / "c1.jsonl").write_text(json.dumps(fixture) + "\n")
    [found] = problems(root)
    assert found.startswith(f"{root / 'fixtures' / 'c1.jsonl'}:1: observation: value of")


# ----------------------------------------------------------- problems at real lines


def test_questions_and_dataset_problems_are_all_listed_at_their_lines(tmp_path: Path) -> None:
    root = make_set(tmp_path / "s", [case(1)])
    (root / "dataset.yaml").write_text("name: tiny\ntools:\n  - name: t\n    descripton: typo\n")
    (root / "questions.yaml").write_text(
        QUESTIONS
        + "- id: q2\n  rubric: r\n"  # no title (item at line 4)
        + "- id: q1\n  title: again\n  rubric: r\n"  # duplicate id (line 6)
        + "- id: q3\n  title: t\n  rubric: r\n  gate:\n    min_judge_pass_rate: 2\n"
    )
    found = problems(root)
    ds, qs = root / "dataset.yaml", root / "questions.yaml"
    assert f"{ds}:4: tools.0.descripton: Extra inputs are not permitted" in found
    assert f"{qs}:4: 1.title: Field required" in found
    assert f"{qs}:6: 2.id: duplicate question id 'q1'" in found
    assert f"{qs}:13: 3.gate.min_judge_pass_rate: must be in (0, 1), got 2.0" in found


def test_gate_files_list_every_problem_at_its_line(tmp_path: Path) -> None:
    gate = tmp_path / "g.yaml"
    gate.write_text(
        "name: g\n"
        "overall:\n"
        "  min_judge_pass_rate: 1.5\n"
        "  max_cost_per_trial: -1\n"
        "questions:\n"
        "  q1:\n"
        "    noninferiority_margin: 2\n"
        "pair_by: nope\n"
    )
    with pytest.raises(GateFileError) as info:
        load_gate(gate)
    found = [str(p) for p in info.value.problems]
    assert f"{gate}:3: overall.min_judge_pass_rate: must be in (0, 1), got 1.5" in found
    assert f"{gate}:4: overall.max_cost_per_trial: must be > 0, got -1.0" in found
    assert f"{gate}:7: questions.q1.noninferiority_margin: must be in [0, 1), got 2.0" in found
    assert any(p.startswith(f"{gate}:8: pair_by:") for p in found)
    assert len(found) == 4


# ------------------------------------------------------------- nothing written early


def test_a_failing_run_on_a_new_path_writes_nothing(tmp_path: Path, repo_root: Path) -> None:
    root = make_set(tmp_path / "s", [])
    (tmp_path / "p.md").write_text("You are an analyst.\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"dataset: {root}\nmodels: [{{alias: m, model: openai/x}}]\nprompts: {{v1: p.md}}\n"
    )
    ws = tmp_path / "new-ws"
    result = CliRunner().invoke(app, ["run", str(suite), "-w", str(ws), "--no-progress"])
    assert result.exit_code != 0
    assert "no cases" in result.output
    assert not ws.exists()


def test_judges_files_list_every_problem_at_its_line(tmp_path: Path) -> None:
    judges = tmp_path / "judges.yaml"
    judges.write_text(
        "judges:\n"
        "  - stage: checks\n"
        "    judges:\n"
        "      - judge: answered\n"
        "        min_confidence: 2\n"
        "  - judge: key_facts\n"
        "    bogus: 1\n"
    )
    with pytest.raises(JudgeConfigFileError) as info:
        load_cascade_file(judges)
    found = str(info.value).splitlines()
    assert any(p.startswith(f"{judges}:5: judges[0].judges.0.min_confidence:") for p in found)
    assert f"{judges}:7: judges[1].bogus: Extra inputs are not permitted" in found
    assert len(found) == 2


def test_an_imported_record_too_large_for_the_store_is_refused(tmp_path: Path) -> None:
    from evals.importers import IMPORTERS, ImportFormatError, ImportOptions
    from evals.store.workspace import Workspace

    src = tmp_path / "big.jsonl"
    rows = [
        {"case_id": "a", "input": "q", "output": "x", "model": "m", "reward": 1},
        {"case_id": "b", "input": "q", "output": "y" * (20 * 1024 * 1024), "model": "m"},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(ImportFormatError) as exc:
        IMPORTERS["jsonl"].parse(src, ImportOptions(), ws)
    assert f"{src}:2: output: record of 20,971,5" in str(exc.value)
    assert ws.kinds() == []


def test_a_suite_lists_every_problem_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_text("You are careful.\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "dataset: nowhere\n"
        "models:\n"
        "  - {alias: a, model: opnai/x}\n"
        "  - {alias: a, model: openai/x, fallbacks: [zz]}\n"
        "prompts: {v1: p.md, v2: missing.md}\n"
    )
    with pytest.raises(SuiteError) as info:
        load_suite(suite)
    found = str(info.value).splitlines()
    assert [line.split(": ")[0:2] for line in found] == [
        [f"{suite}:1", "dataset"],
        [f"{suite}:3", "models.0.model"],
        [f"{suite}:4", "models.1.alias"],
        [f"{suite}:4", "models.1.fallbacks.0"],
        [f"{suite}:5", "prompts.v2"],
    ]


# ----------------------------------------------------- one error line per command family


def _bad_inputs(root: Path) -> dict[str, tuple[list[str], int, list[str]]]:
    """Per command family: the arguments, the exit code, and the start of each line the
    command must print on stderr (nothing else)."""
    gs = make_set(root / "gs", [case(1)])
    (gs / "questions.yaml").write_text("- id: q1\n  title: T\n")  # no rubric
    suite = root / "suite.yaml"
    suite.write_text("dataset: gs\nmodels: [\n")
    gate = root / "gate.yaml"
    gate.write_text("overall:\n  nope: 1\n")
    jsonl = root / "trials.jsonl"
    jsonl.write_text('{"case_id": "c1"}\nnot json\n')
    roster = root / "roster.yaml"
    roster.write_text("users:\n  - id: a\n    role: boss\n")
    ws = root / "ws"
    Workspace(ws).close()
    w = ["-w", str(ws)]
    return {
        "golden set": (["validate", str(gs)], 2, [
            f"{gs}/questions.yaml:1: 0.rubric: Field required", f"1 problem(s) in golden set {gs}"
        ]),
        "suite": (["run", str(suite), *w], 2, [f"{suite}:3: bad YAML: "]),
        "gate": (["gate", str(gate), "--run", "x", *w], 2, [
            f"{gate}:2: overall.nope: Extra inputs are not permitted"
        ]),
        "import": (["import", "jsonl", str(jsonl), *w], 2, [
            f"{jsonl}:2: invalid JSON: ", f"{jsonl}:1: input: Field required",
            f"2 problem(s) in {jsonl}; nothing written",
        ]),
        "roster": (["label", "--roster", str(roster), *w], 2, [f"{roster}:3: users.0.role: "]),
        "store": (["status", "-w", str(root / "none")], 1, [
            f"error: {root / 'none'}: not a workspace"
        ]),
        "not found": (["compare", "r1", "r2", *w], 1, ["error: no run 'r1'"]),
        "refused": (["label", "queue", "set", "q9", "--by", "me", "--close", *w], 1, [
            "error: no queue 'q9'"
        ]),
    }  # fmt: skip


@pytest.mark.parametrize(
    "family",
    ["golden set", "suite", "gate", "import", "roster", "store", "not found", "refused"],
)
def test_every_command_family_fails_with_one_line_per_problem_and_its_code(
    tmp_path: Path, family: str
) -> None:
    args, code, starts = _bad_inputs(tmp_path)[family]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == len(starts), lines
    for line, start in zip(lines, starts, strict=True):
        assert line.startswith(start), (line, start)
    assert "Traceback" not in result.output
