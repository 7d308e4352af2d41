"""Blueprints as agents: node kinds in the trace, the EDD template on every case (its
answers and the references pass the checks with the blueprint's own trace), and the
rails blueprint over real HTTP in a review run (free and teacher modes)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from evals.agents import AgentContext, ToolBox, resolve_agent
from evals.dataset.golden import GoldenSet, case_hash, load_golden_set
from evals.run.runner import RunOptions, run_suite
from evals.run.suite import load_suite
from evals.schema import (
    AgentSpec,
    Case,
    ModelSpec,
    NodeStep,
    PromptVersion,
    ToolCallStep,
    Trace,
    Trial,
)
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer
from judges import JudgeContext, JudgeEnv, JudgeSpec, build_judge

DATASET = Path(__file__).resolve().parents[3] / "datasets" / "edd_demo"
CHECKS = ["answered", "required_tools", "key_facts", "forbidden_claims", "grounded"]
MODEL = ModelSpec(alias="m", model="openai/m")
PROMPT = PromptVersion(name="p", path="p.md", sha256="0" * 64, text="Write the answer.")


@pytest.fixture(scope="module")
def golden() -> GoldenSet:
    return load_golden_set(DATASET)


async def run_template(golden: GoldenSet, case: Case) -> Trace:
    agent = resolve_agent(AgentSpec(name="edd_template"))
    ctx = AgentContext(
        gateway=None,  # type: ignore[arg-type]  (the template never calls a model)
        tools=ToolBox(golden.manifest.tools, case),
        question=golden.question_for(case),
    )
    return await agent(case, MODEL, PROMPT, ctx)


def as_trial(case: Case, trace: Trace) -> Trial:
    return Trial(
        key="k", run_id="r", dataset="edd_demo", dataset_hash="d", case_id=case.id,
        case_hash=case_hash(case), question_id=case.question_id,
        agent=AgentSpec(name="edd_template"), model=MODEL, prompt="p", prompt_hash="0",
        trace=trace,
    )


async def failed_checks(golden: GoldenSet, case: Case, trial: Trial) -> list[str]:
    out = []
    for name in CHECKS:
        v = await build_judge(JudgeSpec(judge=name), JudgeEnv())(
            JudgeContext(trial, case, golden.question_for(case))
        )
        if v.label != "pass":
            out.append(f"{case.id} {name}: {v.reason}")
    return out


async def test_template_and_references_pass_the_checks_with_the_blueprints_trace(
    golden: GoldenSet,
) -> None:
    """Every case: the template's answer, and the golden reference in its place, pass the
    five deterministic checks on the trace the blueprint really wrote (its lookups'
    observations only; no message holds the question: the checks take it from the case).
    A perfect agent on rails passes the whole set."""
    failures: list[str] = []
    for case in golden.cases:
        trace = await run_template(golden, case)
        assert trace.messages == []  # no model was called
        failures += await failed_checks(golden, case, as_trial(case, trace))
        with_reference = trace.model_copy(update={"final_answer": case.reference})
        failures += await failed_checks(golden, case, as_trial(case, with_reference))
    assert failures == []
    assert len(golden.cases) == 110


async def test_template_trace_shows_each_node_and_its_own_tool_call(golden: GoldenSet) -> None:
    trace = await run_template(golden, golden.case("d14-ubo"))
    nodes = [s for s in trace.steps if isinstance(s, NodeStep)]
    assert [n.node_kind for n in nodes] == ["lookup"] * (len(nodes) - 1) + ["rule"]
    assert nodes[0].node == "registry" and nodes[0].inputs["tool"] == "registry_lookup"
    assert any(n.node.startswith("ownership:") for n in nodes)  # the chain was followed
    for i, step in enumerate(trace.steps):
        if isinstance(step, NodeStep) and step.node_kind == "lookup":
            assert step.inner_steps == 1 and isinstance(trace.steps[i + 1], ToolCallStep)
            assert step.output == {"matched": True}
    assert nodes[-1].output == trace.final_answer
    assert trace.unmatched_tool_calls == 0


def rails_suite(tmp: Path, server: FakeLLMServer) -> Path:
    (tmp / "p.md").write_text("You write one answer of an EDD review.\n")
    path = tmp / "rails.yaml"
    path.write_text(
        f"name: rails\ndataset: {DATASET}\nagent: {{name: edd_rails, params: {{max_tokens: 50}}}}\n"
        "models:\n  - {alias: fake, model: openai/fake, params: "
        f"{{api_base: '{server.base_url}'}}, api_key_env: FAKE_LLM_KEY}}\n"
        "prompts: {v1: p.md}\nreview: true\nlimit: 1\nlimits: {lanes: 2}\n"
    )
    return path


def test_rails_in_a_review_run_over_http(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")
    with FakeLLMServer() as server:  # answers "Echo: <last user message>"
        ws = Workspace(tmp_path / "ws")
        result = run_suite(
            load_suite(rails_suite(tmp_path, server)), ws, RunOptions(progress=False),
            console=Console(file=io.StringIO()),
        )
        requests = list(server.requests)
    assert result.counters.ok == 10  # one review (5 nodes) in two modes
    sql = "SELECT body FROM raw_trial WHERE body IS NOT NULL"
    rows = [json.loads(r["body"]) for r in query(Workspace(tmp_path / "ws"), sql)]
    by = {(r["run_id"].endswith("-teacher"), r["case_id"]): r for r in rows}
    assert len(by) == 10
    trace = by[(False, "e2011-screening")]["trace"]
    kinds = [(s["node_kind"], s["node"]) for s in trace["steps"] if s["kind"] == "node"]
    assert kinds[0] == ("lookup", "registry") and ("parse", "facts") in kinds
    llm = next(s for s in trace["steps"] if s.get("node_kind") == "llm")
    assert llm["usage"]["calls"] == 1 and llm["inner_steps"] == 1
    assert llm["inputs"]["upstream"] == ["q_registration", "q_ubo"]
    user = trace["messages"][1]["content"]
    assert "Facts from the records:" in user and "Wang Jie" in user
    # Free mode: the upstream answers are the model's own (the fake echoes its prompt).
    assert "Earlier answers in this review" in user and "Echo: Question:" in user
    teacher = by[(True, "e2011-screening")]["trace"]["messages"][1]["content"]
    assert "Beneficial owners at or above 25%: Wang Jie (60%)" in teacher  # the reference
    review = by[(False, "e2011-screening")]["review"]
    assert review["mode"] == "free" and len(review["upstream"]) == 2
    assert all(r.get("max_tokens") == 50 for r in requests)
    assert sum(1 for r in requests if "Earlier answers" in str(r["messages"])) >= 6


async def test_a_user_blueprint_from_a_module_path_with_every_node_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden: GoldenSet
) -> None:
    (tmp_path / "my_blueprints.py").write_text(
        "from evals.agents import ReActAgent\n"
        "from evals.blueprints import blueprint\n\n"
        "@blueprint()\n"
        "async def mine(run):\n"
        "    rec = await run.lookup('registry', 'registry_lookup',\n"
        "        {'registration_number': run.subject['registration_number']})\n"
        "    name = run.rule('name', lambda r: r['name'], rec, kind='parse')\n"
        "    said = await run.llm('say', [{'role': 'user', 'content': name}], max_tokens=20)\n"
        "    loop = await run.agent('react', ReActAgent(mode='native', max_steps=1))\n"
        "    return f'{said} / {loop}'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")
    from evals.models.gateway import workspace_gateway

    case = golden.case("e2011-registration")
    with FakeLLMServer() as server:
        model = ModelSpec(alias="fake", model="openai/fake", api_key_env="FAKE_LLM_KEY",
                          params={"api_base": server.base_url}, supports_tools=True)
        async with workspace_gateway([model], Workspace(tmp_path / "ws")) as gateway:
            ctx = AgentContext(gateway=gateway, tools=ToolBox(golden.manifest.tools, case))
            agent = resolve_agent(AgentSpec(name="my_blueprints:mine"))
            trace = await agent(case, model, PROMPT, ctx)
    kinds: list[Any] = [s.node_kind for s in trace.steps if isinstance(s, NodeStep)]
    assert kinds == ["lookup", "parse", "llm", "agent"]
    assert trace.final_answer == "Echo: Hajah Maimunah / " + (
        trace.steps[-2].output if isinstance(trace.steps[-2], NodeStep) else ""
    ) or trace.final_answer.startswith("Echo: Hajah Maimunah / Echo:")
    agent_node = next(s for s in trace.steps if isinstance(s, NodeStep) and s.node == "react")
    assert agent_node.inner_steps >= 1 and agent_node.usage.calls == 1
