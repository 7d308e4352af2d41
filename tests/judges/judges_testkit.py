"""Builders for judge tests: an EDD-like question and case, and trials with real traces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.dataset.golden import GoldenSet, case_hash
from evals.schema import (
    AgentSpec,
    Case,
    CaseInput,
    DatasetManifest,
    ErrorStep,
    FinalAnswerStep,
    Message,
    ModelCallStep,
    ModelSpec,
    Question,
    ToolCallStep,
    ToolFixture,
    Trace,
    Trial,
    TrialError,
    Usage,
    trial_key,
)
from evals.store.workspace import Workspace

REGISTRY_OBS = {
    "name": "Nordwind Logistik GmbH",
    "registration_number": "HRB 123456",
    "status": "active",
    "incorporated": "2014-03-05",
    "country": "DE",
}
OWNERSHIP_OBS = {
    "owners": [
        {"name": "Anna Schmidt", "share_pct": 25.0},
        {"name": "Bergmann Holding AG", "share_pct": 75.0},
    ]
}


def question() -> Question:
    """The ownership question of an EDD review."""
    return Question(
        id="q_ownership",
        title="Beneficial owners",
        rubric="Names every owner with at least 25% and their share, from the registry.",
        required_tools=["get_ownership"],
    )


def case(**overrides: Any) -> Case:
    """A case about a German logistics company with two owners."""
    data: dict[str, Any] = {
        "id": "c_nordwind",
        "question_id": "q_ownership",
        "input": CaseInput(
            question="Who are the beneficial owners of the company?",
            subject={"name": "Nordwind Logistik GmbH", "country": "DE"},
        ),
        "reference": "Anna Schmidt holds 25% and Bergmann Holding AG holds 75%.",
        "key_facts": ["Anna Schmidt", "25%", "Bergmann Holding AG", "75%"],
        "forbidden": ["Anna Schmidt is sanctioned"],
        "required_tools": ["registry_lookup"],
        "fixtures": [
            ToolFixture(
                tool="registry_lookup",
                arguments={"name": "Nordwind Logistik GmbH"},
                observation=REGISTRY_OBS,
            ),
            ToolFixture(
                tool="get_ownership",
                arguments={"registration_number": "HRB 123456"},
                observation=OWNERSHIP_OBS,
            ),
        ],
    }
    data.update(overrides)
    return Case(**data)


GOOD_ANSWER = (
    "Nordwind Logistik GmbH (HRB 123456) is owned by Anna Schmidt (25 %) and "
    "Bergmann Holding AG (75.0%)."
)
WRONG_ANSWER = "Nordwind Logistik GmbH is owned by Anna Schmidt alone."

GOOD_CALLS: list[tuple[str, dict[str, Any], Any, bool]] = [
    ("registry_lookup", {"name": "Nordwind Logistik GmbH"}, REGISTRY_OBS, True),
    ("get_ownership", {"registration_number": "HRB 123456"}, OWNERSHIP_OBS, True),
]


def trial(
    the_case: Case,
    answer: str | None,
    calls: list[tuple[str, dict[str, Any], Any, bool]] | None = None,
    *,
    run_id: str = "run-test",
    rep: int = 0,
    model_calls: int = 3,
    cost_usd: float = 0.0,
    error: TrialError | None = None,
    prompt_hash: str = "p1",
) -> Trial:
    """A trial whose trace made `calls` (tool, arguments, observation, matched)."""
    calls = GOOD_CALLS if calls is None else calls
    steps: list[Any] = [
        ModelCallStep(model="m", usage=Usage(input_tokens=100, calls=1)) for _ in range(model_calls)
    ]
    steps += [ToolCallStep(tool=t, arguments=a, observation=o, matched=m) for t, a, o, m in calls]
    if answer is not None:
        steps.append(FinalAnswerStep(text=answer))
    if error is not None:
        steps.append(ErrorStep(error_kind=f"{error.kind}:{error.code}", message=error.message))
    messages = [
        Message(role="system", content="You research companies for a KYB review."),
        Message(
            role="user", content=f"{the_case.input.question}\nSubject: {the_case.input.subject}"
        ),
    ]
    agent, model = AgentSpec(name="react"), ModelSpec(alias="m", model="openai/m")
    chash = case_hash(the_case)
    return Trial(
        key=trial_key(chash, agent, model, prompt_hash, rep),
        run_id=run_id,
        dataset="test",
        dataset_hash="d",
        case_id=the_case.id,
        case_hash=chash,
        question_id=the_case.question_id,
        agent=agent,
        model=model,
        prompt="v1",
        prompt_hash=prompt_hash,
        repetition=rep,
        status="error" if error is not None else "ok",
        trace=Trace(
            messages=messages,
            steps=steps,
            final_answer=answer,
            usage=Usage(
                input_tokens=100 * model_calls,
                output_tokens=50,
                cost_usd=cost_usd,
                calls=model_calls,
            ),
            latency_s=1.5,
            error=error,
        ),
    )


def golden(cases: list[Case]) -> GoldenSet:
    """A golden set of these cases (all of the ownership question)."""
    q = question()
    return GoldenSet(Path("."), DatasetManifest(name="test"), {q.id: q}, cases)


def populate(ws: Workspace) -> tuple[list[Trial], GoldenSet]:
    """Seven trials of run-test: three good, three failing the checks, one infra error."""
    cases = [case(id=f"c{i}") for i in range(6)]
    registry_only = [c for c in GOOD_CALLS if c[0] == "registry_lookup"]
    infra = TrialError(kind="infra", code="rate_limit", message="429 after retries")
    agent = TrialError(kind="agent", code="max_steps", message="8 steps")
    trials = [
        trial(cases[0], GOOD_ANSWER),  # survives (llm pass)
        trial(cases[1], GOOD_ANSWER),  # survives (llm abstain)
        trial(cases[2], GOOD_ANSWER),  # llm fails it
        trial(cases[3], WRONG_ANSWER),  # checks fail: key facts
        trial(cases[4], GOOD_ANSWER, registry_only),  # checks fail: tool
        trial(cases[5], None, error=agent),  # checks fail: no answer
        trial(cases[0], None, error=infra, rep=1),  # excluded: infra
    ]
    for t in trials:
        ws.append("trial", t)
    ws.close()
    return trials, golden(cases)
