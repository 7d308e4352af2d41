"""The deterministic EDD rules on the real edd_demo golden set.

Every case's world is built the way a blueprint builds it: the lookups its question
needs, each answered by the case's recorded fixture (matched like the replay ToolBox
does, by tool name and normalised arguments). The five deterministic checks then judge a
trial whose trace holds exactly those calls.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from evals.agents.tools import call_signature
from evals.blueprints.edd_rules import (
    TOOLS_FOR,
    EddWorld,
    compose,
    countries_to_fetch,
    fact_lines,
    ownership_to_fetch,
)
from evals.dataset.golden import GoldenSet, load_golden_set
from evals.schema import Case
from judges import JudgeContext, JudgeEnv, JudgeSpec, build_judge

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "judges"))
from tests.helpers import judges as kit

DATASET = Path(__file__).resolve().parents[3] / "datasets" / "edd_demo"
CHECKS = ["answered", "required_tools", "key_facts", "forbidden_claims", "grounded"]
Call = tuple[str, dict[str, Any], Any, bool]

pytestmark = pytest.mark.skipif(
    not (DATASET / "cases.jsonl").exists(), reason="datasets/edd_demo not present"
)


@pytest.fixture(scope="module")
def golden() -> GoldenSet:
    return load_golden_set(DATASET)


def lookups(case: Case) -> tuple[EddWorld, list[Call]]:
    """The world of a case as a blueprint's deterministic lookups see it, and the calls."""
    recorded: dict[bytes, Any] = {}
    for fx in case.fixtures:
        recorded.setdefault(call_signature(fx.tool, fx.arguments), fx.observation)
    calls: list[Call] = []

    def call(tool: str, args: dict[str, Any]) -> Any:
        obs = recorded.get(call_signature(tool, args))
        assert obs is not None, f"{case.id}: no fixture for {tool}({args})"
        calls.append((tool, args, obs, True))
        return obs

    tools = TOOLS_FOR[case.question_id]
    world = EddWorld()
    number = case.input.subject["registration_number"]
    world.registry = call("registry_lookup", {"registration_number": number})
    if "get_ownership" in tools:
        while todo := ownership_to_fetch(world):
            for eid in todo:
                world.ownership[eid] = call("get_ownership", {"entity_id": eid})
    if "screen_parties" in tools:
        world.screening = call("screen_parties", {"entity_id": world.registry["entity_id"]})
    if "country_risk" in tools:
        for code in countries_to_fetch(world):
            world.country_risk[code] = call("country_risk", {"country": code})
    return world, calls


async def failed_checks(golden: GoldenSet, case: Case, answer: str, calls: list[Call]) -> list[str]:
    """'check: reason' of every deterministic check the answer fails."""
    trial = kit.trial(case, answer, calls)
    out = []
    for name in CHECKS:
        v = await build_judge(JudgeSpec(judge=name), JudgeEnv())(
            JudgeContext(trial, case, golden.question_for(case))
        )
        if v.label != "pass":
            out.append(f"{case.id} {name}: {v.reason}")
    return out


async def test_template_answers_pass_every_check_on_every_case(golden: GoldenSet) -> None:
    failures, passed = [], 0
    for case in golden.cases:
        world, calls = lookups(case)
        failed = await failed_checks(golden, case, compose(case.question_id, world), calls)
        failures += failed
        passed += not failed
    assert failures == []
    assert passed == len(golden.cases) == 110


def test_template_answers_are_the_references_word_for_word(golden: GoldenSet) -> None:
    """The rules reproduce build.py's reference writing from the observations alone (if
    the references' wording changes on purpose, change the rules' with it)."""
    differ = [c.id for c in golden.cases if compose(c.question_id, lookups(c)[0]) != c.reference]
    assert differ == []


