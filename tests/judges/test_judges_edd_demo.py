"""Deterministic checks on the real edd_demo golden set: every reference answer passes
with the recorded observations, and hand-written wrong answers fail for the right reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evals.dataset.golden import GoldenSet, load_golden_set
from evals.schema import Case, Verdict
from judges import JudgeContext, JudgeEnv, JudgeSpec, build_judge
from tests.helpers import judges as kit

DATASET = Path(__file__).resolve().parents[2] / "datasets" / "edd_demo"
CHECKS = ["answered", "required_tools", "key_facts", "forbidden_claims", "grounded"]

pytestmark = pytest.mark.skipif(
    not (DATASET / "cases.jsonl").exists(), reason="datasets/edd_demo not present"
)


@pytest.fixture(scope="module")
def golden() -> GoldenSet:
    return load_golden_set(DATASET)


def all_calls(
    case: Case, tools: set[str] | None = None
) -> list[tuple[str, dict[str, Any], Any, bool]]:
    """The agent called every recorded fixture (optionally only these tools)."""
    return [
        (f.tool, f.arguments, f.observation, True)
        for f in case.fixtures
        if tools is None or f.tool in tools
    ]


async def verdicts(
    golden: GoldenSet, case_id: str, answer: str, tools: set[str] | None = None
) -> dict[str, Verdict]:
    case = golden.case(case_id)
    trial = kit.trial(case, answer, all_calls(case, tools))
    out = {}
    for name in CHECKS:
        out[name] = await build_judge(JudgeSpec(judge=name), JudgeEnv())(
            JudgeContext(trial, case, golden.question_for(case))
        )
    return out


async def test_every_reference_answer_passes_every_check(golden: GoldenSet) -> None:
    failures = []
    for case in golden.cases:
        for name, v in (await verdicts(golden, case.id, case.reference)).items():
            if v.label != "pass":
                failures.append(f"{case.id} {name}: {v.reason}")
    assert failures == []
    assert len(golden.cases) >= 60


async def test_other_spellings_of_the_right_answer_pass(golden: GoldenSet) -> None:
    v = await verdicts(
        golden,
        "e2011-ubo",
        "The beneficial owners are WANG JIE, holding 60 percent, and Wang Wei with 40.0 %.",
    )
    assert {n: x.label for n, x in v.items()} == dict.fromkeys(CHECKS, "pass")
    v = await verdicts(
        golden,
        "d09-ubo",
        "Howard Hughes and Margaret Charney each hold 35 % effectively (70% "
        "of Universal Exports Worldwide's 50%); Anna Anderson holds 30%.",
    )
    assert {n: x.label for n, x in v.items()} == dict.fromkeys(CHECKS, "pass")


async def test_missing_key_facts_are_named(golden: GoldenSet) -> None:
    v = await verdicts(golden, "e2011-registration", "Hajah Maimunah is registered in Singapore.")
    assert v["key_facts"].label == "fail"
    assert "'201012345A', 'Active', '2010'" in v["key_facts"].reason
    wrong_share = await verdicts(
        golden,
        "d09-ubo",
        "Howard Hughes (50%), Margaret Charney (50%) and Anna "
        "Anderson (30%) are the beneficial owners.",
    )
    assert wrong_share["key_facts"].label == "fail"
    assert "missing key fact(s) '35%'" in wrong_share["key_facts"].reason


async def test_skipped_required_tools_are_named(golden: GoldenSet) -> None:
    case = golden.case("d09-ubo")
    v = await verdicts(golden, case.id, case.reference, tools={"registry_lookup"})
    assert v["required_tools"].label == "fail"
    assert v["required_tools"].reason == "required tool get_ownership was never called"
    # The owners it names came from nowhere the agent looked.
    assert v["grounded"].label == "fail" and "Howard Hughes" in v["grounded"].reason


async def test_forbidden_claims_are_caught(golden: GoldenSet) -> None:
    v = await verdicts(golden, "d03-screening", "Darla Anderson is a confirmed watchlist match.")
    assert v["forbidden_claims"].label == "fail"
    assert "'Darla Anderson is a confirmed watchlist match.'" in v["forbidden_claims"].reason


async def test_invented_facts_are_flagged(golden: GoldenSet) -> None:
    case = golden.case("e2011-registration")
    v = await verdicts(
        golden, case.id, case.reference + " Its director is Peter Lim Kok Wah, appointed in 2017."
    )
    assert v["grounded"].label == "fail"
    assert (
        "name Peter Lim Kok Wah" in v["grounded"].reason and "number 2017" in v["grounded"].reason
    )
