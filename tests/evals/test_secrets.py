"""The secrets rule (evals.secrets), one test per shape, and end to end: an interpolated
${VAR} reaches the provider but never the workspace."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from evals.models.errors import gateway_error
from evals.run.runner import RunOptions, run_suite
from evals.run.suite import SuiteError, load_suite
from evals.secrets import find_secrets, is_secret_name, strip_url_credentials
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer
from judges.config import JudgeConfigFileError, parse_cascade


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "apiKey",
        "x-api-key",
        "Authorization",
        "access_token_value",
        "client_secret",
        "password",
        "accessToken",
        "private_key",
        "Cookie",
        "refresh_token",
        "credentials",
        "Ocp-Apim-Subscription-Key",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "api_base",
        "top_k",
        "tokenizer",
        "keywords",
    ],
)
def test_not_secret_names(name: str) -> None:
    assert not is_secret_name(name)


def test_nested_params_are_scanned() -> None:
    params = {"extra_headers": {"Authorization": "Bearer abcdefgh123"}, "temperature": 0}
    assert list(find_secrets(params)) == [
        (("extra_headers", "Authorization"), "holds a secret (Authorization)")
    ]
    listed = {"tools": [{"name": "x", "auth": {"access_token_value": "t0k3n-value"}}]}
    assert [w for w, _ in find_secrets(listed)] == [("tools", 0, "auth", "access_token_value")]


def test_secret_values_are_found_whatever_their_key() -> None:
    assert [w for w, _ in find_secrets({"h": {"X-Whatever": "Bearer abcdefghij"}})] == [
        ("h", "X-Whatever")
    ]
    assert [w for w, _ in find_secrets({"note": "sk-abcdefghijklmnop"})] == [("note",)]
    found = list(find_secrets({"api_base": "http://user:key123@host:8080/v1"}))
    assert found == [(("api_base",), "holds a URL with credentials (user:password@)")]


def test_interpolated_values_are_not_literal_secrets() -> None:
    params = {
        "extra_headers": {"Authorization": "Bearer ${TOKEN}"},
        "api_key": "${OPENAI_KEY}",
        "api_base": "http://${U}:${P}@host/v1",
    }
    assert list(find_secrets(params)) == []
    assert list(find_secrets({"api_key": "pre-${X}"})) != []  # a literal part is stored


def test_url_credentials_are_stripped_from_stored_text() -> None:
    text = "cannot connect to http://alice:s3cr3t@proxy:3128/v1 (refused)"
    assert strip_url_credentials(text) == "cannot connect to http://***@proxy:3128/v1 (refused)"
    err = gateway_error("m", ConnectionError(text))
    assert "s3cr3t" not in str(err) and "alice" not in str(err)


GOOD = """\
dataset: data
models:
  - alias: m
    model: openai/x
    params: {temperature: 0}
prompts: {v1: p.md}
"""


def suite_file(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "p.md").write_text("You are careful.\n")
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            "{temperature: 0, extra_headers: {Authorization: 'Bearer abcdefgh'}}",
            ":5: models.0.params.extra_headers.Authorization: holds a secret (Authorization)",
        ),
        (
            "{temperature: 0, access_token_value: abcdefgh}",
            ":5: models.0.params.access_token_value: holds a secret",
        ),
        (
            "{temperature: 0, api_base: 'http://user:key@host/v1'}",
            ":5: models.0.params.api_base: holds a URL with credentials",
        ),
    ],
)
def test_a_suite_with_a_literal_secret_is_refused(
    tmp_path: Path, params: str, expected: str
) -> None:
    path = suite_file(tmp_path, GOOD.replace("{temperature: 0}", params))
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert str(info.value).startswith(f"{path}{expected}")


def test_agent_params_cannot_take_a_secret_even_interpolated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_TOKEN", "tok-agent-123456")
    path = suite_file(tmp_path, GOOD + "agent: {name: react, params: {token: '${AGENT_TOKEN}'}}\n")
    with pytest.raises(SuiteError, match=r":7: agent.params.token: holds a secret"):
        load_suite(path)


def test_judge_params_are_scanned_recursively() -> None:
    items = [
        {
            "judge": "rubric",
            "model": {
                "alias": "j",
                "model": "openai/x",
                "params": {"extra_headers": {"Authorization": "Bearer abcdefgh"}},
            },
        }
    ]
    with pytest.raises(JudgeConfigFileError, match=r"extra_headers\.Authorization: holds a secret"):
        parse_cascade(items, "judges.yaml", locate=lambda loc: 3)


def test_an_interpolated_value_is_used_at_call_time_and_never_stored(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("END_USER_SECRET", "user-9f8e7d6c5b4a")
    monkeypatch.setenv("BEARER_SECRET", "bearer-1a2b3c4d5e6f")
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")
    (tmp_path / "p.md").write_text("You are an analyst.\n")
    with FakeLLMServer() as server:
        path = tmp_path / "s.yaml"
        path.write_text(
            f"dataset: {repo_root / 'datasets' / 'edd_demo'}\n"
            "models:\n"
            "  - alias: m\n"
            "    model: openai/fake\n"
            "    api_key_env: FAKE_LLM_KEY\n"
            "    params:\n"
            f"      api_base: '{server.base_url}'\n"
            "      temperature: 0\n"
            "      user: '${END_USER_SECRET}'\n"
            "      extra_headers: {Authorization: 'Bearer ${BEARER_SECRET}'}\n"
            "prompts: {v1: p.md}\nlimit: 1\nlimits: {max_steps: 2}\n"
        )
        suite = load_suite(path)
        ws = Workspace(tmp_path / "ws")
        console = Console(file=io.StringIO(), width=200)
        run_suite(suite, ws, RunOptions(progress=False), console=console)
        sent = [r.get("user") for r in server.requests]
    assert sent and set(sent) == {"user-9f8e7d6c5b4a"}  # the value went to the provider
    import orjson

    ws = Workspace(tmp_path / "ws")  # records decoded (Parquet segments are compressed)
    bodies = [orjson.dumps(b) for kind in ws.kinds() for b in ws.iter_bodies(kind)]
    files = [p.read_bytes() for p in (tmp_path / "ws").rglob("*") if p.is_file()]
    stored = b"".join(bodies + files)
    assert b"${END_USER_SECRET}" in stored  # the manifest and trials hold the text
    assert b"user-9f8e7d6c5b4a" not in stored and b"bearer-1a2b3c4d5e6f" not in stored