async def test_references_pass_every_check_with_only_the_lookups_calls(
    golden: GoldenSet,
) -> None:
    """A perfect agent making just these lookups passes: nothing in a reference needs a
    fixture the rules do not fetch."""
    failures = []
    for case in golden.cases:
        _, calls = lookups(case)
        failures += await failed_checks(golden, case, case.reference, calls)
    assert failures == []


async def test_fact_lines_are_short_and_carry_every_key_fact(golden: GoldenSet) -> None:
    failures = []
    for case in golden.cases:
        world, calls = lookups(case)
        lines = fact_lines(case.question_id, world)
        assert 1 <= len(lines) <= 12, (case.id, lines)
        assert all(0 < len(line) < 200 and "\n" not in line for line in lines), case.id
        # A model that copies the lines as a list passes every check.
        copied = "\n".join(f"- {line}" for line in lines)
        failures += await failed_checks(golden, case, copied, calls)
    assert failures == []


def test_lookups_follow_every_chain_breadth_first_then_stop() -> None:
    world = EddWorld()
    assert ownership_to_fetch(world) == [] and countries_to_fetch(world) == []
    world.registry = {
        "entity_id": "S",
        "jurisdiction": {"country": "SG", "country_name": "Singapore"},
        "address": {"country": "US"},
    }
    assert ownership_to_fetch(world) == ["S"]
    world.ownership["S"] = _ownership(
        "S", [_org("A", 60), _person("P", 20), _org("N", 20, "nominee")]
    )
    assert ownership_to_fetch(world) == ["A", "N"]
    world.ownership["A"] = _ownership("A", [_org("B", 100)])
    world.ownership["N"] = {"entity_id": "N", "name": "N", "ownership_recorded": False}
    assert ownership_to_fetch(world) == ["B"]
    world.ownership["B"] = _ownership("B", [_org("A", 100)])  # a cycle back to A
    assert ownership_to_fetch(world) == []
    assert countries_to_fetch(world) == ["SG", "US"]
    world.country_risk["SG"] = {"risk": "low"}
    assert countries_to_fetch(world) == ["US"]
    world.registry["address"] = {"country": "SG"}
    assert countries_to_fetch(world) == []


def _ownership(
    eid: str, owners: list[dict[str, Any]], officers: tuple[str, ...] = ()
) -> dict[str, Any]:
    shares = [o["share_percent"] for o in owners]
    total = None if None in shares else sum(shares)
    obs: dict[str, Any] = {
        "entity_id": eid,
        "name": f"{eid} Ltd",
        "ownership_recorded": True,
        "owners": owners,
        "officers": [{"name": n, "type": "person", "role": "Director"} for n in officers],
        "recorded_share_total_percent": total,
    }
    if total is not None and total < 100:
        obs["unaccounted_share_percent"] = 100 - total
    return obs


def _org(eid: str, share: float | None, kind: str = "organisation") -> dict[str, Any]:
    return {
        "entity_id": eid,
        "name": f"{eid} Ltd",
        "type": kind,
        "share_percent": share,
        "role": "Owner",
        "country": "VG",
    }


def _person(name: str, share: float | None) -> dict[str, Any]:
    return {
        "entity_id": f"id-{name}",
        "name": name,
        "type": "person",
        "share_percent": share,
        "role": "Owner",
    }


def _world(*orgs: dict[str, Any], **registry: Any) -> EddWorld:
    reg = {
        "entity_id": "S",
        "name": "S Ltd",
        "jurisdiction": {"country": "SG", "country_name": "Singapore"},
        "address": {"country": "SG", "text": "1 Road", "type": "BUSINESS"},
        **registry,
    }
    return EddWorld(registry=reg, ownership={o["entity_id"]: o for o in orgs})


