"""Deterministic checks: each decision is right and its reason names the evidence."""

from __future__ import annotations

from typing import Any

import pytest

from evals.schema import Question, TrialError, Verdict
from judges import JudgeContext, JudgeEnv, JudgeSpec, build_judge
from judges.base import JudgeConfigError
from tests.helpers import judges as kit


async def run_check(
    name: str, trial: Any, case: Any = None, question: Question | None = None, **params: Any
) -> Verdict:
    judge = build_judge(JudgeSpec(judge=name, params=params), JudgeEnv())
    return await judge(JudgeContext(trial, case or kit.case(), question or kit.question()))


async def test_answered_passes_an_answer_and_fails_agent_errors() -> None:
    case = kit.case()
    ok = await run_check("answered", kit.trial(case, kit.GOOD_ANSWER))
    assert ok.label == "pass" and ok.confidence == 1.0 and ok.usage.cost_usd == 0
    err = TrialError(kind="agent", code="max_steps", message="gave up after 8 steps")
    bad = await run_check("answered", kit.trial(case, None, error=err))
    assert bad.label == "fail"
    assert bad.reason.startswith("no answer: agent error max_steps")
    empty = await run_check("answered", kit.trial(case, "   "))
    assert empty.label == "fail" and "empty" in empty.reason


async def test_required_tools_names_the_missing_call() -> None:
    case = kit.case()
    v = await run_check("required_tools", kit.trial(case, kit.GOOD_ANSWER))
    assert v.label == "pass" and "get_ownership" in v.reason
    only_registry = [c for c in kit.GOOD_CALLS if c[0] == "registry_lookup"]
    v = await run_check("required_tools", kit.trial(case, kit.GOOD_ANSWER, only_registry))
    assert v.label == "fail"
    assert v.reason == "required tool get_ownership was never called"
    assert v.score == 0.5


async def test_required_tools_unmatched_call_does_not_count() -> None:
    case = kit.case()
    calls = [
        kit.GOOD_CALLS[0],
        ("get_ownership", {"registration_number": "HRB 999"}, "no recorded observation", False),
    ]
    v = await run_check("required_tools", kit.trial(case, kit.GOOD_ANSWER, calls))
    assert v.label == "fail"
    assert "get_ownership was called 1x but no call matched a recorded observation" in v.reason
    assert "HRB 999" in v.reason
    lenient = await run_check(
        "required_tools", kit.trial(case, kit.GOOD_ANSWER, calls), require_matched=False
    )
    assert lenient.label == "pass"


async def test_key_facts_normalised_and_missing_fact_named() -> None:
    case = kit.case()
    v = await run_check("key_facts", kit.trial(case, kit.GOOD_ANSWER))
    assert v.label == "pass" and v.reason == "4 of 4 key facts present"
    v = await run_check("key_facts", kit.trial(case, kit.WRONG_ANSWER))
    assert v.label == "fail"
    assert "'25%'" in v.reason and "'Bergmann Holding AG'" in v.reason and "'75%'" in v.reason
    assert "'Anna Schmidt'" not in v.reason.split("(")[0].replace("missing", "")
    assert v.score == 0.25
    partial = await run_check("key_facts", kit.trial(case, kit.WRONG_ANSWER), min_fraction=0.25)
    assert partial.label == "pass"


async def test_key_fact_alternatives() -> None:
    case = kit.case(key_facts=["no sanctions match | not on any sanctions list"])
    v = await run_check("key_facts", kit.trial(case, "It is not on any sanctions list."), case)
    assert v.label == "pass"


async def test_forbidden_claim_found_with_context_and_negation_guard() -> None:
    case = kit.case()
    v = await run_check(
        "forbidden_claims", kit.trial(case, kit.GOOD_ANSWER + " Note: Anna Schmidt is sanctioned.")
    )
    assert v.label == "fail"
    assert "'Anna Schmidt is sanctioned'" in v.reason and "note anna schmidt" in v.reason
    denied = await run_check(
        "forbidden_claims",
        kit.trial(case, kit.GOOD_ANSWER + " It is not true that Anna Schmidt is sanctioned."),
    )
    assert denied.label == "pass" and "denied, not claimed" in denied.reason
    strict = await run_check(
        "forbidden_claims",
        kit.trial(case, kit.GOOD_ANSWER + " It is not true that Anna Schmidt is sanctioned."),
        negation_guard=False,
    )
    assert strict.label == "fail"


