"""Request shaping, rate buckets and import cost: the gateway's pure parts."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from evals.models import limits
from evals.models.errors import register_secret, scrub
from evals.models.wire import dialect_of, mark_cacheable_prefix, shape_request

MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You are a reviewer."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Case context."},
            {"type": "text", "text": "Fixtures."},
        ],
    },
    {"role": "user", "content": "The question."},
]


def test_cache_control_marks_the_last_prefix_message_only() -> None:
    marked = mark_cacheable_prefix(MESSAGES, 1)
    assert marked[0]["content"] == [
        {"type": "text", "text": "You are a reviewer.", "cache_control": {"type": "ephemeral"}}
    ]
    assert marked[1:] == MESSAGES[1:]
    marked = mark_cacheable_prefix(MESSAGES, 2)
    assert marked[0] == MESSAGES[0]
    assert marked[1]["content"][0] == {"type": "text", "text": "Case context."}
    assert marked[1]["content"][1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in MESSAGES[1]["content"][1]  # the caller's copy untouched
    assert mark_cacheable_prefix(MESSAGES, 0) is MESSAGES
    assert mark_cacheable_prefix(MESSAGES, 99)[2]["content"][0]["cache_control"]


@pytest.mark.parametrize(
    ("model", "dialect"),
    [
        ("anthropic/claude-sonnet-4-5", "anthropic"),
        ("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic"),
        ("vertex_ai/claude-3-5-sonnet", "anthropic"),
        ("bedrock/amazon.nova-pro-v1:0", "openai"),
        ("openai/gpt-4o-mini", "openai"),
        ("hosted_vllm/smollm2", "openai"),
    ],
)
def test_dialects(model: str, dialect: str) -> None:
    assert dialect_of(model) == dialect


def test_shape_request_per_dialect() -> None:
    base = {"model": "anthropic/claude-sonnet-4-5", "timeout": 60.0, "max_retries": 0}
    schema = {"type": "object"}
    anthropic = shape_request(
        base, "anthropic", MESSAGES, None, schema, None, 1, {"temperature": 0}
    )
    assert anthropic["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert anthropic["response_format"]["json_schema"]["schema"] == schema
    assert anthropic["temperature"] == 0 and anthropic["max_retries"] == 0
    assert "extra_body" not in anthropic and "logprobs" not in anthropic
    openai = shape_request(base, "openai", MESSAGES, None, None, 0, 3, {})
    assert openai["messages"] is MESSAGES and openai["logprobs"] is True
    assert "top_logprobs" not in openai
    llama = shape_request(
        base, "llama_cpp", MESSAGES, None, schema, None, 3, {"extra_body": {"n_probs": 1}}
    )
    assert llama["extra_body"] == {"n_probs": 1, "cache_prompt": True, "json_schema": schema}
    assert llama["messages"] is MESSAGES and "response_format" not in llama


async def test_token_bucket_waits_for_refill(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(limits.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(limits.asyncio, "sleep", fake_sleep)
    bucket = limits.TokenBucket(per_minute=60)  # 1 a second, 10 seconds' burst
    for _ in range(10):
        await bucket.take()
    assert slept == []
    await bucket.take()
    assert slept == [pytest.approx(1.0)]
    bucket.refund(-5)  # a request used more tokens than estimated
    await bucket.take()
    assert sum(slept) == pytest.approx(7.0)


def test_scrub_masks_registered_secrets_and_key_shapes() -> None:
    register_secret("hunter2-local-token")
    text = scrub("key hunter2-local-token, sk-abcdef0123456789, Authorization: Bearer xyz123456")
    assert "hunter2" not in text and "sk-abcdef" not in text and "xyz123456" not in text


def test_importing_the_package_does_not_import_litellm() -> None:
    code = (
        "import sys, evals.models, evals.testing; "
        "assert 'litellm' not in sys.modules and 'xllamacpp' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


async def test_gateway_calls_skip_litellms_success_logging() -> None:
    """The pinned litellm has the switch quiet_calls relies on, and it works: a
    callback registered with litellm sees a bare acompletion but not a gateway call."""
    import asyncio

    from litellm.integrations.custom_logger import CustomLogger

    from evals.models import Gateway, litellm_setup
    from evals.schema import ModelSpec
    from evals.testing import FakeLLMServer

    class Seen(CustomLogger):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        async def async_log_success_event(self, *args: Any, **kwargs: Any) -> None:
            self.calls += 1

    with FakeLLMServer() as server:
        gateway = Gateway(
            [
                ModelSpec(
                    alias="m",
                    model="openai/fake",
                    params={"api_base": server.base_url},
                    transport="litellm",
                )
            ]
        )
        assert litellm_setup._quiet is not None
        litellm = litellm_setup.load_litellm()
        seen = Seen()
        litellm.callbacks = [seen]
        try:
            messages = [{"role": "user", "content": "Who owns ACME?"}]
            await gateway.complete("m", messages)
            await litellm.acompletion(
                model="openai/fake", api_base=server.base_url, api_key="k", messages=messages
            )
            for _ in range(50):  # litellm logs from a background task
                if seen.calls:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
        finally:
            litellm.callbacks = []
        assert server.count == 2
        assert seen.calls == 1  # the bare call only