def test_ubo_and_transparency_rules_on_every_kind_of_holding() -> None:
    world = _world(
        _ownership(
            "S",
            [_org("A", 50), _org("N", 20, "nominee"), _org("F", 10), _person("Lee Kim", 10)],
            ("Dana Cole",),
        ),
        _ownership("A", [_person("Ann Tay", 60), _person("Bo Yu", 30)]),  # 10% unaccounted
        {"entity_id": "N", "name": "N Ltd", "ownership_recorded": False, "owners": []},
        {
            "entity_id": "F",
            "name": "F Ltd",
            "ownership_recorded": False,
            "owners": [],
            "note": "Registered in Virgin Islands, British; no ownership information.",
        },
    )
    ubo = compose("q_ubo", world)
    assert ubo.startswith(
        "Beneficial owners at or above 25%: Ann Tay (30% effective, through A Ltd)."
    )
    for part in (
        "Bo Yu holds 15%, below the threshold.",
        "Lee Kim holds 10%, below the threshold.",
        "20% is held by N Ltd, a nominee; its beneficial owner is not disclosed",
        "10% is held by F Ltd, a holding without ownership records",
    ):
        assert part in ubo
    assert "Dana Cole" not in ubo  # an owner reaches 25%: no senior managing official
    text = compose("q_transparency", world)
    assert text.startswith("Ownership is opaque. Chains: S Ltd -> A Ltd -> Ann Tay (30%);")
    assert "10% of A Ltd is not accounted for by any recorded owner" in text
    assert "N Ltd (20%) is a nominee for an undisclosed beneficial owner" in text
    assert "F Ltd (10%) is a holding registered in Virgin Islands, British with no" in text


def test_no_owner_at_a_quarter_names_the_managing_officials() -> None:
    world = _world(_ownership("S", [_person(f"P{i} Ng", 20) for i in range(4)], ("Dana Cole",)))
    text = compose("q_ubo", world)
    assert text.startswith("No natural person holds 25% or more. The senior managing official(s)")
    assert "Dana Cole" in text and "20% of the shares is not accounted for" in text
    assert compose("q_transparency", world).startswith("Ownership is partially transparent.")
    assert "No natural person holds 25% or more" in fact_lines("q_ubo", world)


def test_an_unrecorded_parent_share_keeps_the_persons_own_share_and_is_partial() -> None:
    world = _world(_ownership("S", [_org("A", None)]), _ownership("A", [_person("Ann Tay", 50)]))
    assert compose("q_ubo", world) == (
        "Beneficial owners at or above 25%: Ann Tay (50% of A Ltd, whose holding in S Ltd "
        "is not recorded)."
    )
    assert compose("q_transparency", world).startswith("Ownership is partially transparent.")


def test_ownership_cycles_end() -> None:
    world = _world(_ownership("S", [_org("A", 100)]), _ownership("A", [_org("S", 100)]))
    assert "cannot be traced" in compose("q_ubo", world)


def _screened(party: dict[str, Any], *hits: dict[str, Any]) -> EddWorld:
    world = _world()
    world.screening = {"parties": [{"party": party, "hits": list(hits)}]}
    return world


def _sdn(**fields: Any) -> dict[str, Any]:
    return {
        "list": "OFAC-SDN",
        "ent_num": "9",
        "name": "DOE, Jon",
        "programs": ["SDGT"],
        "dates_of_birth": [],
        "nationality": [],
        "citizenship": [],
        **fields,
    }


PERSON = {
    "entity_id": "P",
    "name": "Jon Doe",
    "type": "person",
    "role": "Director",
    "date_of_birth": "1970-05-01",
    "nationality": "MX",
}


