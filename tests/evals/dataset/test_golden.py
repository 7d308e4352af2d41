"""Golden-set validation: every problem named by file, line and field; stable hashing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evals.dataset.golden import GoldenSetError, case_hash, load_golden_set
from evals.schema import content_hash
from evals.schema.dataset import identity_dump

QUESTIONS = """
- id: q1
  title: Registration
  rubric: States status and jurisdiction.
  required_tools: [registry_lookup]
"""


def make_set(root: Path, cases: list[dict]) -> Path:  # type: ignore[type-arg]
    root.mkdir(parents=True)
    (root / "dataset.yaml").write_text(
        "name: tiny\ntools:\n  - name: registry_lookup\n    description: Look up a company.\n"
    )
    (root / "questions.yaml").write_text(QUESTIONS)
    (root / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    (root / "fixtures").mkdir()
    return root


def case(i: int, **extra: object) -> dict:  # type: ignore[type-arg]
    base = {
        "id": f"c{i}",
        "question_id": "q1",
        "reference": "Active, SG",
        "input": {"question": "Status?", "subject": {"name": f"Co {i}"}},
    }
    base.update(extra)
    return base


def test_valid_set_loads_with_fixtures(tmp_path: Path) -> None:
    root = make_set(tmp_path / "s", [case(1), case(2)])
    (root / "fixtures" / "c1.jsonl").write_text(
        json.dumps(
            {
                "tool": "registry_lookup",
                "arguments": {"id": "1"},
                "observation": {"status": "Active"},
            }
        )
        + "\n"
    )
    gs = load_golden_set(root)
    assert [c.id for c in gs.cases] == ["c1", "c2"]
    assert gs.cases[0].fixtures[0].observation == {"status": "Active"}


def test_hash_ignores_key_order_and_whitespace(tmp_path: Path) -> None:
    a = make_set(tmp_path / "a", [case(1)])
    b = make_set(tmp_path / "b", [])
    reordered = dict(reversed(list(case(1).items())))
    (b / "cases.jsonl").write_text(
        "\n" + json.dumps(reordered, indent=None, separators=(" ,  ", " :  ")) + "\n\n"
    )
    assert load_golden_set(a).content_hash == load_golden_set(b).content_hash
    c = make_set(tmp_path / "c", [case(1, reference="Inactive")])
    assert load_golden_set(c).content_hash != load_golden_set(a).content_hash


def test_lazy_mode_holds_refs_reads_cases_back_and_hashes_the_same(tmp_path: Path) -> None:
    root = make_set(tmp_path / "s", [case(1), case(2, tags={"j": "GB"}), case(3)])
    (root / "fixtures" / "c2.jsonl").write_text(
        json.dumps(
            {
                "tool": "registry_lookup",
                "arguments": {"id": "2"},
                "observation": {"status": "Active"},
            }
        )
        + "\n"
    )
    eager = load_golden_set(root)
    lazy = load_golden_set(root, lazy=True)
    assert lazy.cases == [] and lazy.refs is not None and len(lazy.refs) == 3
    assert [lazy.load_case(ref) for ref in lazy.refs] == eager.cases
    assert [ref.hash for ref in lazy.refs] == [case_hash(c) for c in eager.cases]
    assert [ref.line for ref in lazy.refs] == [1, 2, 3]
    # Byte-identical to the hash of the whole structure (run ids depend on it).
    whole = content_hash(
        {
            "manifest": eager.manifest.model_dump(mode="json"),
            "questions": [identity_dump(q) for q in eager.questions.values()],
            "cases": [case_hash(c) for c in eager.cases],
        }
    )
    assert eager.content_hash == lazy.content_hash == whole
    # A filter keeps fewer cases; the set's hash still covers every case.
    kept = load_golden_set(root, lazy=True, keep=lambda c: c.tags.get("j") == "GB")
    assert kept.refs is not None and [kept.load_case(r).id for r in kept.refs] == ["c2"]
    assert kept.content_hash == whole
    # An empty set is refused (tests/evals/cli/test_hostile_inputs.py); the streamed hash of
    # no cases is still the whole structure's.
    from evals.dataset.golden import dataset_hash

    assert dataset_hash(eager.manifest, eager.questions.values(), []) == content_hash(
        {
            "manifest": eager.manifest.model_dump(mode="json"),
            "questions": [identity_dump(q) for q in eager.questions.values()],
            "cases": [],
        }
    )


def test_a_case_edited_after_loading_is_a_clear_error(tmp_path: Path) -> None:
    root = make_set(tmp_path / "s", [case(1), case(2), case(3)])
    lazy = load_golden_set(root, lazy=True)
    assert lazy.refs is not None
    first, second, third = list(lazy.refs)
    lines = (root / "cases.jsonl").read_text().splitlines(keepends=True)
    lines[1] = json.dumps(case(2, reference="Dissolved")) + "\n"
    (root / "cases.jsonl").write_text("".join(lines))
    assert lazy.load_case(first).id == "c1"
    with pytest.raises(GoldenSetError) as info:
        lazy.load_case(second)
    assert str(info.value).startswith(f"{root / 'cases.jsonl'}:2: case 'c2' changed")
    with pytest.raises(GoldenSetError):  # its offset moved: not a valid line any more
        lazy.load_case(third)
    (root / "fixtures" / "c1.jsonl").write_text(
        json.dumps({"tool": "registry_lookup", "arguments": {}, "observation": "new"}) + "\n"
    )
    with pytest.raises(GoldenSetError, match="c1' changed"):  # fixtures count too
        lazy.load_case(first)
    (root / "cases.jsonl").write_text("")
    with pytest.raises(GoldenSetError, match="gone"):
        lazy.load_case(first)


@pytest.mark.parametrize("lazy", [False, True])
def test_every_problem_is_listed_with_file_line_field(tmp_path: Path, lazy: bool) -> None:
    root = make_set(tmp_path / "s", [case(1), case(1), case(3, question_id="nope")])
    with open(root / "cases.jsonl", "a") as fh:
        fh.write('{"id": "c4", "question_id": "q1", "input": {"question": "x"}}\n')  # no reference
        fh.write('{"id": "c5", broken\n')
        fh.write(json.dumps(case(6, key_facts="not a list")) + "\n")
    (root / "cases.jsonl").write_bytes((root / "cases.jsonl").read_bytes() + b'{"id": "\xff"}\n')
    (root / "fixtures" / "c1.jsonl").write_text('{"tool": "x"}\n')  # no observation
    with pytest.raises(GoldenSetError) as info:
        load_golden_set(root, lazy=lazy)
    messages = [str(p) for p in info.value.problems]
    cases = str(root / "cases.jsonl")
    assert any(m.startswith(f"{cases}:2: id: duplicate case id 'c1'") for m in messages)
    assert any(m.startswith(f"{cases}:3: question_id: unknown question") for m in messages)
    assert any(m.startswith(f"{cases}:4: reference: Field required") for m in messages)
    assert any(m.startswith(f"{cases}:5: bad JSON") for m in messages)
    assert any(m.startswith(f"{cases}:6: key_facts") for m in messages)
    assert any(m.startswith(f"{cases}:7: not UTF-8") for m in messages)
    assert any(m.startswith(f"{root / 'fixtures' / 'c1.jsonl'}:1: observation") for m in messages)


def test_cli_validate_lists_all_and_exits_2_writing_nothing(
    tmp_path: Path, repo_root: Path
) -> None:
    demo = repo_root / "datasets" / "edd_demo"
    root = tmp_path / "copy"
    shutil.copytree(demo, root)
    lines = (root / "cases.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    lines[1] = lines[1][:-5]  # a broken line
    lines[2] = json.dumps(first)  # a duplicate id
    missing = json.loads(lines[3])
    del missing["reference"]
    lines[3] = json.dumps(missing)  # a missing field
    (root / "cases.jsonl").write_text("\n".join(lines) + "\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    proc = subprocess.run(
        [sys.executable, "-m", "evals.cli.main", "validate", str(root)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    cases = str(root / "cases.jsonl")
    assert f"{cases}:2: bad JSON" in proc.stderr
    assert f"{cases}:3: id: duplicate case id" in proc.stderr
    assert f"{cases}:4: reference: Field required" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_cli_validate_summarises_the_demo_set(repo_root: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "evals.cli.main",
            "validate",
            str(repo_root / "datasets" / "edd_demo"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "questions ×" in proc.stdout and "valid" in proc.stdout
