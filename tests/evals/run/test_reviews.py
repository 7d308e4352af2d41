"""Review runs: DAG order, free and teacher modes recorded apart with upstream links,
resume after kill -9 mid-review, and DAG validation with file:line."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from evals.dataset.golden import GoldenSetError, load_golden_set
from evals.dataset.review_dag import question_order
from evals.run.runner import RunOptions, run_suite
from evals.run.suite import load_suite
from evals.store.query import query
from evals.store.workspace import Workspace

QUESTIONS = """\
- id: q_a
  title: First
  rubric: r
- id: q_b
  title: Second
  rubric: r
  depends_on: [q_a]
- id: q_c
  title: Third
  rubric: r
  depends_on: [q_b, q_a]
"""

AGENT = '''
import asyncio, os
from pathlib import Path
from evals.schema import FinalAnswerStep

async def echo(case, model, prompt, ctx):
    """Answers with its case id and the upstream answers it was given."""
    slow = os.environ.get("SLOW_CASE")
    if slow == case.id and not Path(os.environ["SLOW_FLAG"]).exists():
        await asyncio.sleep(60)
    ups = ";".join(f"{u.question_id}={u.answer}|{u.source}" for u in ctx.upstream)
    answer = f"<{case.id}>[{ups}]"
    ctx.trace.steps.append(FinalAnswerStep(text=answer))
    ctx.trace.final_answer = answer
    return ctx.trace
'''


def make_set(root: Path, reviews: dict[str, list[str]], questions: str = QUESTIONS) -> Path:
    gs = root / "gs"
    gs.mkdir(parents=True)
    (gs / "dataset.yaml").write_text("name: gs\ntools: []\n")
    (gs / "questions.yaml").write_text(questions)
    lines = []
    for review, qids in reviews.items():
        for qid in qids:
            case = {
                "id": f"{review}-{qid}",
                "question_id": qid,
                "input": {"question": qid, "subject": {"name": review}},
                "reference": f"REF-{review}-{qid}",
                "review": review,
            }
            lines.append(json.dumps(case))
    (gs / "cases.jsonl").write_text("\n".join(lines) + "\n")
    return gs


def make_suite(root: Path, gs: Path, extra: str = "") -> Path:
    (root / "review_agents.py").write_text(AGENT)
    (root / "p.md").write_text("prompt\n")
    path = root / "suite.yaml"
    path.write_text(
        f"name: rev\ndataset: {gs}\nagent: review_agents:echo\n"
        "models:\n  - {alias: m, model: openai/none, params: {api_base: 'http://127.0.0.1:9/v1'}}\n"
        f"prompts: {{v1: p.md}}\nreview: true\nlimits: {{lanes: 2}}\n{extra}"
    )
    return path


@pytest.fixture
def review_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    gs = make_set(tmp_path, {"r1": ["q_a", "q_b", "q_c"], "r2": ["q_c", "q_a"]})
    suite = make_suite(tmp_path, gs)
    monkeypatch.syspath_prepend(str(tmp_path))
    return suite, tmp_path / "ws"


def trials(ws: Path) -> list[dict[str, Any]]:
    rows = query(
        Workspace(ws),
        "SELECT run_id, key, case_id, final_answer, review FROM trials ORDER BY case_id",
    )
    return [
        {**r, "body": {"trace": {"final_answer": r["final_answer"]},
                       "review": json.loads(r["review"])}}
        for r in rows
    ]


def test_question_order_is_topological_with_file_order_ties() -> None:
    gs = load_golden_set(make_set(Path(os.environ.get("TMPDIR", "/tmp")) / f"o{os.getpid()}",
                                  {"r": ["q_c", "q_b", "q_a"]}))
    assert question_order(gs.questions) == ["q_a", "q_b", "q_c"]


def test_free_and_teacher_modes_are_recorded_apart_with_upstream_links(
    review_env: tuple[Path, Path],
) -> None:
    suite, ws = review_env
    result = run_suite(
        load_suite(suite), Workspace(ws), RunOptions(progress=False),
        console=Console(file=io.StringIO()),
    )
    assert result.total == 5 * 2 and result.counters.ok == 10
    free, teacher = result.run_ids
    assert teacher == free + "-teacher"
    by = {(t["run_id"], t["case_id"]): t for t in trials(ws)}
    assert len(by) == 10
    # Free mode: downstream nodes saw the agent's own upstream answers, in DAG order.
    c = by[(free, "r1-q_c")]
    answer_c = c["body"]["trace"]["final_answer"]
    assert answer_c == "<r1-q_c>[q_a=<r1-q_a>[]|agent;q_b=<r1-q_b>[q_a=<r1-q_a>[]|agent]|agent]"
    links = c["body"]["review"]["upstream"]
    assert [(u["question_id"], u["trial_key"]) for u in links] == [
        ("q_a", by[(free, "r1-q_a")]["key"]),
        ("q_b", by[(free, "r1-q_b")]["key"]),
    ]
    assert c["body"]["review"] == {**c["body"]["review"], "review_id": "r1", "mode": "free"}
    # Teacher mode: the references, whatever the agent answered upstream.
    t = by[(teacher, "r1-q_c")]["body"]
    assert t["trace"]["final_answer"] == (
        "<r1-q_c>[q_a=REF-r1-q_a|reference;q_b=REF-r1-q_b|reference]"
    )
    assert {u["source"] for u in t["review"]["upstream"]} == {"reference"}
    # A review without a case of an upstream question: recorded as missing.
    r2 = by[(free, "r2-q_c")]["body"]
    assert [u["source"] for u in r2["review"]["upstream"]] == ["agent", "missing"] or [
        u["source"] for u in r2["review"]["upstream"]
    ] == ["missing", "agent"]
    # Keys differ by mode; a rerun does nothing.
    assert by[(free, "r1-q_a")]["key"] != by[(teacher, "r1-q_a")]["key"]
    again = run_suite(
        load_suite(suite), Workspace(ws), RunOptions(progress=False),
        console=Console(file=io.StringIO()),
    )
    assert again.counters.done == 0 and again.skipped == 10


def test_limit_counts_reviews(review_env: tuple[Path, Path]) -> None:
    suite, ws = review_env
    result = run_suite(
        load_suite(suite), Workspace(ws), RunOptions(progress=False, limit=1),
        console=Console(file=io.StringIO()),
    )
    assert result.total == 3 * 2  # review r1 only, both modes


@pytest.mark.slow
def test_kill_9_mid_review_then_rerun_reads_upstream_back(
    review_env: tuple[Path, Path], tmp_path: Path
) -> None:
    suite, ws = review_env
    flag = tmp_path / "flag"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", ""), "."]),
        "SLOW_CASE": "r1-q_c",
        "SLOW_FLAG": str(flag),
    }
    cmd = [sys.executable, "-m", "evals.cli.main", "run", str(suite), "-w", str(ws),
           "--no-progress", "--lanes", "1"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:  # wait until r1's first two free nodes are recorded, then kill -9
        folder = ws / "records" / "trial"
        done = sum(p.read_bytes().count(b"\n") for p in folder.glob("*.jsonl"))
        if done >= 2:
            break
        assert first.poll() is None, first.communicate()[0].decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    flag.write_text("go")
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    rows = trials(ws)
    assert len(rows) == 10 and len({r["key"] for r in rows}) == 10  # each node exactly once
    free = {r["case_id"]: r for r in rows if not r["run_id"].endswith("-teacher")}
    c = free["r1-q_c"]["body"]
    assert c["trace"]["final_answer"].startswith("<r1-q_c>[q_a=<r1-q_a>[]|agent;q_b=<r1-q_b>")
    assert [u["trial_key"] for u in c["review"]["upstream"]] == [
        free["r1-q_a"]["key"], free["r1-q_b"]["key"]
    ]


def test_cycle_and_unknown_dependency_fail_validation_with_lines(tmp_path: Path) -> None:
    cyclic = QUESTIONS.replace("rubric: r\n- id: q_b", "rubric: r\n  depends_on: [q_c]\n- id: q_b")
    gs = make_set(tmp_path / "a", {"r": ["q_a"]}, cyclic)
    with pytest.raises(GoldenSetError) as err:
        load_golden_set(gs)
    text = [str(p) for p in err.value.problems]
    assert any("questions.yaml:4: 0.depends_on: dependency cycle: q_a -> q_c" in t for t in text)
    unknown = QUESTIONS.replace("depends_on: [q_a]", "depends_on: [q_x]")
    gs = make_set(tmp_path / "b", {"r": ["q_a"]}, unknown)
    with pytest.raises(GoldenSetError) as err:
        load_golden_set(gs)
    assert any("questions.yaml:7: 1.depends_on: unknown question 'q_x'" in str(p)
               for p in err.value.problems)
    cli = subprocess.run(
        [sys.executable, "-m", "evals.cli.main", "validate", str(gs)],
        capture_output=True, text=True,
    )
    assert cli.returncode == 2 and "questions.yaml:7" in cli.stdout + cli.stderr


def test_two_cases_of_one_question_in_a_review_are_refused(tmp_path: Path) -> None:
    gs = make_set(tmp_path, {"r": ["q_a", "q_b"]})
    lines = (gs / "cases.jsonl").read_text().splitlines()
    dup = json.loads(lines[1])
    dup["id"], dup["question_id"] = "r-q_b2", "q_a"
    (gs / "cases.jsonl").write_text("\n".join([*lines, json.dumps(dup)]) + "\n")
    with pytest.raises(GoldenSetError) as err:
        load_golden_set(gs)
    assert any(":3: review: review 'r' already has a case of question 'q_a' (line 1)" in str(p)
               for p in err.value.problems)


def test_report_of_a_review_run_shows_error_propagation_per_question(
    review_env: tuple[Path, Path], tmp_path: Path
) -> None:
    suite, ws = review_env
    suite.write_text(suite.read_text() + "judges:\n  - judge: answered\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), "."])}
    evals = [sys.executable, "-m", "evals.cli.main"]
    run = subprocess.run([*evals, "run", str(suite), "-w", str(ws), "--no-progress"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    out = tmp_path / "rep"
    rep = subprocess.run([*evals, "report", "rev-*", "-w", str(ws), "--out", str(out)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert rep.returncode == 0, rep.stdout + rep.stderr
    assert "Error propagation" in rep.stdout
    data = json.loads((out / "report.json").read_text())
    propagation = data["data"]["propagation"]
    assert propagation["candidate_ref"].startswith("rev-") and propagation["baseline_ref"].endswith(
        "-teacher"
    )
    assert [q["scope"] for q in propagation["questions"]] == ["q_a", "q_b", "q_c"]
    assert propagation["overall"]["outcome"]["n"] == 5  # paired by case across the modes
    assert "Error propagation (review DAG)" in (out / "report.html").read_text()
