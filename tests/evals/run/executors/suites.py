"""A small single-turn suite on the fake server, for the executor tests."""

from __future__ import annotations

from pathlib import Path

from evals.run.suite import Suite, load_suite
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer

OK_PER_KEY = (
    "SELECT body->>'$.key' AS key, count(*) AS n FROM raw_trial "
    "WHERE body->>'$.status' = 'ok' GROUP BY 1"
)


def single_turn_suite(
    tmp_path: Path,
    repo_root: Path,
    server: FakeLLMServer,
    *,
    limit: int,
    extra: str = "",
    model_extra: str = "",
    lanes: int = 8,
) -> Suite:
    """Native tool calling: one LLM call a trial; 2 prompts, so 2 × limit trials."""
    (tmp_path / "v1.md").write_text("You are an analyst.\n")
    (tmp_path / "v2.md").write_text("You are a careful analyst.\n")
    path = tmp_path / "suite.yaml"
    path.write_text(
        f"name: exec\ndataset: {repo_root / 'datasets' / 'edd_demo'}\nagent: react\n"
        "models:\n  - {alias: native, model: openai/fake, api_key_env: FAKE_LLM_KEY, "
        f"params: {{temperature: 0, api_base: '{server.base_url}', timeout_s: 5, "
        f"max_retries: 2, supports_tools: true}}{model_extra}}}\n"
        "prompts: {v1: v1.md, v2: v2.md}\n"
        f"limit: {limit}\nlimits: {{lanes: {lanes}, max_steps: 2}}\n{extra}"
    )
    return load_suite(path)


def assert_exactly_once(ws: Workspace, total: int) -> None:
    """Every key recorded ok exactly once in the raw records, and the view agrees."""
    per_key = query(ws, OK_PER_KEY)
    assert len(per_key) == total and {r["n"] for r in per_key} == {1}
    raw = query(ws, "SELECT count(*) AS n FROM raw_trial WHERE body IS NOT NULL")[0]["n"]
    assert raw == total


def trial_rows(ws: Workspace) -> list[tuple[str, str, str, int]]:
    """(key, status, final answer, llm calls) of every trial, sorted."""
    rows = query(ws, "SELECT key, status, final_answer, llm_calls FROM trials")
    return sorted((r["key"], r["status"], str(r["final_answer"]), r["llm_calls"]) for r in rows)


def query_dataset_hash(suite: Suite) -> str:
    """The content hash of the suite's golden set (part of its run id)."""
    from evals.run.plan import make_plan

    return make_plan(suite).golden.content_hash
