"""The run plan: lazy case references select what the eager golden set selects, keys need
no case parsed, and only pending cells read their case back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evals.dataset.golden import GoldenSetError, case_hash, load_golden_set
from evals.run.plan import FINISHED_SQL, TrialKeys, finished_keys, make_plan
from evals.run.suite import Suite, load_suite, select_cases
from evals.schema import AgentSpec, ModelSpec, Trace, Trial, TrialError, trial_key
from evals.store.query import query_tuples
from evals.store.typed_columns import is_typed
from evals.store.workspace import Workspace


def demo_suite(tmp_path: Path, repo_root: Path, extra: str = "") -> Suite:
    """A suite over a copy of the demo set (the tests edit it)."""
    dataset = tmp_path / "set"
    shutil.copytree(repo_root / "datasets" / "edd_demo", dataset)
    (tmp_path / "v1.md").write_text("You are an analyst.\n")
    (tmp_path / "v2.md").write_text("You are a careful analyst.\n")
    path = tmp_path / "suite.yaml"
    path.write_text(
        "name: plan\ndataset: set\nagent: react\nmodels:\n"
        "  - {alias: a, model: openai/x, params: {temperature: 0}}\n"
        "  - {alias: b, model: openai/x, params: {temperature: 1}}\n"
        "prompts: {v1: v1.md, v2: v2.md}\nrepetitions: 2\n" + extra
    )
    return load_suite(path)


@pytest.mark.parametrize(
    ("subset", "limit"),
    [
        ("", 7),
        ("subset: {tags: {jurisdiction: GB}}\n", None),
        ("subset: {questions: [q_ubo, q_screening]}\n", 5),
        ("", None),
    ],
)
def test_lazy_selection_matches_the_eager_one(
    tmp_path: Path, repo_root: Path, subset: str, limit: int | None
) -> None:
    suite = demo_suite(tmp_path, repo_root, subset + (f"limit: {limit}\n" if limit else ""))
    plan = make_plan(suite)
    eager = load_golden_set(suite.dataset_path)
    chosen = list(select_cases(eager.cases, suite.config.subset, limit))
    assert chosen and len(plan.refs) == len(chosen)
    assert [plan.golden.load_case(ref) for ref in plan.refs] == chosen
    assert plan.golden.content_hash == eager.content_hash
    expected = [
        trial_key(case_hash(c), suite.agent, m, p.sha256, rep)
        for p in suite.prompts
        for m in suite.models
        for c in chosen
        for rep in range(2)
    ]
    assert list(plan.keys()) == expected == [spec.key for spec in plan.cells()]
    assert plan.total == len(expected)
    assert list(plan.keys_by_run()[plan.run_id]) == expected


def test_trial_keys_pack_the_plans_keys_and_read_back_any_key() -> None:
    keys = [f"{i:024x}" for i in range(0, 3000, 7)]
    packed = TrialKeys(keys)
    assert len(packed) == len(keys) and list(packed) == keys
    assert packed[0] == keys[0] and packed[-1] == keys[-1] and packed[5] == keys[5]
    assert packed[10:20] == keys[10:20] and packed[::100] == keys[::100]
    with pytest.raises(IndexError):
        packed[len(keys)]
    # Structural: one bytearray of 12 bytes a key, no string (nor list slot) per key.
    assert packed._plain is None and len(packed._packed) == 12 * len(keys)
    # A key the plan never makes (imported, upper case, another length) keeps its text.
    odd = ["ABCDEF" * 4, "short", "0" * 24, "g" * 24]
    mixed = TrialKeys(keys[:3] + odd)
    assert list(mixed) == keys[:3] + odd and mixed[4] == "short" and mixed[-1] == "g" * 24


def test_a_cached_rerun_reads_no_case_and_an_edit_mid_run_is_an_error(
    tmp_path: Path, repo_root: Path
) -> None:
    suite = demo_suite(tmp_path, repo_root, "limit: 4\n")
    plan = make_plan(suite)
    keys = list(plan.keys())
    cases_file = suite.dataset_path / "cases.jsonl"
    original = cases_file.read_bytes()
    cases_file.write_bytes(b"not JSON any more\n" * original.count(b"\n"))
    assert list(plan.pending(set(keys))) == []  # every key finished: nothing parsed
    with pytest.raises(GoldenSetError):
        next(plan.pending(set()))
    # One case edited: the cells of the others still run, its own stop with a clear error.
    cases_file.write_bytes(original)
    first = plan.refs[0]
    lines = original.split(b"\n")
    line = lines[first.line - 1]
    at = line.index(b'"reference":"') + len(b'"reference":"')
    lines[first.line - 1] = line[:at] + b"#" + line[at + 1 :]  # same length: offsets hold
    cases_file.write_bytes(b"\n".join(lines))
    second = plan.refs[1]
    todo = {
        trial_key(second.hash, suite.agent, m, p.sha256, rep)
        for p in suite.prompts
        for m in suite.models
        for rep in range(2)
    }
    pending = list(plan.pending(set(keys) - todo))
    assert {spec.key for spec in pending} == todo
    assert {spec.case_hash for spec in pending} == {second.hash}
    with pytest.raises(GoldenSetError, match=f":{first.line}: case .* changed"):
        list(plan.pending(set()))


def recorded(ws: Workspace, key: str, run_id: str, error: str | None = None) -> None:
    trace = Trace(final_answer=None if error else "answer")
    if error is not None:
        trace.error = TrialError(kind=error, code="x", message="failed")  # type: ignore[arg-type]
    ws.append(
        "trial",
        Trial(
            key=key,
            run_id=run_id,
            dataset="d",
            dataset_hash="h",
            case_id=key,
            case_hash="c",
            question_id="q",
            agent=AgentSpec(name="react"),
            model=ModelSpec(alias="m", model="openai/m"),
            prompt="v1",
            prompt_hash="p",
            status="error" if error else "ok",
            trace=trace,
        ),
    )


def test_finished_keys_are_ok_or_agent_errors_whatever_run_recorded_them(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    recorded(ws, "ok", "r1")
    recorded(ws, "agent", "r1", error="agent")
    recorded(ws, "infra", "r1", error="infra")
    recorded(ws, "elsewhere", "r2")
    recorded(ws, "retried", "r1", error="infra")
    recorded(ws, "retried", "r2")
    assert finished_keys(ws) == {"ok": "r1", "agent": "r1", "elsewhere": "r2", "retried": "r2"}


def reference_finished(ws: Workspace) -> dict[str, set[str]]:
    """Today's definition, row by row: finished key -> every run that finished it."""
    out: dict[str, set[str]] = {}
    for key, run in query_tuples(ws, FINISHED_SQL):
        out.setdefault(key, set()).add(run)
    return out