@pytest.mark.parametrize(
    ("hit", "expected"),
    [
        (
            _sdn(dates_of_birth=["01 May 1970"], nationality=["Mexico"]),
            "Confirmed matches: Jon Doe (Director) matches SDN entry 9 'DOE, Jon' (SDGT): name, "
            "date of birth and nationality agree.",
        ),
        (_sdn(dates_of_birth=["circa 1970"]), "name and date of birth agree"),
        (
            _sdn(dates_of_birth=["1971"], citizenship=["Korea, North"]),
            "discounted, date of birth differs (1970-05-01 vs 1971); nationality differs "
            "(Mexico vs Korea, North)",
        ),
        (_sdn(), "Hits to review (identifiers missing): Jon Doe (Director) against SDN entry 9"),
        (
            {
                "list": "WATCHLIST",
                "record_id": "7",
                "name": "Jon Doh",
                "category": "PEP",
                "entity_id": "E9",
                "same_entity_as_party": False,
            },
            "No confirmed matches. Discounted near-misses: Jon Doe (Director) against watchlist "
            "record 7 'Jon Doh' (PEP): discounted, resolved to a different entity (E9, party P).",
        ),
        (
            {
                "list": "WATCHLIST",
                "record_id": "7",
                "name": "Jon Doh",
                "category": "PEP",
                "same_entity_as_party": None,
            },
            "entity resolution did not decide",
        ),
    ],
)
def test_screening_verdicts(hit: dict[str, Any], expected: str) -> None:
    world = _screened(PERSON, hit)
    assert expected in compose("q_screening", world)
    assert all(len(line) < 200 for line in fact_lines("q_screening", world))


def test_an_organisation_sdn_hit_is_discounted_by_its_country() -> None:
    org = {
        "entity_id": "S",
        "name": "Acme Ltd",
        "type": "organisation",
        "role": "subject",
        "country": "SG",
    }
    world = _screened(org, _sdn(name="ACME LTD", addresses=["1 Street, Tehran, Iran"]))
    assert "discounted, country differs (Singapore vs Iran)" in compose("q_screening", world)


def _risk(code: str, risk: str) -> dict[str, Any]:
    return {"country": code, "risk": risk, "basis": f"basis {code}", "sdn_entries_with_address": 3}


@pytest.mark.parametrize(
    ("address", "risks", "overall"),
    [
        ("SG", {"SG": "low"}, "low"),
        ("US", {"SG": "low", "US": "low"}, "medium"),
        ("SY", {"SG": "low", "SY": "high"}, "high"),
        (None, {"SG": "medium"}, "medium"),
    ],
)
def test_jurisdiction_overall_is_the_highest_and_abroad_is_at_least_medium(
    address: str | None, risks: dict[str, str], overall: str
) -> None:
    world = _world(address={"country": address, "text": "1 Road", "type": "BUSINESS"})
    assert countries_to_fetch(world) == list(risks)
    world.country_risk = {c: _risk(c, r) for c, r in risks.items()}
    text = compose("q_jurisdiction_risk", world)
    assert text.endswith(f"Overall jurisdiction and address risk: {overall}.")
    assert ("outside the jurisdiction of registration" in text) == (address not in (None, "SG"))
    assert f"Overall jurisdiction and address risk: {overall}" in "\n".join(
        fact_lines("q_jurisdiction_risk", world)
    )


def test_missing_observations_and_unknown_questions() -> None:
    empty = EddWorld()
    for qid in TOOLS_FOR:
        assert compose(qid, empty) and fact_lines(qid, empty)
    assert "risk not looked up" in compose("q_jurisdiction_risk", _world())
    with pytest.raises(ValueError, match="q_other"):
        compose("q_other", empty)
    with pytest.raises(ValueError, match="q_other"):
        fact_lines("q_other", empty)


def test_odd_observations_are_described_not_crashed_on() -> None:
    """Observations are untrusted: unparseable shares count as not recorded."""
    owners = [{**_person("Ann Tay", None), "share_percent": "n/a"}, {"type": "organisation"}]
    world = _world({"entity_id": "S", "ownership_recorded": True, "owners": owners})
    world.screening = {"parties": [{"party": {}, "hits": [{"list": "OFAC-SDN"}, {}]}]}
    world.country_risk = {"SG": {}}
    for qid in TOOLS_FOR:
        assert compose(qid, world)
        assert all(0 < len(line) < 200 for line in fact_lines(qid, world))
    assert "The share of Ann Tay is not recorded." in compose("q_ubo", world)
