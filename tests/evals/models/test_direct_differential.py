"""The direct HTTP path and the litellm path, differentially: the same scripted answers
and faults, replayed through each (a fresh fake server per path, so every request sees
the same script state), must give the same record for every call: completion text, tool
calls, usage with cached tokens, cost, finish reason, log-probabilities, cache hits,
error codes and transience, retry and provider-call counts, and the request bodies the
server received."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evals.models import Gateway, GatewayError
from evals.schema import ModelSpec
from evals.testing import FakeLLMServer, FakeRequest, Reply

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "registry_lookup",
            "description": "Look a company up.",
            "strict": True,
            "parameters": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"id": {"type": "string"}},
                "required": ["id"],
            },
        },
    }
]
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
CONTEXT = "This model's maximum context length is 8192 tokens. However, you requested 9000."


def scripted() -> Any:
    """A script whose answer depends on the case named in the last user message and on
    how many times that case was asked (faults first, then an answer)."""
    seen: Counter[str] = Counter()

    def reply(request: FakeRequest) -> Reply | str | None:
        case = request.last_text.split(":", 1)[0]
        seen[case] += 1
        n = seen[case]
        answers: dict[str, Reply | None] = {
            "plain": Reply(text="ACME Ltd is active.", prompt_tokens=120, cached_tokens=64),
            "tools": Reply(
                text=None, tool_calls=[{"name": "registry_lookup", "arguments": {"id": "7"}}]
            ),
            "length": Reply(text="cut", finish_reason="length", completion_tokens=50),
            "eos": Reply(text="done", finish_reason="eos"),
            "empty": Reply(text=""),
            "schema": None,  # the server's default: a valid instance of the schema
            "rate_limited": Reply(fault="rate_limit") if n <= 2 else Reply(text="after 429s"),
            "server_error": Reply(fault="server_error") if n == 1 else Reply(text="after 500"),
            "malformed": Reply(fault="malformed") if n == 1 else Reply(text="after bad body"),
            "reset": Reply(fault="reset") if n == 1 else Reply(text="after reset"),
            "hang": Reply(fault="hang") if n == 1 else Reply(text="after timeout"),
            "always_429": Reply(fault="rate_limit"),
            "always_500": Reply(fault="server_error"),
            "context": Reply(error_status=400, text=CONTEXT),
        }
        for status in (400, 401, 403, 404, 408, 409, 413, 422, 502, 503, 504):
            answers[f"status_{status}"] = Reply(error_status=status, text=f"scripted {status}")
        return answers.get(case)

    return reply


CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("m", "plain", {"temperature": 0.2, "max_tokens": 64}),
    ("priced", "plain", {}),
    ("m", "tools", {"tools": TOOLS}),
    ("priced", "tools", {"tools": TOOLS}),
    ("m", "length", {}),
    ("m", "eos", {}),
    ("m", "empty", {}),
    ("m", "schema", {"json_schema": SCHEMA}),
    ("priced", "schema", {"json_schema": SCHEMA}),
    ("llama", "schema", {"json_schema": SCHEMA}),
    ("m", "logprobs", {"logprobs": 3}),
    ("m", "rate_limited", {}),
    ("m", "server_error", {}),
    ("m", "malformed", {}),
    ("m", "reset", {}),
    ("quick", "hang", {}),
    ("m", "always_429", {}),
    ("m", "always_500", {}),
    ("m", "context", {}),
    *[("m", f"status_{s}", {}) for s in (400, 401, 403, 404, 408, 409, 413, 422, 502, 503, 504)],
    ("m", "plain", {"temperature": 0.2, "max_tokens": 64}),  # a response-cache hit
]


def specs(server: FakeLLMServer, transport: str) -> list[ModelSpec]:
    base = {"api_base": server.base_url}
    common: dict[str, Any] = {"transport": transport, "max_retries": 2}
    return [
        ModelSpec(alias="m", model="hosted_vllm/fake", params=base, **common),
        ModelSpec(alias="priced", model="openai/gpt-4o-mini", params=base, **common),
        ModelSpec(alias="llama", model="local/fake", params=base, **common),
        ModelSpec(alias="quick", model="hosted_vllm/fake", params=base, timeout_s=0.5, **common),
    ]


async def replay(transport: str, cache: Path) -> list[dict[str, Any]]:
    """Every call of CALLS through one transport; one record per call."""
    records: list[dict[str, Any]] = []
    with FakeLLMServer(scripted(), retry_after_s=0.01, prompt_cache=True) as server:
        gateway = Gateway(specs(server, transport), cache_dir=cache, backoff_base_s=0.001)
        assert {gateway.transport(a) for a in ("m", "priced", "llama", "quick")} == {transport}
        for alias, case, kwargs in CALLS:
            before = (gateway.stats.retries, gateway.stats.provider_calls, server.count)
            messages = [
                {"role": "system", "content": "You review companies."},
                {"role": "user", "content": f"{case}: who owns ACME?"},
            ]
            record: dict[str, Any] = {"call": (alias, case)}
            try:
                # litellm cleans tool schemas in place: each path gets its own copy
                done = await gateway.complete(alias, messages, **copy.deepcopy(kwargs))
                record["completion"] = done.model_dump(exclude={"latency_s"})
            except GatewayError as exc:
                record["error"] = (exc.code, exc.transient)
            record["retries"] = gateway.stats.retries - before[0]
            record["provider_calls"] = gateway.stats.provider_calls - before[1]
            record["bodies"] = server.requests[before[2] :]
            records.append(record)
        record = {"cache_hits": gateway.stats.cache_hits, "failures": gateway.stats.failures}
        records.append(record)
        await gateway.aclose()
    return records


async def test_both_paths_record_the_same(tmp_path: Path) -> None:
    direct = await replay("direct", tmp_path / "direct")
    via_litellm = await replay("litellm", tmp_path / "litellm")
    assert len(direct) == len(via_litellm) == len(CALLS) + 1
    for ours, theirs in zip(direct, via_litellm, strict=True):
        assert ours == theirs, ours.get("call", "totals")
    by_case: dict[tuple[str, str], dict[str, Any]] = {}
    for record in direct[:-1]:
        by_case.setdefault(record["call"], record)  # the first of a call (then: cache hit)
    # The script was exercised as meant (not two identical failures everywhere).
    assert by_case[("m", "rate_limited")]["retries"] == 2
    assert by_case[("m", "rate_limited")]["completion"]["text"] == "after 429s"
    assert by_case[("quick", "hang")]["completion"]["text"] == "after timeout"
    assert by_case[("m", "always_429")]["error"] == ("rate_limit", True)
    assert by_case[("m", "context")]["error"] == ("context_window", False)
    assert by_case[("priced", "plain")]["completion"]["usage"]["cost_usd"] > 0
    assert by_case[("m", "plain")]["completion"]["usage"]["cached_input_tokens"] == 64
    assert by_case[("m", "tools")]["completion"]["tool_calls"]
    assert direct[-2]["completion"]["cache_hit"] and direct[-1]["cache_hits"] == 1


def test_transport_choice(tmp_path: Path) -> None:
    with FakeLLMServer() as server:
        base = {"api_base": server.base_url}
        gateway = Gateway(
            [
                ModelSpec(alias="auto", model="openai/gpt-4o-mini", params=base),
                ModelSpec(alias="forced", model="openai/fake", params=base, transport="litellm"),
                ModelSpec(alias="reasoning", model="openai/o3-mini", params=base),
                ModelSpec(alias="odd", model="hosted_vllm/x", params={**base, "top_k": 5}),
                ModelSpec(alias="other", model="anthropic/claude-3-5-haiku-latest"),
            ]
        )
        assert [gateway.transport(a) for a in ("auto", "forced", "reasoning", "odd", "other")] == [
            "direct", "litellm", "litellm", "litellm", "litellm",
        ]  # fmt: skip
        gateway.close()
    with pytest.raises(ValueError, match="transport 'direct'"):
        Gateway([ModelSpec(alias="a", model="anthropic/claude-x", transport="direct")])


@pytest.mark.parametrize(
    "model",
    [
        "openai/gpt-4o-mini",
        "openai/gpt-4o",
        "openai/gpt-4.1",
        "openai/gpt-3.5-turbo",
        "openai/fake",
        "hosted_vllm/fake",
        "hosted_vllm/gpt-4o",  # an OpenAI name behind a self-hosted server: not priced
        "hosted_vllm/meta-llama/Llama-3.1-8B-Instruct",
    ],
)
def test_direct_prices_are_litellms(model: str) -> None:
    """The direct path reads litellm's cost map itself (no litellm import): the same
    per-token prices as litellm.get_model_info gives the litellm path."""
    from evals.models.litellm_setup import load_litellm
    from evals.models.prices import cost_map_prices, prices_of

    litellm = load_litellm()
    try:
        info = litellm.get_model_info(model)
    except Exception:
        info = None
    assert cost_map_prices(model) == prices_of(info)
