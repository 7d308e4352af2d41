"""Builders for judge tests: an EDD-like question and case, and trials with real traces."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

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
    Verdict,
    trial_key,
)
from evals.store.query import query
from evals.store.workspace import Workspace
from judges.base import verdict_key
from tests.helpers.cli import evals

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


def labelled_workspace(tmp_path: Path, n: int = 600) -> tuple[Path, dict[str, bool]]:
    """n imported trials, people's ratings (70% helpful), and two judges' verdicts:
    'smol' at stage 1 (a coin) and 'strong' at stage 2 (right at confidence >= 0.5)."""
    rng = np.random.default_rng(11)
    src = tmp_path / "trials.jsonl"
    src.write_text(
        "".join(
            json.dumps({"case_id": f"c{i}", "input": "q", "output": f"a{i}", "model": "m"}) + "\n"
            for i in range(n)
        )
    )
    root = tmp_path / "ws"
    assert evals("import", "jsonl", str(src), "--run-id", "r1", "-w", str(root)).returncode == 0
    ws = Workspace(root)
    keys = {r["case_id"]: r["key"] for r in query(ws, "SELECT case_id, key FROM trials")}
    helpful = {c: bool(rng.random() < 0.7) for c in keys}
    with open(tmp_path / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["run_id", "case_id", "reviewer", "helpful"])
        for c, h in helpful.items():
            w.writerow(["r1", c, "ann", "yes" if h else "no"])
    verdicts = []
    for c, key in keys.items():
        for judge, stage in (("smol", 0), ("strong", 1)):
            conf = float(rng.random())
            right = (judge == "strong" and conf >= 0.5) or rng.random() < 0.5
            label = (
                ("pass" if helpful[c] else "fail") if right else ("fail" if helpful[c] else "pass")
            )
            verdicts.append(
                Verdict(
                    key=verdict_key(key, judge, stage),
                    trial_key=key,
                    run_id="r1",
                    judge=judge,
                    judge_version=f"{judge}-v1",
                    stage=stage,
                    label=label,  # type: ignore[arg-type]
                    confidence=conf,
                    usage=Usage(calls=1),  # LLM judges
                )
            )
        # A deterministic check in the first stage (no LLM call): fails what people
        # rated unhelpful, plus every tenth helpful answer.
        wrong = not helpful[c] or int(c[1:]) % 10 == 0
        verdicts.append(
            Verdict(
                key=verdict_key(key, "rule", 0),
                trial_key=key,
                run_id="r1",
                judge="rule",
                judge_version="rule-v1",
                stage=0,
                label="fail" if wrong else "pass",
                confidence=1.0,
            )
        )
    ws.writer("verdict").append_many(verdicts)
    ws.close()
    proc = evals("import", "labels", str(tmp_path / "labels.csv"), "-w", str(root))
    assert proc.returncode == 0, proc.stderr
    return root, helpful