def test_finished_keys_equal_the_row_by_row_lookup_over_compacted_and_open_segments(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path / "ws")
    for i in range(40):
        recorded(ws, f"k{i}", "r1", error=("infra", "agent", None, None)[i % 4])
    recorded(ws, "k0", "r2")  # an infra failure retried by another run
    recorded(ws, "k1", "r2")  # finished by two runs
    ws.close(compact=True)
    ws = Workspace(tmp_path / "ws")
    assert [is_typed(p) for p in ws.segments("trial")] == [True]  # read without bodies
    recorded(ws, "k4", "r3", error="infra")  # JSONL still open: bodies parsed
    recorded(ws, "k5", "r3")
    recorded(ws, "new", "r3")
    finished = finished_keys(ws)
    reference = reference_finished(ws)
    assert set(finished) == set(reference) and len(finished) == len(reference) == 32
    assert all(finished[k] in runs for k, runs in reference.items())
    assert finished["k1"] == "r1"  # of several runs, the first by id
    probe = ("k0", "k1", "k2", "k4", "k8", "missing")
    assert {k for k in probe if k in finished} == {"k0", "k1", "k2"}
    assert sorted(finished.by_run) == ["r1", "r2", "r3"]


def test_a_key_with_a_newline_is_read_row_by_row(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    recorded(ws, "two\nlines", "r1")
    recorded(ws, "plain", "r1")
    recorded(ws, "other", "r2")
    finished = finished_keys(ws)
    assert dict(finished) == {"two\nlines": "r1", "plain": "r1", "other": "r2"}
    assert "two" not in finished and "lines" not in finished


def test_only_keys_no_own_record_finished_are_linked_elsewhere(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    recorded(ws, "own", "r1")
    recorded(ws, "both", "r1")
    recorded(ws, "both", "r2")
    recorded(ws, "theirs", "r2")
    recorded(ws, "failed", "r2", error="infra")
    finished = finished_keys(ws)
    keys = ["own", "both", "theirs", "failed", "new"]
    assert finished.elsewhere("r1", keys) == {"theirs": "r2"}
    assert finished.elsewhere("r2", keys) == {"own": "r1"}
    assert finished_keys(Workspace(tmp_path / "solo")).elsewhere("r1", keys) == {}