async def test_answer_schema() -> None:
    schema = {
        "type": "object",
        "required": ["owners"],
        "properties": {"owners": {"type": "array", "items": {"type": "string"}}},
    }
    q = kit.question().model_copy(update={"answer_schema": schema})
    case = kit.case()
    free = await run_check("answer_schema", kit.trial(case, kit.GOOD_ANSWER))
    assert free.label == "pass" and "free-text" in free.reason
    ok = await run_check(
        "answer_schema", kit.trial(case, '```json\n{"owners": ["A"]}\n```'), question=q
    )
    assert ok.label == "pass"
    bad = await run_check("answer_schema", kit.trial(case, '{"owners": [1]}'), question=q)
    assert bad.label == "fail" and "owners/0" in bad.reason
    text = await run_check("answer_schema", kit.trial(case, kit.GOOD_ANSWER), question=q)
    assert text.label == "fail" and "not JSON" in text.reason


async def test_grounded_flags_unseen_facts_numbers_and_names() -> None:
    case = kit.case()
    v = await run_check("grounded", kit.trial(case, kit.GOOD_ANSWER))
    assert v.label == "pass", v.reason
    # Right answer, but the agent never looked at the ownership register: a guess.
    guess = await run_check("grounded", kit.trial(case, kit.GOOD_ANSWER, kit.GOOD_CALLS[:1]))
    assert guess.label == "fail"
    assert "key fact 'Anna Schmidt' stated but in no observation" in guess.reason
    invented = await run_check(
        "grounded",
        kit.trial(case, kit.GOOD_ANSWER + " A third owner, Karl Otto Brandt, holds 12.5%."),
    )
    assert invented.label == "fail"
    assert "number 12.5%" in invented.reason and "name Karl Otto Brandt" in invented.reason
    # An unmatched call's "no recorded observation" notice grounds nothing.
    calls = [kit.GOOD_CALLS[0], ("get_ownership", {}, kit.OWNERSHIP_OBS, False)]
    unmatched = await run_check("grounded", kit.trial(case, kit.GOOD_ANSWER, calls))
    assert unmatched.label == "fail"


async def test_budget() -> None:
    case = kit.case()
    v = await run_check(
        "budget",
        kit.trial(case, kit.GOOD_ANSWER, model_calls=9, cost_usd=0.2),
        max_steps=8,
        max_cost_usd=0.1,
    )
    assert v.label == "fail"
    assert "used 9 model calls > max 8" in v.reason and "used 0.2 cost USD > max 0.1" in v.reason
    ok = await run_check("budget", kit.trial(case, kit.GOOD_ANSWER), max_steps=8)
    assert ok.label == "pass"
    with pytest.raises(JudgeConfigError, match="at least one budget"):
        build_judge(JudgeSpec(judge="budget"), JudgeEnv())


def test_unknown_params_and_judges_are_config_errors() -> None:
    with pytest.raises(JudgeConfigError, match=r"params\.min_fractoin"):
        build_judge(JudgeSpec(judge="key_facts", params={"min_fractoin": 1}), JudgeEnv())
    with pytest.raises(JudgeConfigError, match="unknown judge 'key_fact'"):
        build_judge(JudgeSpec(judge="key_fact"), JudgeEnv())
    with pytest.raises(JudgeConfigError, match="needs the model gateway"):
        build_judge(JudgeSpec(judge="rubric", model="x"), JudgeEnv())


async def test_versions_differ_with_params_and_keys_with_trials() -> None:
    a = build_judge(JudgeSpec(judge="key_facts"), JudgeEnv())
    b = build_judge(JudgeSpec(judge="key_facts", params={"min_fraction": 0.5}), JudgeEnv())
    assert a.version != b.version
    case = kit.case()
    v1 = await a(JudgeContext(kit.trial(case, kit.GOOD_ANSWER), case, kit.question()))
    v2 = await a(JudgeContext(kit.trial(case, kit.GOOD_ANSWER, rep=1), case, kit.question()))
    v3 = await a(JudgeContext(kit.trial(case, kit.GOOD_ANSWER), case, kit.question()))
    assert v1.key != v2.key and v1.key == v3.key


async def test_grounded_names_do_not_run_across_a_sentence_end() -> None:
    # "Anna Schmidt. Discounted ..." is a grounded name, then a new sentence: not the
    # unseen name "Anna Schmidt Discounted". A name with periods inside still counts whole,
    # and an invented name after a sentence end is still flagged.
    case = kit.case()
    ok = await run_check(
        "grounded", kit.trial(case, kit.GOOD_ANSWER + " We screened Anna Schmidt. Discounted hits.")
    )
    assert ok.label == "pass", ok.reason
    bad = await run_check(
        "grounded", kit.trial(case, kit.GOOD_ANSWER + " We screened Anna Schmidt. Karl Brandt too.")
    )
    assert bad.label == "fail" and "Karl Brandt" in bad.reason
