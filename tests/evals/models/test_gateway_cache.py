"""Response cache, token accounting and request shaping, over real HTTP."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from evals.models import Gateway
from evals.schema import ModelSpec
from evals.testing import FakeLLMServer, Reply, Rule

SYSTEM = {"role": "system", "content": "You review companies for due diligence. " * 10}


def ask(text: str) -> list[dict[str, Any]]:
    return [SYSTEM, {"role": "user", "content": text}]


def spec(server: FakeLLMServer, model: str = "openai/fake", **params: Any) -> ModelSpec:
    return ModelSpec(alias="m", model=model, params={"api_base": server.base_url, **params})


async def test_cache_survives_a_new_gateway(tmp_path: Path) -> None:
    with FakeLLMServer() as server:
        first = Gateway([spec(server)], cache_dir=tmp_path / "cache")
        answer = await first.complete("m", ask("Who owns ACME?"), temperature=0)
        assert not answer.cache_hit and answer.usage.calls == 1
        first.close()
        second = Gateway([spec(server)], cache_dir=tmp_path / "cache")
        again = await second.complete("m", ask("Who owns ACME?"), temperature=0)
        assert server.count == 1  # no new HTTP call
        assert again.cache_hit and again.text == answer.text and again.model == "m"
        assert again.usage.cache_hits == 1 and again.usage.calls == 0
        assert (
            again.usage.input_tokens,
            again.usage.cached_input_tokens,
            again.usage.output_tokens,
            again.usage.cost_usd,
        ) == (0, 0, 0, 0.0)
        assert second.stats.cache_hits == 1 and second.stats.provider_calls == 0
        second.close()


async def test_cache_is_keyed_by_the_whole_request(tmp_path: Path) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "registry_lookup",
            "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
        },
    }
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    variants: list[dict[str, Any]] = [
        {},
        {"temperature": 0.7},
        {"tools": [tool]},
        {"json_schema": schema},
        {"logprobs": 2},
        {"cache_salt": 1},
        {"max_tokens": 5},
    ]
    with FakeLLMServer() as server:
        gw = Gateway([spec(server)], cache_dir=tmp_path)
        for variant in variants:
            await gw.complete("m", ask("q"), **variant)
        await gw.complete("m", ask("another q"))
        await gw.complete("m", [{"role": "user", "content": "q"}])
        assert server.count == len(variants) + 2  # every one a distinct request
        for variant in variants:  # ... and each is now cached on its own
            assert (await gw.complete("m", ask("q"), **variant)).cache_hit
        assert server.count == len(variants) + 2
        # cache=False skips it; a different model spec (params) is a different key.
        assert not (await gw.complete("m", ask("q"), cache=False)).cache_hit
        other = Gateway([spec(server, temperature=0)], cache_dir=tmp_path)
        assert not (await other.complete("m", ask("q"))).cache_hit
        assert server.count == len(variants) + 4
        assert "cache" not in server.requests[-2] and "cache_salt" not in server.requests[-2]


@pytest.mark.slow
async def test_cache_survives_processes(tmp_path: Path) -> None:
    with FakeLLMServer() as server:
        child = textwrap.dedent(f"""
            import asyncio
            from pathlib import Path
            from evals.models import Gateway
            from evals.schema import ModelSpec
            spec = ModelSpec(alias="m", model="openai/fake",
                             params={{"api_base": "{server.base_url}"}})
            gw = Gateway([spec], cache_dir=Path(r"{tmp_path}"))
            question = [{{"role": "user", "content": "from a child"}}]
            print(asyncio.run(gw.complete("m", question)).text)
        """)  # no close(): the entry must reach disk at interpreter exit
        done = subprocess.run(
            [sys.executable, "-c", child], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "Echo: from a child" and server.count == 1
        gw = Gateway([spec(server)], cache_dir=tmp_path)
        hit = await gw.complete("m", [{"role": "user", "content": "from a child"}])
        assert hit.cache_hit and server.count == 1


async def test_cached_input_tokens_are_kept_apart() -> None:
    rules = [
        Rule(
            contains="scripted",
            reply=Reply(text="ok", prompt_tokens=120, cached_tokens=100, completion_tokens=7),
        )
    ]
    with FakeLLMServer(script=rules) as server:
        gw = Gateway([spec(server)])
        scripted = await gw.complete("m", ask("scripted usage"))
        assert (
            scripted.usage.input_tokens,
            scripted.usage.cached_input_tokens,
            scripted.usage.output_tokens,
        ) == (20, 100, 7)
        assert scripted.usage.cost_usd == 0.0  # a model with no price
        # The server's simulated prefix cache: the second call shares the system prompt.
        fresh = await gw.complete(
            "m",
            [
                {"role": "system", "content": "Another prompt."},
                {"role": "user", "content": "first question"},
            ],
        )
        assert fresh.usage.cached_input_tokens == 0
        second = await gw.complete("m", ask("second question"))
        assert second.usage.cached_input_tokens > 0
        assert second.usage.input_tokens > 0  # the new question itself is not cached


async def test_priced_models_are_costed_from_the_cost_map() -> None:
    rules = [
        Rule(reply=Reply(text="ok", prompt_tokens=1000, cached_tokens=400, completion_tokens=100))
    ]
    with FakeLLMServer(script=rules) as server:
        gw = Gateway(
            [ModelSpec(alias="m", model="openai/gpt-4o-mini", params={"api_base": server.base_url})]
        )
        usage = (await gw.complete("m", ask("q"))).usage
    import litellm

    info = litellm.get_model_info("openai/gpt-4o-mini")
    expected = (
        600 * info["input_cost_per_token"]
        + 400 * info["cache_read_input_token_cost"]
        + 100 * info["output_cost_per_token"]
    )
    assert usage.cost_usd == pytest.approx(expected) and usage.cost_usd > 0


async def test_json_schema_tools_and_logprobs_pass_through() -> None:
    schema = {
        "type": "object",
        "required": ["verdict"],
        "properties": {"verdict": {"enum": ["pass", "fail"]}},
    }
    tool = {
        "type": "function",
        "function": {
            "name": "registry_lookup",
            "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
        },
    }
    rules = [
        Rule(
            contains="look it up",
            reply=Reply(tool_calls=[{"name": "registry_lookup", "arguments": {"id": "C-7"}}]),
        )
    ]
    with FakeLLMServer(script=rules) as server:
        gw = Gateway([spec(server)])
        judged = await gw.complete("m", ask("judge this"), json_schema=schema, logprobs=3)
        body = server.requests[-1]
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema},
        }
        assert body["logprobs"] is True and body["top_logprobs"] == 3
        assert judged.text == '{"verdict":"pass"}'
        assert judged.logprobs and len(judged.logprobs[0].top) == 3
        acted = await gw.complete("m", ask("look it up"), tools=[tool])
        assert server.requests[-1]["tools"][0]["function"]["name"] == "registry_lookup"
        assert acted.text is None and acted.finish_reason == "tool_calls"
        assert acted.tool_calls[0]["function"] == {
            "name": "registry_lookup",
            "arguments": '{"id":"C-7"}',
        }


async def test_llama_cpp_routes_send_its_json_schema_and_cache_prompt() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    with FakeLLMServer() as server:
        # local/ with an api_base: an already running llama.cpp server (no auto-start).
        gw = Gateway(
            [ModelSpec(alias="local", model="local/smollm2", params={"api_base": server.base_url})]
        )
        completion = await gw.complete(
            "local", ask("q"), json_schema=schema, cache_prefix_messages=1
        )
        body = server.requests[-1]
        assert body["json_schema"] == schema and body["cache_prompt"] is True
        assert "response_format" not in body
        assert body["messages"][0] == SYSTEM  # no cache_control for llama.cpp
        assert completion.text == '{"answer":"x"}' and completion.usage.cost_usd == 0.0


async def test_openai_prefix_is_left_alone_and_callers_messages_untouched() -> None:
    with FakeLLMServer() as server:
        gw = Gateway([spec(server)])
        messages = ask("q")
        snapshot = [dict(m) for m in messages]
        await gw.complete("m", messages, cache_prefix_messages=1)
        assert server.requests[-1]["messages"][0] == SYSTEM
        assert messages == snapshot


def _open_and_write(
    folder: Path, i: int, barrier: threading.Barrier, errors: list[BaseException]
) -> None:
    from evals.models.cache import ResponseCache

    try:
        barrier.wait()
        cache = ResponseCache(folder)
        cache.put(f"k{i}", b"v")
        cache.close()
    except BaseException as exc:
        errors.append(exc)


def test_caches_opened_at_once_by_many_threads_all_work(tmp_path: Path) -> None:
    """Two runs at once open one workspace's cache at the same moment: the switch to WAL
    must not fail with 'database is locked' (SQLite does not wait for it)."""
    from evals.models.cache import ResponseCache

    for round_ in range(5):
        folder = tmp_path / f"c{round_}"
        errors: list[BaseException] = []
        barrier = threading.Barrier(8)
        threads = [
            threading.Thread(target=_open_and_write, args=(folder, i, barrier, errors))
            for i in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(ResponseCache(folder)) == 8
