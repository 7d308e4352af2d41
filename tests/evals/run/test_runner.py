"""The matrix runner over real HTTP: fake server, real Gateway, the edd_demo golden set."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from evals.dataset.golden import case_hash, load_golden_set
from evals.run.locks import run_lock
from evals.run.plan import make_plan
from evals.run.runner import RUN_TRIALS_SQL, RunError, RunOptions, run_suite
from evals.run.suite import Suite, load_suite, select_cases
from evals.schema import trial_key
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer, FakeRequest, Reply, Rule


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")


def write_suite(
    tmp_path: Path,
    repo_root: Path,
    server: FakeLLMServer,
    name: str = "mini",
    models: str = "both",
    extra: str = "",
    limit: int = 3,
    reps: int = 1,
) -> Suite:
    prompts = tmp_path / "prompts"
    prompts.mkdir(exist_ok=True)
    (prompts / "v1.md").write_text("You are an analyst.\n")
    (prompts / "v2.md").write_text("You are a careful analyst.\n")
    base = (
        f"api_base: '{server.base_url}'}}, api_key_env: FAKE_LLM_KEY, timeout_s: 5, max_retries: 2"
    )
    lines = {
        "native": f"  - {{alias: native, model: openai/fake, params: {{temperature: 0, {base}, "
        "supports_tools: true}",
        "json": f"  - {{alias: json, model: openai/fake, params: {{temperature: 0.5, {base}}}",
    }
    chosen = list(lines) if models == "both" else [models]
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\ndataset: {repo_root / 'datasets' / 'edd_demo'}\n"
        "agent: {name: react}\nmodels:\n" + "\n".join(lines[m] for m in chosen) + "\n"
        "prompts: {v1: prompts/v1.md, v2: prompts/v2.md}\n"
        f"repetitions: {reps}\nlimit: {limit}\nlimits: {{lanes: 8, max_steps: 3}}\n{extra}"
    )
    return load_suite(path)


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def test_small_run_records_every_trial_and_rerun_makes_no_llm_call(
    tmp_path: Path,
    repo_root: Path,
) -> None:
    with FakeLLMServer() as server:
        suite = write_suite(tmp_path, repo_root, server)
        ws = Workspace(tmp_path / "ws")
        first = run_suite(suite, ws, RunOptions(progress=False), console=quiet())
        calls = server.count
        second = run_suite(
            suite, Workspace(tmp_path / "ws"), RunOptions(progress=False), console=quiet()
        )
        assert server.count == calls  # nothing redone
    assert first.total == 3 * 2 * 2 == first.counters.done and first.skipped == 0
    assert first.counters.ok == 12 and first.counters.llm_calls == calls
    assert second.counters.done == 0 and second.skipped == 12
    assert second.run_id == first.run_id
    assert first.summary is not None and second.summary is not None
    assert second.summary.recorded == 12 and second.summary.missing == 0
    assert {(c.model, c.prompt) for c in second.summary.cells} == {
        ("native", "v1"),
        ("native", "v2"),
        ("json", "v1"),
        ("json", "v2"),
    }
    rows = query(
        ws,
        "SELECT key, run_id, case_id, prompt, prompt_hash, repetition, status, "
        "model_alias, llm_calls, tool_calls FROM trials",
    )
    assert len(rows) == 12 and len({r["key"] for r in rows}) == 12
    # The plan (lazy refs) and the eager golden set agree on the cases and their keys.
    plan = make_plan(suite)
    eager = list(select_cases(load_golden_set(suite.dataset_path).cases, None, 3))
    expected = {
        trial_key(case_hash(c), suite.agent, m, p.sha256, 0)
        for c in eager
        for m in suite.models
        for p in suite.prompts
    }
    assert {r["key"] for r in rows} == expected == set(plan.keys())
    assert [spec.case for spec in plan.cells()][:3] == eager
    assert all(r["status"] == "ok" and r["run_id"] == first.run_id for r in rows)
    # JSON mode: default actions call a tool until the last of 3 steps; native answers.
    assert {r["tool_calls"] for r in rows if r["model_alias"] == "json"} == {2}
    assert {r["llm_calls"] for r in rows if r["model_alias"] == "native"} == {1}
    runs = query(ws, "SELECT body->>'$.run_id' AS run_id FROM raw_run WHERE body IS NOT NULL")
    assert [r["run_id"] for r in runs] == [first.run_id] * 2  # a manifest per invocation
    # Compacted at the end: no JSONL segment left behind.
    assert all(p.suffix == ".parquet" for p in ws.segments("trial"))


def test_trace_holds_messages_tool_calls_and_usage(tmp_path: Path, repo_root: Path) -> None:
    script = [
        Rule(
            contains="Question:",
            reply=Reply(
                tool_calls=[
                    {"name": "registry_lookup", "arguments": {"registration_number": "201012345A"}}
                ]
            ),
        ),
        Rule(role="tool", reply="Registered in Singapore, Active."),
    ]
    with FakeLLMServer(script=script) as server:
        suite = write_suite(
            tmp_path,
            repo_root,
            server,
            models="native",
            extra="subset: {ids: [e2011-registration]}\n",
        )
        ws = Workspace(tmp_path / "ws")
        run_suite(suite, ws, RunOptions(progress=False), console=quiet())
    rows = query(
        ws,
        "SELECT t.prompt, tr.trace FROM trials t JOIN traces tr "
        "ON t.key = tr.trial_key ORDER BY t.prompt",
    )
    assert len(rows) == 2
    import orjson

    trace: dict[str, Any] = orjson.loads(rows[0]["trace"])
    assert trace["final_answer"] == "Registered in Singapore, Active."
    calls = [s for s in trace["steps"] if s["kind"] == "tool_call"]
    assert calls[0]["matched"] and calls[0]["observation"]["registration_number"] == "201012345A"
    assert [m["role"] for m in trace["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert trace["usage"]["calls"] == 2 and trace["latency_s"] > 0
    assert all(s["latency_s"] > 0 for s in trace["steps"] if s["kind"] == "model_call")


def test_infra_errors_are_recorded_then_retried_and_the_view_keeps_the_retry(
    tmp_path: Path,
    repo_root: Path,
) -> None:
    with FakeLLMServer(fault_rate=1.0, fault_kinds=["server_error"]) as server:
        suite = write_suite(tmp_path, repo_root, server, models="native", limit=2)
        ws = Workspace(tmp_path / "ws")
        failed = run_suite(suite, ws, RunOptions(progress=False), console=quiet())
        assert failed.counters.infra_errors == 4 and failed.counters.ok == 0
        server.fault_rate = 0.0
        retried = run_suite(
            suite, Workspace(tmp_path / "ws"), RunOptions(progress=False), console=quiet()
        )
    assert retried.skipped == 0 and retried.counters.ok == 4
    assert query(ws, "SELECT count(*) AS n FROM raw_trial WHERE body IS NOT NULL")[0]["n"] == 8
    view = query(ws, "SELECT status, error_kind, error_code FROM trials")
    assert len(view) == 4 and all(r["status"] == "ok" for r in view)
    errors = query(
        ws,
        "SELECT body->>'$.trace.error.code' AS code FROM raw_trial "
        "WHERE body->>'$.status' = 'error'",
    )
    assert [r["code"] for r in errors] == ["server_error"] * 4


def test_agent_errors_are_final_and_timeouts_classified(tmp_path: Path, repo_root: Path) -> None:
    def script(request: FakeRequest) -> Reply:
        if "careful" in request.messages[0]["content"]:  # prompt v2: the model hangs
            return Reply(text="slow", latency_s=3.0)
        return Reply(text="not json at all")  # prompt v1: unusable actions

    with FakeLLMServer(script=script) as server:
        suite = write_suite(tmp_path, repo_root, server, models="json", limit=2, extra="")
        suite.config.limits.step_timeout_s = 0.5
        ws = Workspace(tmp_path / "ws")
        first = run_suite(suite, ws, RunOptions(progress=False), console=quiet())
        count = server.count
        again = run_suite(
            suite, Workspace(tmp_path / "ws"), RunOptions(progress=False), console=quiet()
        )
        assert server.count - count == 2 * 1  # only the infra timeouts (v2) are retried
    by_prompt = {
        (r["prompt"], r["error_kind"], r["error_code"])
        for r in query(ws, "SELECT prompt, error_kind, error_code FROM trials")
    }
    assert by_prompt == {("v1", "agent", "bad_action"), ("v2", "infra", "timeout")}
    assert first.counters.agent_errors == 2 and first.counters.infra_errors == 2
    assert again.skipped == 2 and again.counters.infra_errors == 2


def test_trial_timeout_keeps_the_partial_trace(tmp_path: Path, repo_root: Path) -> None:
    script = [
        Rule(
            contains="Question:",
            reply=Reply(
                tool_calls=[
                    {"name": "registry_lookup", "arguments": {"registration_number": "201012345A"}}
                ]
            ),
        ),
        Rule(role="tool", reply=Reply(text="late", latency_s=3.0)),
    ]
    with FakeLLMServer(script=script) as server:
        suite = write_suite(tmp_path, repo_root, server, models="native", limit=1)
        suite.config.limits.trial_timeout_s = 1.0
        ws = Workspace(tmp_path / "ws")
        run_suite(suite, ws, RunOptions(progress=False), console=quiet())
    rows = query(ws, "SELECT error_kind, error_code, tool_calls, llm_calls FROM trials")
    assert (
        rows
        == [{"error_kind": "agent", "error_code": "trial_timeout", "tool_calls": 1, "llm_calls": 1}]
        * 2
    )


def test_trials_of_another_run_are_reused_and_linked(tmp_path: Path, repo_root: Path) -> None:
    with FakeLLMServer() as server:
        native = write_suite(tmp_path, repo_root, server, name="a", models="native")
        both = write_suite(tmp_path, repo_root, server, name="b", models="both")
        ws = Workspace(tmp_path / "ws")
        first = run_suite(native, ws, RunOptions(progress=False), console=quiet())
        second = run_suite(
            both, Workspace(tmp_path / "ws"), RunOptions(progress=False), console=quiet()
        )
        third = run_suite(
            both, Workspace(tmp_path / "ws"), RunOptions(progress=False), console=quiet()
        )
    assert first.run_id != second.run_id
    assert second.skipped == 6 and second.linked == 6 and second.counters.done == 6
    assert third.linked == 0 and third.counters.done == 0
    members = query(ws, RUN_TRIALS_SQL, {"run": second.run_id})
    assert len(members) == 12 and len({r["key"] for r in members}) == 12
    assert second.summary is not None and second.summary.recorded == 12


def test_one_invocation_per_run_at_a_time(tmp_path: Path, repo_root: Path) -> None:
    with FakeLLMServer() as server:
        suite = write_suite(tmp_path, repo_root, server)
        ws = Workspace(tmp_path / "ws")
        run_id = make_plan(suite).run_id
        with run_lock(ws, run_id), pytest.raises(RunError, match="already running"):
            run_suite(
                suite, Workspace(tmp_path / "ws"), RunOptions(progress=False), console=quiet()
            )
        assert server.count == 0


def test_cli_run_prints_the_summary_and_rejects_bad_suites(
    tmp_path: Path,
    repo_root: Path,
) -> None:
    from typer.testing import CliRunner

    from evals.cli.main import app

    with FakeLLMServer() as server:
        suite = write_suite(tmp_path, repo_root, server, limit=1)
        result = CliRunner().invoke(
            app,
            ["run", str(suite.path), "-w", str(tmp_path / "ws"), "--no-progress", "--limit", "2"],
        )
    assert result.exit_code == 0, result.output
    assert "8 trials in the matrix: 8 recorded, 8 ok, 0 failed." in result.output
    assert "this invocation: 8 trials" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(suite.path.read_text().replace("repetitions: 1", "repetitions: -1"))
    result = CliRunner().invoke(app, ["run", str(bad), "-w", str(tmp_path / "ws")])
    # The CLI's error handler prints the problem as one line, exit 2 (invalid input).
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{bad}:8: repetitions: Input should be greater than or equal to 1"
    ]


def test_a_missing_api_key_fails_before_any_trial(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeLLMServer() as server:
        suite = write_suite(tmp_path, repo_root, server)
        monkeypatch.delenv("FAKE_LLM_KEY")
        ws = Workspace(tmp_path / "ws")
        with pytest.raises(RunError, match=r"FAKE_LLM_KEY \(its API key\) is not set"):
            run_suite(suite, ws, RunOptions(progress=False), console=quiet())
        assert server.count == 0
    assert query(ws, "SELECT count(*) AS n FROM raw_trial WHERE body IS NOT NULL")[0]["n"] == 0
