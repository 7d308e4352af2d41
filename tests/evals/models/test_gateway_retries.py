"""The gateway over real HTTP against the fake server: retries, fallbacks, limits, errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from evals.models import Gateway, GatewayError
from evals.schema import ModelSpec
from evals.testing import FakeLLMServer, FakeRequest, Reply

PROVIDERS = ["openai", "hosted_vllm"]
"""litellm's OpenAI-SDK path and its own HTTP handler (what local models use)."""

QUESTION = [{"role": "user", "content": "Who owns ACME Ltd?"}]


def first_then_ok(fault: Any, times: int = 1) -> Any:
    """A script: the first `times` requests get `fault`, the rest the default answer."""

    def script(request: FakeRequest) -> Reply | None:
        return Reply(fault=fault) if request.index < times else None

    return script


def spec(server: FakeLLMServer, provider: str = "openai", **fields: Any) -> ModelSpec:
    fields.setdefault("alias", "m")
    return ModelSpec(model=f"{provider}/fake", params={"api_base": server.base_url}, **fields)


def gateway(*specs: ModelSpec) -> Gateway:
    return Gateway(list(specs), backoff_base_s=0.01, backoff_max_s=0.05)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_429_is_retried_after_retry_after(provider: str) -> None:
    with FakeLLMServer(script=first_then_ok("rate_limit"), retry_after_s=0.4) as server:
        gw = gateway(spec(server, provider))
        completion = await gw.complete("m", QUESTION)
        assert completion.text == "Echo: Who owns ACME Ltd?"
        assert server.count == 2 and gw.stats.retries == 1 and gw.stats.provider_calls == 2
        # Honoured: the retry came no sooner than Retry-After (our own backoff is 10 ms).
        assert server.arrivals[1] - server.arrivals[0] >= 0.4


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["server_error", "malformed", "reset"])
async def test_transient_faults_are_retried(provider: str, fault: Any) -> None:
    with FakeLLMServer(script=first_then_ok(fault, times=2)) as server:
        gw = gateway(spec(server, provider))
        completion = await gw.complete("m", QUESTION)
        assert completion.text == "Echo: Who owns ACME Ltd?"
        assert completion.usage.calls == 1
        assert gw.stats.retries >= 1
        # litellm's own HTTP handler re-sends once on a fresh connection after a reset
        # (a stale keep-alive guard); everything else is our retries, counted once.
        assert server.count == 3 or (fault == "reset" and server.count >= 3)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_hang_times_out_and_is_retried(provider: str) -> None:
    with FakeLLMServer(script=first_then_ok("hang")) as server:
        gw = gateway(spec(server, provider, timeout_s=0.5))
        completion = await gw.complete("m", QUESTION)
        assert completion.text == "Echo: Who owns ACME Ltd?"
        assert server.count == 2 and server.faults["hang"] == 1 and gw.stats.retries == 1


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("server_error", "server_error"),
        ("malformed", "malformed"),
        ("rate_limit", "rate_limit"),
        ("hang", "timeout"),
        ("reset", "connection"),
    ],
)
async def test_exhausted_retries_raise_a_classified_error(fault: Any, code: str) -> None:
    with FakeLLMServer(script=lambda request: Reply(fault=fault), retry_after_s=0.01) as server:
        gw = gateway(spec(server, max_retries=2, timeout_s=0.3))
        with pytest.raises(GatewayError) as caught:
            await gw.complete("m", QUESTION)
        assert caught.value.code == code and caught.value.transient
        assert "model 'm'" in str(caught.value)
        assert gw.stats.retries == 2 and gw.stats.failures[code] == 1
        assert server.count >= 3


async def test_non_transient_errors_are_not_retried() -> None:
    script = lambda request: Reply(error_status=400, text="messages: bad role")  # noqa: E731
    with FakeLLMServer(script=script) as server:
        gw = gateway(spec(server))
        with pytest.raises(GatewayError) as caught:
            await gw.complete("m", QUESTION)
        assert caught.value.code == "bad_request" and not caught.value.transient
        assert server.count == 1


