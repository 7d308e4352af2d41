"""The edd_demo golden set: rebuilt byte for byte, valid, and true to its source data."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evals.dataset.golden import GoldenSet, load_golden_set
from evals.schema import Case

REPO = Path(__file__).resolve().parents[2]
SET = REPO / "datasets" / "edd_demo"
SOURCE = SET / "source"
SHARED = REPO.parent / "shared" / "data"


def _files(root: Path) -> set[Path]:
    return {
        p.relative_to(root)
        for p in root.rglob("*")
        if p.is_file() and p.name != "build.py" and "__pycache__" not in p.parts
    }


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", text).strip()


def _rows(rel: str) -> list[dict[str, str]]:
    with (SOURCE / rel).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def golden() -> GoldenSet:
    return load_golden_set(SET)


def _case(golden: GoldenSet, case_id: str) -> Case:
    return golden.case(case_id)


def _fixture(case: Case, tool: str, **arguments: Any) -> Any:
    for f in case.fixtures:
        if f.tool == tool and f.arguments == arguments:
            return f.observation
    raise AssertionError(f"{case.id}: no fixture {tool}({arguments})")


# --------------------------------------------------------------------------- (1) rebuild


BUILD_COMMANDS = {
    "script": [sys.executable, str(SET / "build.py")],
    "module": [sys.executable, "-m", "evals.dataset.edd_demo"],
}


def _rebuild(command: list[str], source: Path, out: Path) -> None:
    proc = subprocess.run(
        [*command, "--out", str(out), "--source", str(source)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr


def _assert_same_as_committed(out: Path) -> None:
    committed, rebuilt = _files(SET), _files(out)
    assert rebuilt == committed
    different = [
        str(rel) for rel in sorted(rebuilt) if (out / rel).read_bytes() != (SET / rel).read_bytes()
    ]
    assert different == []


@pytest.mark.parametrize("command", sorted(BUILD_COMMANDS))
def test_rebuild_from_committed_source_is_byte_identical(command: str, tmp_path: Path) -> None:
    out = tmp_path / "edd_demo"
    _rebuild(BUILD_COMMANDS[command], SOURCE, out)
    _assert_same_as_committed(out)


@pytest.mark.skipif(not (SHARED / "kyb").is_dir(), reason="shared data not present")
def test_rebuild_from_the_full_shared_data_is_byte_identical(tmp_path: Path) -> None:
    # The copy holds only the rows used: the picks from the full data must be the same.
    out = tmp_path / "edd_demo"
    _rebuild(BUILD_COMMANDS["module"], SHARED, out)
    _assert_same_as_committed(out)


def test_generated_json_lines_are_canonical() -> None:
    for path in [SET / "cases.jsonl", *sorted((SET / "fixtures").glob("*.jsonl"))]:
        data = path.read_bytes()
        assert b"\r" not in data and data.endswith(b"\n"), path
        data.decode("utf-8")


@pytest.mark.skipif(not (SHARED / "kyb").is_dir(), reason="shared data not present")
def test_source_copy_rows_are_verbatim_rows_of_the_shared_data() -> None:
    for rel in [
        "kyb/reference.csv",
        "kyb/customers.csv",
        "kyb/watchlist.csv",
        "kyb/actual_truthset_key.csv",
        "sanctions/sdn.csv",
        "sanctions/add.csv",
        "sanctions/alt.csv",
    ]:
        original = {line.rstrip("\r\n") for line in (SHARED / rel).read_text("utf-8").splitlines()}
        copied = [line.rstrip("\r\n") for line in (SOURCE / rel).read_text("utf-8").splitlines()]
        assert copied and set(copied) <= original, rel
    assert (SOURCE / "kyb" / "LICENSE-senzing-truth-sets").read_bytes() == (
        SHARED / "kyb" / "LICENSE-senzing-truth-sets"
    ).read_bytes()


# --------------------------------------------------------------------------- (2) shape


def test_set_loads_with_enough_questions_cases_and_jurisdictions(golden: GoldenSet) -> None:
    assert golden.name == "edd_demo"
    assert len(golden.questions) >= 5
    assert len(golden.cases) >= 60
    jurisdictions = {c.tags["jurisdiction"] for c in golden.cases}
    assert len(jurisdictions) >= 4
    assert all(re.fullmatch(r"[A-Z]{2}", j) for j in jurisdictions)
    per_question = Counter(c.question_id for c in golden.cases)
    assert set(per_question) == set(golden.questions)
    assert {c.tags["source"] for c in golden.cases} == {"reference", "derived"}
    for case in golden.cases:
        assert case.tags["risk_tier"] in {"low", "medium", "high"}
        assert case.reference and case.key_facts and case.required_tools


def test_every_required_tool_has_a_fixture_and_fixtures_fit_the_tools(golden: GoldenSet) -> None:
    tools = {t.name: t for t in golden.manifest.tools}
    for q in golden.questions.values():
        assert set(q.required_tools) <= set(tools)
    for case in golden.cases:
        called = {f.tool for f in case.fixtures}
        assert set(case.required_tools) <= called, case.id
        for f in case.fixtures:
            schema = tools[f.tool].parameters
            assert set(f.arguments) == set(schema["required"]), (case.id, f.tool)
            assert all(isinstance(v, str) and v for v in f.arguments.values())
        subject = case.input.subject
        lookup = _fixture(
            case, "registry_lookup", registration_number=subject["registration_number"]
        )
        assert lookup["name"] == subject["name"]
        assert lookup["jurisdiction"]["country"] == subject["country"] == case.tags["jurisdiction"]
        entity = lookup["entity_id"]
        assert _fixture(case, "get_ownership", entity_id=entity)["entity_id"] == entity
        assert _fixture(case, "screen_parties", entity_id=entity)["entity_id"] == entity


def test_key_facts_are_in_the_reference_and_forbidden_claims_are_not(golden: GoldenSet) -> None:
    for case in golden.cases:
        ref = _norm(case.reference)
        for fact in case.key_facts:
            assert _norm(fact) in ref, (case.id, fact)
        for claim in case.forbidden:
            assert _norm(claim) not in ref, (case.id, claim)


def test_near_miss_cases_exist_with_forbidden_match_claims(golden: GoldenSet) -> None:
    near = [c for c in golden.cases if "near_miss" in c.tags.get("screening", "")]
    assert len(near) >= 5
    kinds = set()
    for case in near:
        parties = _fixture(case, "screen_parties", entity_id=case.tags["subject"])["parties"]
        for p in parties:
            for hit in p["hits"]:
                kinds.add(hit["list"])
        assert any("confirmed" in f or "is the person listed" in f for f in case.forbidden)
    assert kinds >= {"WATCHLIST", "OFAC-SDN"}
    matches = [c for c in golden.cases if c.tags.get("screening", "").startswith("match")]
    assert matches and all(any("has no" in f for f in c.forbidden) for c in matches)


# --------------------------------------------------------------------------- (3) facts


def test_hajah_maimunah_registration_and_owners_match_reference_csv(golden: GoldenSet) -> None:
    ref = _rows("kyb/reference.csv")
    org = next(r for r in ref if r["NATIONAL_ID_NUMBER"] == "201012345A")
    assert org["PRIMARY_NAME_ORG"] == "Hajah Maimunah"
    assert org["NATIONAL_ID_COUNTRY"] == "SG"
    owners = {
        r["PRIMARY_NAME_FULL"]: r["REL_POINTER_ROLE"]
        for r in ref
        if r["REL_POINTER_KEY"] == org["REL_ANCHOR_KEY"] and r["RECORD_TYPE"] == "PERSON"
    }
    assert owners == {"Wang Jie": "Owns 60%", "Wang Wei": "Owns 40%"}

    reg = _case(golden, "e2011-registration")
    assert reg.input.subject == {
        "name": "Hajah Maimunah",
        "registration_number": "201012345A",
        "country": "SG",
    }
    assert {"201012345A", "Singapore", org["STATUS"]} <= set(reg.key_facts)
    obs = _fixture(reg, "registry_lookup", registration_number="201012345A")
    assert obs["status"] == org["STATUS"] and obs["registered_year"] == org["DATE"]

    ubo = _case(golden, "e2011-ubo")
    assert {"Wang Jie", "60%", "Wang Wei", "40%"} <= set(ubo.key_facts)
    shares = {
        o["name"]: o["share_percent"]
        for o in _fixture(ubo, "get_ownership", entity_id="E2011")["owners"]
    }
    assert shares == {"Wang Jie": 60, "Wang Wei": 40}


def test_watchlist_hits_agree_with_the_truth_key(golden: GoldenSet) -> None:
    cluster = {
        (r["DATA_SOURCE"], r["RECORD_ID"]): r["CLUSTER_ID"]
        for r in _rows("kyb/actual_truthset_key.csv")
    }
    checked: Counter[bool] = Counter()
    for case in golden.cases:
        if case.question_id != "q_screening":
            continue
        for p in _fixture(case, "screen_parties", entity_id=case.tags["subject"])["parties"]:
            for hit in p["hits"]:
                if hit["list"] != "WATCHLIST":
                    continue
                truth = "E" + cluster[("WATCHLIST", hit["record_id"])]
                assert hit["entity_id"] == truth
                assert hit["same_entity_as_party"] == (truth == p["party"]["entity_id"])
                checked[hit["same_entity_as_party"]] += 1
                if not hit["same_entity_as_party"]:
                    name = p["party"]["name"]
                    assert f"{name} is a confirmed watchlist match." in case.forbidden
    assert checked[True] and checked[False]
    # The truth key puts Faisal Siddiqui and the sanctioned Arabic-script watchlist record
    # in one entity: the screening answer must report him.
    assert cluster[("REFERENCE", "2051")] == cluster[("WATCHLIST", "2052")]
    assert {"Faisal Siddiqui", "Sanctioned"} <= set(_case(golden, "e2041-screening").key_facts)


def test_sdn_matches_and_near_misses_are_checkable_against_sdn_csv(golden: GoldenSet) -> None:
    with (SOURCE / "sanctions" / "sdn.csv").open(encoding="utf-8", newline="") as fh:
        sdn = {row[0]: row for row in csv.reader(fh)}
    outcomes: Counter[str] = Counter()
    for case in golden.cases:
        if case.question_id != "q_screening":
            continue
        for p in _fixture(case, "screen_parties", entity_id=case.tags["subject"])["parties"]:
            party = p["party"]
            for hit in p["hits"]:
                if hit["list"] != "OFAC-SDN":
                    continue
                row = sdn[hit["ent_num"]]
                assert row[1] == hit["name"] and hit["remarks"] == row[11]
                birth_years = re.findall(r"DOB [^;]*?(\d{4})", row[11])
                listed = f"{party['name']} is the person listed in SDN entry {hit['ent_num']}"
                if any(f.startswith(listed) for f in case.forbidden):
                    outcomes["discounted"] += 1
                    # The difference is visible in the data: another year of birth.
                    assert party["date_of_birth"][:4] not in birth_years
                else:
                    outcomes["match"] += 1
                    assert party["name"] in case.key_facts and "SDN" in case.key_facts
                    assert party["date_of_birth"][:4] in birth_years
    assert outcomes["match"] >= 3 and outcomes["discounted"] >= 3
