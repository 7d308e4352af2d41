"""The end-of-run summary de-duplicates only the matrix's records, and counts exactly
what the workspace-wide trial_facts view counts for the matrix's keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.run.progress import CELL_SQL, ERRORS_SQL, register_keys, summarise
from evals.schema import AgentSpec, ModelSpec, Trace, Trial, TrialError
from evals.store.query import connect
from evals.store.workspace import Workspace


def record(ws: Workspace, key: str, run: str, alias: str, error: str | None = None) -> None:
    trace = Trace(final_answer=None if error else "answer", latency_s=len(key) / 10)
    if error is not None:
        trace.error = TrialError(kind=error, code=f"{error}-x", message="failed")  # type: ignore[arg-type]
    ws.append(
        "trial",
        Trial(key=key, run_id=run, dataset="d", dataset_hash="h", case_id=key, case_hash="c",
              question_id="q", agent=AgentSpec(name="react"),
              model=ModelSpec(alias=alias, model="openai/m"), prompt="v1", prompt_hash="p",
              status="error" if error else "ok", trace=trace),
    )


def reference(ws: Workspace, keys: list[str], sql: str) -> list[tuple[object, ...]]:
    """The same query over the workspace-wide trial_facts view."""
    with connect(ws) as con:
        register_keys(con, keys)
        return con.execute(sql.replace("matrix_trials", "trial_facts")).fetchall()


def test_summary_counts_what_the_workspace_wide_view_counts(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    for i in range(30):
        alias = "a" if i % 2 else "b"
        record(ws, f"k{i}", "r1", alias, error=("infra", "agent", None)[i % 3])
    for i in range(0, 30, 3):
        record(ws, f"k{i}", "r2", "a" if i % 2 else "b")  # the infra failures retried
    for i in range(100):
        record(ws, f"other{i}", "r3", "c")  # not in the matrix
    ws.close()  # compacted: typed columns
    ws = Workspace(tmp_path / "ws")
    record(ws, "k1", "r4", "a", error="infra")  # open JSONL: an infra failure after a result
    record(ws, "k30", "r4", "a")
    keys = [f"k{i}" for i in range(32)]  # k31: never recorded
    summary = summarise(ws, "r4", keys)
    assert [tuple(c) for c in summary.cells] == reference(ws, keys, CELL_SQL)
    errors = [(e.kind, e.code, e.trials) for e in summary.errors]
    assert errors == reference(ws, keys, ERRORS_SQL) and errors
    assert {e.message for e in summary.errors} == {"failed"}  # read from the traces
    assert summary.recorded == 31 and summary.missing == 1
    assert {c.model for c in summary.cells} == {"a", "b"}


def test_a_matrix_without_duplicate_records_is_summarised_alike(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    for i in range(20):
        record(ws, f"k{i}", "r1", "a" if i % 2 else "b", error=("infra", "agent", None)[i % 3])
    record(ws, "other", "r2", "a")
    record(ws, "other", "r3", "a")  # a duplicate outside the matrix: not de-duplicated
    keys = [f"k{i}" for i in range(20)]
    summary = summarise(ws, "r1", keys)
    assert [tuple(c) for c in summary.cells] == reference(ws, keys, CELL_SQL)
    assert [(e.kind, e.code, e.trials) for e in summary.errors] == reference(ws, keys, ERRORS_SQL)
    assert summary.recorded == 20 and {e.kind for e in summary.errors} == {"infra", "agent"}


def test_a_run_without_errors_never_binds_every_view(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the trial facts: every view (and the quarantine UDF, which imports numpy)
    costs `evals run` time and memory at its end."""
    ws = Workspace(tmp_path / "ws")
    for i in range(5):
        record(ws, f"k{i}", "r1", "a")
    ws.close()

    def refuse(*_args: object, **_kw: object) -> None:
        raise AssertionError("every view bound")

    monkeypatch.setattr("evals.store.query.connect", refuse)
    summary = summarise(Workspace(tmp_path / "ws"), "r1", [f"k{i}" for i in range(5)])
    assert summary.recorded == 5 and not summary.errors


def test_a_key_twice_in_the_matrix_counts_as_the_joined_query_counts(tmp_path: Path) -> None:
    """Two cells with one key (e.g. two prompts of identical text): the summary keeps the
    join to the matrix then, and counts what the reference counts."""
    ws = Workspace(tmp_path / "ws")
    for i in range(10):
        record(ws, f"k{i}", "r1", "a", error=("infra", "agent", None)[i % 3])
    keys = [f"k{i}" for i in range(10)] + ["k1", "k2"]
    summary = summarise(ws, "r1", keys)
    assert [tuple(c) for c in summary.cells] == reference(ws, keys, CELL_SQL)
    assert [(e.kind, e.code, e.trials) for e in summary.errors] == reference(ws, keys, ERRORS_SQL)
    assert summary.recorded == 12 and summary.total == 12


def test_a_summary_over_its_memory_limit_is_computed_again_under_a_higher_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started under a limit too small for DuckDB to run it, the summary doubles the limit
    until it runs, and counts what the unlimited reference counts."""
    from evals.run import summary as summary_module

    ws = Workspace(tmp_path / "ws")
    for i in range(300):
        record(ws, f"k{i}", "r1", "a" if i % 2 else "b", error=("infra", "agent", None)[i % 3])
    keys = [f"k{i}" for i in range(300)]
    monkeypatch.setattr(summary_module, "SUMMARY_MEMORY_MB", 1)
    summary = summarise(ws, "r1", keys)
    assert [tuple(c) for c in summary.cells] == reference(ws, keys, CELL_SQL)
    assert [(e.kind, e.code, e.trials) for e in summary.errors] == reference(ws, keys, ERRORS_SQL)
    assert all(e.message == "failed" for e in summary.errors)
