"""The replay ToolBox: normalised matching, unmatched notices, live tools."""

from __future__ import annotations

from typing import Any

import pytest

from evals.agents import ToolBox, call_signature, normalise, register_live_tool
from evals.agents.tools import LIVE_TOOLS
from evals.schema import Case, CaseInput, ToolFixture, ToolSpec

SPECS = [
    ToolSpec(
        name="registry_lookup",
        description="Company registry",
        parameters={
            "type": "object",
            "properties": {"name": {"type": "string"}, "country": {"type": "string"}},
        },
    ),
    ToolSpec(
        name="get_ownership",
        description="Owners",
        parameters={"type": "object", "properties": {"company_number": {}}},
    ),
]


def make_case(fixtures: list[ToolFixture]) -> Case:
    return Case(
        id="c1",
        question_id="q1",
        input=CaseInput(question="Who owns it?"),
        reference="r",
        fixtures=fixtures,
    )


def box() -> ToolBox:
    return ToolBox(
        SPECS,
        make_case(
            [
                ToolFixture(
                    tool="registry_lookup",
                    arguments={"name": "Acme Ltd", "country": "GB"},
                    observation={"status": "Active", "company_number": "01234567"},
                ),
                ToolFixture(
                    tool="get_ownership",
                    arguments={"company_number": 1200},
                    observation=[{"owner": "Jane", "share": 0.6}],
                ),
            ]
        ),
    )


@pytest.mark.parametrize(
    "arguments",
    [
        {"name": "Acme Ltd", "country": "GB"},
        {"country": "gb", "name": "  ACME   ltd "},
        {"Name": "acme ltd", "COUNTRY": "GB", "extra": None},
    ],
)
async def test_matches_after_normalising_case_whitespace_and_key_order(
    arguments: dict[str, Any],
) -> None:
    tools = box()
    result = await tools.call("registry_lookup", arguments)
    assert result.matched
    assert result.observation == {"status": "Active", "company_number": "01234567"}
    assert tools.unmatched == 0


@pytest.mark.parametrize("number", [1200, 1200.0, "1200", "1,200", " 1200.0 "])
async def test_number_formatting_does_not_matter(number: object) -> None:
    result = await box().call("get_ownership", {"company_number": number})
    assert result.matched and result.observation == [{"owner": "Jane", "share": 0.6}]


def test_leading_zero_identifiers_stay_strings() -> None:
    assert normalise("01234567") == "01234567"
    assert call_signature("t", {"n": "01234567"}) != call_signature("t", {"n": 1234567})


async def test_unmatched_call_gets_a_clear_notice_and_is_counted() -> None:
    tools = box()
    first = await tools.call("registry_lookup", {"name": "Other plc"})
    second = await tools.call("no_such_tool", {})
    third = await tools.call("get_ownership", "not an object")
    assert not first.matched and not second.matched and not third.matched
    assert first.observation == (
        'no recorded observation for registry_lookup({"name":"Other plc"})'
    )
    assert "unknown tool 'no_such_tool'" in second.observation
    assert "registry_lookup" in second.observation
    assert "must be a JSON object" in third.observation
    assert tools.unmatched == 3


async def test_live_tool_is_called_for_real() -> None:
    calls: list[dict[str, Any]] = []

    async def screen(arguments: dict[str, Any]) -> dict[str, Any]:
        calls.append(arguments)
        return {"hits": 0, "query": arguments["name"]}

    specs = [*SPECS, ToolSpec(name="screen_name", description="Sanctions", live=True)]
    tools = ToolBox(specs, make_case([]))
    unregistered = await tools.call("screen_name", {"name": "Jane"})
    assert not unregistered.matched and "no implementation registered" in unregistered.observation
    register_live_tool("screen_name", screen)
    try:
        result = await tools.call("screen_name", {"name": "Jane"})
    finally:
        LIVE_TOOLS.pop("screen_name")
    assert result.live and result.matched
    assert result.observation == {"hits": 0, "query": "Jane"}
    assert calls == [{"name": "Jane"}]


def test_openai_tool_definitions() -> None:
    defs = box().openai_tools()
    assert [d["function"]["name"] for d in defs] == ["registry_lookup", "get_ownership"]
    assert defs[0]["function"]["parameters"]["properties"]["name"] == {"type": "string"}
