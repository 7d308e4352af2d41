"""The ReAct agent over real HTTP: the fake server scripts the model, the real Gateway
carries the calls; tool calls are answered from the case's fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from evals.agents import (
    AgentContext,
    AgentError,
    ReActAgent,
    ToolBox,
    UnknownAgentError,
    action_schema,
    resolve_agent,
)
from evals.models import Gateway
from evals.models.types import GatewayError
from evals.schema import (
    AgentSpec,
    Case,
    CaseInput,
    FinalAnswerStep,
    ModelCallStep,
    ModelSpec,
    PromptVersion,
    ThoughtStep,
    ToolFixture,
    ToolSpec,
)
from evals.testing import FakeLLMServer, Reply, Rule

TOOLS = [
    ToolSpec(
        name="registry_lookup",
        description="Registry by registration number.",
        parameters={
            "type": "object",
            "properties": {"registration_number": {"type": "string"}},
            "required": ["registration_number"],
        },
    ),
    ToolSpec(
        name="get_ownership",
        description="Owners by entity id.",
        parameters={
            "type": "object",
            "properties": {"entity_id": {"type": "string"}},
            "required": ["entity_id"],
        },
    ),
]
CASE = Case(
    id="c1",
    question_id="q_ubo",
    input=CaseInput(question="Who owns ACME?", subject={"registration_number": "201012345A"}),
    reference="Jane Doe owns 60%.",
    fixtures=[
        ToolFixture(
            tool="registry_lookup",
            arguments={"registration_number": "201012345A"},
            observation={"entity_id": "E1", "status": "Active"},
        ),
        ToolFixture(
            tool="get_ownership",
            arguments={"entity_id": "E1"},
            observation={"owners": [{"name": "Jane Doe", "share": 60}]},
        ),
    ],
)
PROMPT = PromptVersion(name="v1", path="v1.md", sha256="0" * 64, text="You are an analyst.")


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")


def model(server: FakeLLMServer, native: bool) -> ModelSpec:
    return ModelSpec(
        alias="fake",
        model="openai/fake",
        params={"api_base": server.base_url, "temperature": 0},
        api_key_env="FAKE_LLM_KEY",
        supports_tools=native,
        timeout_s=5,
        max_retries=2,
    )


def context(spec: ModelSpec, max_steps: int = 6) -> AgentContext:
    return AgentContext(gateway=Gateway([spec]), tools=ToolBox(TOOLS, CASE), max_steps=max_steps)


def action(tool: str, **arguments: Any) -> str:
    return orjson.dumps(
        {"thought": f"use {tool}", "action": {"tool": tool, "arguments": arguments}}
    ).decode()


@pytest.fixture
def json_script() -> Iterator[list[Rule]]:
    yield [
        Rule(
            contains="Question:",
            reply=action("registry_lookup", registration_number=" 201012345a "),
        ),
        Rule(
            contains="Observation from registry_lookup",
            reply=action("get_ownership", entity_id="E1"),
        ),
        Rule(
            contains="Observation from get_ownership",
            reply=action("final_answer", answer="Jane Doe owns 60%."),
        ),
    ]


async def test_json_mode_calls_tools_then_answers(json_script: list[Rule]) -> None:
    with FakeLLMServer(script=json_script) as server:
        spec = model(server, native=False)
        ctx = context(spec)
        trace = await ReActAgent()(CASE, spec, PROMPT, ctx)
        requests = list(server.requests)
    assert trace.final_answer == "Jane Doe owns 60%."
    assert trace is ctx.trace and trace.error is None and trace.unmatched_tool_calls == 0
    kinds = [s.kind for s in trace.steps]
    assert kinds == ["model_call", "thought", "tool_call"] * 2 + [
        "model_call",
        "thought",
        "final_answer",
    ]
    calls = trace.tool_calls()
    assert [c.tool for c in calls] == ["registry_lookup", "get_ownership"]
    assert calls[0].arguments == {"registration_number": " 201012345a "}
    assert calls[0].observation == {"entity_id": "E1", "status": "Active"} and calls[0].matched
    assert calls[1].observation == {"owners": [{"name": "Jane Doe", "share": 60}]}
    model_calls = [s for s in trace.steps if isinstance(s, ModelCallStep)]
    assert all(s.usage.calls == 1 and s.usage.output_tokens > 0 for s in model_calls)
    assert trace.usage.calls == 3
    assert trace.usage.input_tokens + trace.usage.cached_input_tokens == sum(
        s.usage.input_tokens + s.usage.cached_input_tokens for s in model_calls
    )
    # Every message the model saw is in the trace, in order; the schema constrained it.
    assert [m.role for m in trace.messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    assert len(requests) == 3
    schema = requests[0]["response_format"]["json_schema"]["schema"]
    variants = schema["properties"]["action"]["anyOf"]
    assert [v["properties"]["tool"]["const"] for v in variants] == [
        "registry_lookup",
        "get_ownership",
        "final_answer",
    ]
    assert requests[0]["messages"] == [m.model_dump(exclude_none=True) for m in trace.messages[:2]]


async def test_json_mode_last_step_only_allows_the_final_answer() -> None:
    script = [Rule(reply=lambda r: None)]  # default: a minimal instance of the schema
    with FakeLLMServer(script=script) as server:
        spec = model(server, native=False)
        ctx = context(spec, max_steps=2)
        trace = await ReActAgent()(CASE, spec, PROMPT, ctx)
        last_schema = server.requests[-1]["response_format"]["json_schema"]["schema"]
    assert last_schema["properties"]["action"]["properties"]["tool"] == {"const": "final_answer"}
    assert trace.final_answer  # the default instance of {"answer": minLength 1}
    # The default first action calls registry_lookup with a made-up argument: unmatched.
    assert trace.unmatched_tool_calls == 1
    (call,) = trace.tool_calls()
    assert not call.matched
    assert (
        call.observation
        == 'no recorded observation for registry_lookup({"registration_number":"x"})'
    )


async def test_json_mode_bad_action_gets_one_correction_then_fails() -> None:
    with FakeLLMServer(script=[Rule(reply="I think the answer is 42")]) as server:
        spec = model(server, native=False)
        ctx = context(spec)
        with pytest.raises(AgentError) as info:
            await ReActAgent()(CASE, spec, PROMPT, ctx)
        assert server.count == 2
    assert info.value.code == "bad_action"
    assert "not valid JSON" in str(info.value)
    assert ctx.trace.messages[-2].content.startswith("Your reply could not be used")
    assert len([s for s in ctx.trace.steps if isinstance(s, ModelCallStep)]) == 2


def tool_call(name: str, **arguments: Any) -> Reply:
    return Reply(tool_calls=[{"name": name, "arguments": arguments}], text="Let me check.")


async def test_native_mode_records_tool_calls_with_fixture_observations() -> None:
    script = [
        Rule(
            contains="Question:",
            reply=tool_call("registry_lookup", registration_number="201012345A"),
        ),
        Rule(
            role="tool",
            contains='"status":"Active"',
            reply=tool_call("get_ownership", entity_id="E9"),
        ),
        Rule(role="tool", reply="Ownership is not recorded for the entity I asked about."),
    ]
    with FakeLLMServer(script=script) as server:
        spec = model(server, native=True)
        ctx = context(spec)
        trace = await ReActAgent()(CASE, spec, PROMPT, ctx)
        requests = list(server.requests)
    assert trace.final_answer == "Ownership is not recorded for the entity I asked about."
    first, second = trace.tool_calls()
    assert first.matched and first.observation == {"entity_id": "E1", "status": "Active"}
    assert first.call_id
    assert not second.matched and trace.unmatched_tool_calls == 1
    assert second.observation == 'no recorded observation for get_ownership({"entity_id":"E9"})'
    assert any(isinstance(s, ThoughtStep) and s.text == "Let me check." for s in trace.steps)
    assert isinstance(trace.steps[-1], FinalAnswerStep)
    assert [m.role for m in trace.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    assert trace.messages[3].tool_call_id == first.call_id
    assert [t["function"]["name"] for t in requests[0]["tools"]] == [
        "registry_lookup",
        "get_ownership",
    ]
    assert "response_format" not in requests[0]


async def test_native_mode_max_steps_is_an_agent_error() -> None:
    script = [Rule(reply=tool_call("registry_lookup", registration_number="201012345A"))]
    with FakeLLMServer(script=script) as server:
        spec = model(server, native=True)
        ctx = context(spec, max_steps=3)
        with pytest.raises(AgentError) as info:
            await ReActAgent()(CASE, spec, PROMPT, ctx)
        assert server.requests[-1]["tool_choice"] == "none"
    assert info.value.code == "max_steps"
    assert len(ctx.trace.tool_calls()) == 3


async def test_gateway_failure_is_recorded_on_the_step_and_raised() -> None:
    with FakeLLMServer(fault_rate=1.0, fault_kinds=["server_error"]) as server:
        spec = model(server, native=True)
        ctx = context(spec)
        with pytest.raises(GatewayError) as info:
            await ReActAgent()(CASE, spec, PROMPT, ctx)
        assert server.count == 3  # the first attempt and max_retries=2
    assert info.value.code == "server_error"
    (step,) = ctx.trace.steps
    assert isinstance(step, ModelCallStep) and step.error and step.error.startswith("server_error")


def test_registry_and_user_agents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(resolve_agent(AgentSpec(name="react", params={"mode": "json"})), ReActAgent)
    (tmp_path / "my_agents.py").write_text(
        "from evals.schema import Trace\n"
        "async def direct(case, model, prompt, ctx):\n"
        "    return Trace(final_answer='hi')\n"
        "def factory(greeting):\n"
        "    async def agent(case, model, prompt, ctx):\n"
        "        return Trace(final_answer=greeting)\n"
        "    return agent\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    direct = resolve_agent(AgentSpec(name="my_agents:direct"))
    built = resolve_agent(AgentSpec(name="my_agents:factory", params={"greeting": "yo"}))
    assert direct.__name__ == "direct" and built.__name__ == "agent"  # type: ignore[attr-defined]
    with pytest.raises(UnknownAgentError, match="unknown agent 'nope'"):
        resolve_agent(AgentSpec(name="nope"))
    with pytest.raises(UnknownAgentError, match="cannot import agent"):
        resolve_agent(AgentSpec(name="my_agents:missing"))


def test_action_schema_bounds_every_string() -> None:
    schema = action_schema(ToolBox(TOOLS, CASE), True, 80, 300, argument_max=64)
    variants = schema["properties"]["action"]["anyOf"]
    registry = variants[0]["properties"]["arguments"]["properties"]["registration_number"]
    assert registry == {"maxLength": 64, "type": "string"}
    assert schema["properties"]["thought"]["maxLength"] == 80
    final = variants[-1]["properties"]["arguments"]["properties"]["answer"]
    assert final["maxLength"] == 300
    # The dataset's own schema is not modified.
    assert "maxLength" not in TOOLS[0].parameters["properties"]["registration_number"]


async def test_tool_first_requires_a_tool_call_on_the_first_step() -> None:
    with FakeLLMServer() as server:  # default replies: minimal instances of the schema
        spec = model(server, native=False)
        trace = await ReActAgent(tool_first=True)(CASE, spec, PROMPT, context(spec, 3))
        first = server.requests[0]["response_format"]["json_schema"]["schema"]
        second = server.requests[1]["response_format"]["json_schema"]["schema"]
    tools = [v["properties"]["tool"]["const"] for v in first["properties"]["action"]["anyOf"]]
    assert tools == ["registry_lookup", "get_ownership"]
    assert "final_answer" in str(second)
    assert len(trace.tool_calls()) >= 1 and trace.final_answer
    with FakeLLMServer(script=[Rule(reply="No tools needed.")]) as server:
        spec = model(server, native=True)
        trace = await ReActAgent(tool_first=True)(CASE, spec, PROMPT, context(spec, 3))
        assert server.requests[0]["tool_choice"] == "required"
    assert trace.final_answer == "No tools needed."


async def test_long_observations_are_cut_for_the_model_but_kept_in_the_trace(
    json_script: list[Rule],
) -> None:
    with FakeLLMServer(script=json_script) as server:
        spec = model(server, native=False)
        trace = await ReActAgent(observation_max_chars=10)(CASE, spec, PROMPT, context(spec))
    shown = trace.messages[3].content or ""
    assert shown.endswith('{"entity_i [... 26 more characters not shown]')
    assert trace.tool_calls()[0].observation == {"entity_id": "E1", "status": "Active"}