async def test_fallback_to_a_second_alias() -> None:
    broken = FakeLLMServer(script=lambda request: Reply(fault="server_error"))
    with broken, FakeLLMServer() as healthy:
        gw = gateway(
            spec(broken, alias="primary", max_retries=1, fallbacks=["backup"]),
            spec(healthy, alias="backup"),
        )
        completion = await gw.complete("primary", QUESTION)
        assert completion.model == "backup" and completion.text == "Echo: Who owns ACME Ltd?"
        assert broken.count == 2 and healthy.count == 1
        assert gw.stats.fallbacks == 1 and not gw.stats.failures


async def test_unknown_aliases_are_refused() -> None:
    with FakeLLMServer() as server:
        with pytest.raises(ValueError, match="unknown fallback"):
            gateway(spec(server, fallbacks=["nope"]))
        gw = gateway(spec(server))
        with pytest.raises(GatewayError) as caught:
            await gw.complete("other", QUESTION)
        assert caught.value.code == "bad_request" and "known: m" in str(caught.value)


async def test_a_saturated_model_does_not_delay_another() -> None:
    def script(request: FakeRequest) -> Reply | None:
        return Reply(text="slow", latency_s=3.0) if request.model == "slow" else None

    with FakeLLMServer(script=script) as server:
        gw = Gateway(
            [
                ModelSpec(
                    alias="slow",
                    model="openai/slow",
                    max_concurrency=1,
                    params={"api_base": server.base_url},
                ),
                ModelSpec(
                    alias="quick", model="openai/quick", params={"api_base": server.base_url}
                ),
            ]
        )
        slow = [asyncio.create_task(gw.complete("slow", QUESTION)) for _ in range(4)]
        while server.count < 1:
            await asyncio.sleep(0.01)
        quick = await gw.complete("quick", QUESTION)
        assert quick.text == "Echo: Who owns ACME Ltd?"
        # The slow model holds its one slot and queues the rest; none has finished.
        assert gw.in_flight("slow") == 1 and not any(task.done() for task in slow)
        assert [b["model"] for b in server.requests] == ["slow", "quick"]
        for task in slow:
            task.cancel()
        await asyncio.gather(*slow, return_exceptions=True)


@pytest.fixture
def secret_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    key = "sk-test-DO-NOT-LEAK-0123456789abcdef"
    monkeypatch.setenv("FAKE_PROVIDER_KEY", key)
    yield key


async def test_api_key_never_reaches_errors_or_logs(
    secret_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A provider that echoes the key back in its error, as some do.
    def script(request: FakeRequest) -> Reply:
        return Reply(error_status=401, text=f"Incorrect API key provided: {secret_key}.")

    caplog.set_level(logging.DEBUG)
    for name in ("LiteLLM", "openai", "httpx", "evals.models"):
        caplog.set_level(logging.DEBUG, logger=name)
    with FakeLLMServer(script=script) as server:
        gw = gateway(spec(server, api_key_env="FAKE_PROVIDER_KEY"))
        logging.getLogger("evals.models").debug("calling with %s", secret_key)
        with pytest.raises(GatewayError) as caught:
            await gw.complete("m", QUESTION)
    assert caught.value.code == "auth" and not caught.value.transient
    assert "Incorrect API key provided" in str(caught.value)
    assert secret_key not in str(caught.value) and caught.value.__cause__ is None
    assert caplog.records  # something was logged, and none of it holds the key
    for record in caplog.records:
        assert secret_key not in record.getMessage()
        assert secret_key not in (record.exc_text or "")
    assert secret_key not in caplog.text


async def test_missing_api_key_is_an_auth_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with FakeLLMServer() as server:
        gw = gateway(spec(server, api_key_env="NO_SUCH_KEY_VAR"))
        with pytest.raises(GatewayError) as caught:
            await gw.complete("m", QUESTION)
        assert caught.value.code == "auth" and "NO_SUCH_KEY_VAR" in str(caught.value)
        assert server.count == 0
