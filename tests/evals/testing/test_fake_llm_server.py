"""The fake OpenAI-compatible server, over real HTTP."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from evals.testing import FakeLLMServer, FakeRequest, Reply, Rule, example_of


def _body(text: str, model: str = "m", **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": text},
        ],
        **extra,
    }


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _post(
    http: aiohttp.ClientSession, server: FakeLLMServer, body: dict[str, Any]
) -> tuple[int, dict[str, str], bytes]:
    async with http.post(server.base_url + "/chat/completions", json=body) as response:
        return response.status, dict(response.headers), await response.read()


async def test_default_answer_usage_and_prefix_cache(http: aiohttp.ClientSession) -> None:
    with FakeLLMServer() as server:
        status, _, raw = await _post(http, server, _body("hello there"))
        assert status == 200
        reply = orjson.loads(raw)
        assert reply["choices"][0]["message"]["content"] == "Echo: hello there"
        assert reply["choices"][0]["finish_reason"] == "stop"
        usage = reply["usage"]
        assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
        assert usage["prompt_tokens_details"]["cached_tokens"] == 0
        # Same system prefix again: the simulated provider cache serves it.
        _, _, raw = await _post(http, server, _body("another question"))
        cached = orjson.loads(raw)["usage"]["prompt_tokens_details"]["cached_tokens"]
        assert 0 < cached < orjson.loads(raw)["usage"]["prompt_tokens"]
        assert server.count == 2
        assert [b["messages"][1]["content"] for b in server.requests] == [
            "hello there",
            "another question",
        ]


async def test_rules_match_on_text_model_role_and_times(http: aiohttp.ClientSession) -> None:
    rules = [
        Rule(
            contains="lookup",
            times=1,
            reply=Reply(tool_calls=[{"name": "registry_lookup", "arguments": {"id": "7"}}]),
        ),
        Rule(model="judge", reply='{"verdict": "pass"}'),
        Rule(role="tool", reply=lambda r: f"saw {r.last_text}"),
        Rule(pattern=r"^\d+$", reply="a number"),
    ]
    with FakeLLMServer(script=rules) as server:
        first = orjson.loads((await _post(http, server, _body("please lookup")))[2])
        message = first["choices"][0]["message"]
        assert message["content"] is None
        assert first["choices"][0]["finish_reason"] == "tool_calls"
        call = message["tool_calls"][0]
        assert call["function"] == {"name": "registry_lookup", "arguments": '{"id":"7"}'}
        assert call["type"] == "function" and call["id"]
        # times=1: the second "lookup" falls through to the default echo.
        again = orjson.loads((await _post(http, server, _body("please lookup")))[2])
        assert again["choices"][0]["message"]["content"] == "Echo: please lookup"
        judge = orjson.loads((await _post(http, server, _body("x", model="judge")))[2])
        assert judge["choices"][0]["message"]["content"] == '{"verdict": "pass"}'
        tool_turn = {
            "model": "m",
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": call["id"], "content": "ACME Ltd, London"},
            ],
        }
        observed = orjson.loads((await _post(http, server, tool_turn))[2])
        assert observed["choices"][0]["message"]["content"] == "saw ACME Ltd, London"
        number = orjson.loads((await _post(http, server, _body("42")))[2])
        assert number["choices"][0]["message"]["content"] == "a number"
        assert rules[0].used == 1


async def test_callable_script_and_json_schema_default(http: aiohttp.ClientSession) -> None:
    seen: list[int] = []

    def script(request: FakeRequest) -> str | None:
        seen.append(request.index)
        return None if request.json_schema is not None else "scripted"

    schema = {
        "type": "object",
        "required": ["answer", "confidence", "tags"],
        "properties": {
            "answer": {"enum": ["yes", "no"]},
            "confidence": {"type": "number", "minimum": 0.5},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
    }
    with FakeLLMServer(script=script) as server:
        plain = orjson.loads((await _post(http, server, _body("hi")))[2])
        assert plain["choices"][0]["message"]["content"] == "scripted"
        fmt = {"type": "json_schema", "json_schema": {"name": "out", "schema": schema}}
        for extra in ({"response_format": fmt}, {"json_schema": schema}):
            raw = (await _post(http, server, _body("decide", **extra)))[2]
            content = orjson.loads(raw)["choices"][0]["message"]["content"]
            assert orjson.loads(content) == {"answer": "yes", "confidence": 0.5, "tags": ["x"]}
        assert seen == [0, 1, 2]
    assert example_of({"type": ["null", "integer"]}) == 0


async def test_logprobs_when_requested(http: aiohttp.ClientSession) -> None:
    with FakeLLMServer(script=[Rule(reply="alpha beta")]) as server:
        raw = (await _post(http, server, _body("q", logprobs=True, top_logprobs=3)))[2]
        content = orjson.loads(raw)["choices"][0]["logprobs"]["content"]
        assert [t["token"] for t in content] == ["alpha", "beta"]
        assert all(len(t["top_logprobs"]) == 3 for t in content)


async def test_each_fault_kind_over_http(http: aiohttp.ClientSession) -> None:
    def fault_script(kind: Any) -> Any:
        return lambda request: Reply(fault=kind)

    with FakeLLMServer(script=fault_script("rate_limit"), retry_after_s=2.5) as server:
        status, headers, _ = await _post(http, server, _body("q"))
        assert status == 429 and headers["Retry-After"] == "2.5"
        assert headers["retry-after-ms"] == "2500"
    with FakeLLMServer(script=fault_script("server_error")) as server:
        assert (await _post(http, server, _body("q")))[0] == 500
    with FakeLLMServer(script=fault_script("malformed")) as server:
        status, _, raw = await _post(http, server, _body("q"))
        assert status == 200
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(raw)
    with FakeLLMServer(script=fault_script("reset")) as server:
        with pytest.raises(aiohttp.ClientError):
            await _post(http, server, _body("q"))
        assert server.faults["reset"] == 1
    with FakeLLMServer(script=fault_script("hang")) as server:
        timeout = aiohttp.ClientTimeout(total=0.3)
        with pytest.raises(asyncio.TimeoutError):
            async with http.post(
                server.base_url + "/chat/completions", json=_body("q"), timeout=timeout
            ) as response:
                await response.read()
        assert server.faults["hang"] == 1


async def test_fault_rate_is_seeded_and_scripts_survive_faults(
    http: aiohttp.ClientSession,
) -> None:
    async def statuses(seed: int) -> list[int]:
        rules = [Rule(contains="q", reply="scripted", times=1)]
        with FakeLLMServer(
            script=rules, fault_rate=0.5, seed=seed, fault_kinds=["server_error", "rate_limit"]
        ) as server:
            out = [(await _post(http, server, _body("q")))[0] for _ in range(40)]
            assert server.count == 40
            assert sum(server.faults.values()) == sum(s != 200 for s in out)
            # A faulted request does not use up a scripted rule.
            assert rules[0].used == 1
            return out

    first, second = await statuses(7), await statuses(7)
    assert first == second
    assert {429, 500, 200} == set(first)
    assert await statuses(8) != first


def test_rejects_unknown_fault_kind_and_bad_rate() -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FakeLLMServer(fault_kinds=["teapot"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="fault_rate"):
        FakeLLMServer(fault_rate=1.5)


async def test_bad_request_body_is_400(http: aiohttp.ClientSession) -> None:
    with FakeLLMServer() as server:
        async with http.post(server.base_url + "/chat/completions", data=b"not json") as r:
            assert r.status == 400
        async with http.get(server.base_url.removesuffix("/v1") + "/health") as r:
            assert r.status == 200


@pytest.mark.slow
async def test_cli_fake_llm_serves_and_rejects_bad_options(
    http: aiohttp.ClientSession,
) -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "evals.cli.main", "fake-llm", "--faults", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "unknown kind" in bad.stderr
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evals.cli.main",
            "fake-llm",
            "--port",
            "0",
            "--workers",
            "2",
            "--latency-ms",
            "1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        for _ in range(4):
            async with http.post(url + "/chat/completions", json=_body("hi")) as response:
                assert response.status == 200
                assert (await response.json())["choices"][0]["message"]["content"] == "Echo: hi"
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) is not None
