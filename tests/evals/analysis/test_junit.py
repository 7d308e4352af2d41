"""CI output: JUnit XML from `evals gate` and `evals run`, and a suite's `gates:` applied
by `evals run` with the exit codes of `evals gate` (0 ship, 2 invalid, 3 fail, 4 undecided).

The runs go over real HTTP to the fake OpenAI-compatible server; the JUnit files are
checked by parsing them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from evals.analysis.gates import evaluate_gate, load_gate
from evals.analysis.rundata import RunRef, load_run
from evals.cli.main import app
from evals.schema import Decision
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer, FakeRequest, Reply
from evals.testing.synthetic import make_trial, make_verdict, write_run
from reports.decision import as_decision


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")


def _check_junit(path: Path) -> ET.Element:
    """Parse a JUnit file and check that every total matches its test cases."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    for s in suites:
        # The strict (Ant/Jenkins) schema: name, timestamp, time; properties first.
        assert s.get("name") and s.get("time") == "0"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", s.get("timestamp", ""))
        tags = [child.tag for child in s]
        assert set(tags) <= {"properties", "testcase"} and "properties" not in tags[1:]
        cases = s.findall("testcase")
        assert int(s.get("tests", "-1")) == len(cases)
        assert int(s.get("failures", "-1")) == sum(c.find("failure") is not None for c in cases)
        assert int(s.get("errors", "-1")) == sum(c.find("error") is not None for c in cases)
        for c in cases:
            assert c.get("classname") and c.get("name")
            assert len(c.findall("failure")) + len(c.findall("error")) <= 1
            assert [child.tag for child in c][-1] == "system-out"  # after failure/error
    for key in ("tests", "failures", "errors"):
        assert int(root.get(key, "-1")) == sum(int(s.get(key, "0")) for s in suites)
    return root


def test_gate_junit_has_one_case_per_check_with_the_numbers(
    workspace: Workspace, tmp_path: Path
) -> None:
    trials = [make_trial("r", f"c{i}", f"q{i % 2}", cost_usd=0.01) for i in range(20)]
    write_run(workspace, "r", trials)
    workspace.writer("verdict").append_many(
        [make_verdict(t, "fail" if i % 4 == 0 else "pass") for i, t in enumerate(trials)]
    )
    workspace.close()
    gate = tmp_path / "g.yaml"
    gate.write_text(
        "name: ci\noverall: {min_judge_pass_rate: 0.9, max_cost_per_trial: 1.0}\n"
        "every_question: {min_judge_pass_rate: 0.4}\n"
    )
    out = tmp_path / "ci" / "gate.xml"
    result = CliRunner().invoke(
        app, ["gate", str(gate), "--run", "r", "--junit", str(out), "-w", str(workspace.root)]
    )
    assert result.exit_code == 3, result.output
    root = _check_junit(out)
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "gate ci on r"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    decision = evaluate_gate(load_gate(gate), load_run(workspace, RunRef("r")))
    assert set(cases) == {f"{c.scope} {c.metric}" for c in decision.checks}
    failure = cases["overall judge_pass_rate"].find("failure")
    assert failure is not None and failure.get("type") == "fail"
    assert failure.get("message") == (
        "overall judge_pass_rate 0.75 [0.5313, 0.8881], n=20; needs >= 0.9: fail"
    )
    assert cases["overall cost_per_trial"].find("failure") is None
    q0 = cases["q0 judge_pass_rate"].find("failure")  # 5/10 pass: undecided at 0.4
    assert q0 is not None and q0.get("type") == "undecided"
    assert re.fullmatch(
        r"q0 judge_pass_rate 0\.5 \[0\.2366, 0\.7634\], n=10; needs >= 0\.4: "
        r"undecided \(\+\d+ cases\)",
        q0.get("message") or "",
    )
    assert cases["q1 judge_pass_rate"].find("failure") is None  # 10/10
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["outcome"] == "fail" and (props["decision"] or "").startswith("dec-")


# --------------------------------------------------------------------------- evals run


def _suite(tmp_path: Path, repo_root: Path, server: FakeLLMServer, gates: str) -> Path:
    prompts = tmp_path / "prompts"
    prompts.mkdir(exist_ok=True)
    (prompts / "v1.md").write_text("You are an analyst.\n")
    (prompts / "v2.md").write_text("You are a careful analyst.\n")
    path = tmp_path / "ci.yaml"
    path.write_text(
        f"name: ci\ndataset: {repo_root / 'datasets' / 'edd_demo'}\nagent: {{name: react}}\n"
        "models:\n  - {alias: native, model: openai/fake, params: {temperature: 0, "
        f"api_base: '{server.base_url}'}}, api_key_env: FAKE_LLM_KEY, supports_tools: true, "
        "timeout_s: 5, max_retries: 0}\n"
        "prompts: {v1: prompts/v1.md, v2: prompts/v2.md}\nlimit: 2\n"
        f"limits: {{lanes: 4, max_steps: 2}}\n{gates}"
    )
    return path


def _gate(tmp_path: Path, name: str, body: str) -> None:
    (tmp_path / "gates").mkdir(exist_ok=True)
    (tmp_path / "gates" / f"{name}.yaml").write_text(f"name: {name}\n{body}")


def _run(suite: Path, ws: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["run", str(suite), "-w", str(ws), "--no-progress", *args])


def test_suite_gates_decide_the_exit_code_and_the_junit(tmp_path: Path, repo_root: Path) -> None:
    _gate(tmp_path, "cheap", "overall: {max_cost_per_trial: 1.0}\n")
    _gate(tmp_path, "instant", "overall: {max_p95_latency_s: 0.000001}\n")
    _gate(tmp_path, "judged", "every_question: {min_judge_pass_rate: 0.5}\n")
    ws = tmp_path / "ws"
    with FakeLLMServer() as server:
        ship = _suite(tmp_path, repo_root, server, "gates: [gates/cheap.yaml]\n")
        result = _run(ship, ws, "--junit", str(tmp_path / "ship.xml"))
        assert result.exit_code == 0, result.output
        assert "suite gates: 2 decision(s): 2 ship, 0 fail, 0 undecided" in result.output
        root = _check_junit(tmp_path / "ship.xml")
        run_suite, *gate_suites = root.findall("testsuite")
        # One case per question and cell (2 cases round-robin: 2 questions x 2 prompts),
        # one suite per decision (one per cell) with one case per check.
        assert len(run_suite.findall("testcase")) == 4
        run_id = run_suite.get("name", "").removeprefix("run ")
        assert run_id.startswith("ci-")
        assert [s.get("name") for s in gate_suites] == [
            f"gate cheap on {run_id}:native:v1",
            f"gate cheap on {run_id}:native:v2",
        ]
        assert root.get("failures") == "0"

        fail = _suite(
            tmp_path, repo_root, server, "gates: [{gate: gates/instant.yaml, cells: [native:v2]}]\n"
        )
        result = _run(fail, ws, "--junit", str(tmp_path / "fail.xml"))
        assert result.exit_code == 3, result.output
        root = _check_junit(tmp_path / "fail.xml")
        (decided,) = root.findall("testsuite")[1:]
        failure = decided.find("testcase/failure")
        assert failure is not None and "needs <= 1e-06: fail" in (failure.get("message") or "")

        # No judges in this suite: no judged trial, so a pass-rate gate cannot decide; nor
        # can non-inferiority against the first run (each cell against the same cell).
        _gate(tmp_path, "ni", "overall: {noninferiority_margin: 0.1}\n")
        undecided = _suite(
            tmp_path, repo_root, server,
            f"gates: [gates/judged.yaml, {{gate: gates/ni.yaml, baseline: {run_id}}}]\n",
        )  # fmt: skip
        result = _run(undecided, ws, "--junit", str(tmp_path / "undecided.xml"))
        assert result.exit_code == 4, result.output
        root = _check_junit(tmp_path / "undecided.xml")
        questions = root.findall("testsuite")[0].findall("testcase")
        assert all(c.find("failure") is not None for c in questions)  # per question: open
        assert {c.find("failure").get("type") for c in questions} == {"undecided"}  # type: ignore[union-attr]
        requests = server.count
    workspace = Workspace(ws, create=False)
    outcomes = [r["outcome"] for r in query(workspace, "SELECT outcome FROM decisions")]
    assert sorted(outcomes) == ["fail", "ship", "ship", *["undecided"] * 4]
    # Decided over the typed columns, each is the reference path's decision (evaluate_gate
    # over load_run) on the same records.
    decisions = [as_decision(r) for r in query(workspace, "SELECT * EXCLUDE (recorded_at) "
                                                          "FROM decisions")]  # fmt: skip
    for d in decisions:
        gate = load_gate(tmp_path / "gates" / f"{d.gate}.yaml")
        cand, base = (
            None if ref is None else load_run(workspace, RunRef(*ref.split(":")),
                                              gate.spec.outcome, single_cell=True)
            for ref in (d.run_ref, d.baseline_ref)
        )  # fmt: skip
        assert cand is not None
        assert _dump(d) == _dump(evaluate_gate(gate, cand, base)), d.gate
    assert {d.baseline_ref for d in decisions} == {
        None, f"{run_id}:native:v1", f"{run_id}:native:v2"
    }
    workspace.close()
    assert requests > 0


def _dump(d: Decision) -> dict[str, Any]:
    return d.model_dump(mode="json", exclude={"id", "created_at"})


@pytest.mark.parametrize(
    ("gates", "message"),
    [
        ("gates: [gates/missing.yaml]", "gates[0].gate: "),
        ("gates: [{gate: gates/ni.yaml}]", "gates[0].baseline: gate ni sets noninferiority"),
        ("gates: [{gate: gates/ni.yaml, baseline: none, cells: [native:v9]}]",
         "gates[0].cells[0]: 'native:v9' is not a MODEL:PROMPT cell"),
        ("gates: [{gate: gates/ni.yaml, baseline: none, when: always}]",
         "gates[0].when: Extra inputs are not permitted"),
        ("gates: {gate: gates/ni.yaml}", "gates: expected a list of gates"),
    ],
)  # fmt: skip
def test_bad_suite_gates_exit_2_before_any_trial(
    tmp_path: Path, repo_root: Path, gates: str, message: str
) -> None:
    _gate(tmp_path, "ni", "overall: {noninferiority_margin: 0.05}\n")
    with FakeLLMServer() as server:
        suite = _suite(tmp_path, repo_root, server, gates + "\n")
        result = _run(suite, tmp_path / "ws")
        assert result.exit_code == 2
        [line] = result.stderr.splitlines()  # one line: file:line: field: problem
        assert line.startswith(f"{suite}:")
        assert message in line
        assert server.count == 0


def test_incomplete_run_is_not_gated(tmp_path: Path, repo_root: Path) -> None:
    _gate(tmp_path, "cheap", "overall: {max_cost_per_trial: 1.0}\n")
    # The first request fails with a 500 and is not retried: one infrastructure error
    # (a run where every trial failed stops earlier: "no trial produced an answer").
    def first_fails(req: FakeRequest) -> Reply | None:
        return Reply(fault="server_error") if req.index == 0 else None

    with FakeLLMServer(first_fails) as server:
        suite = _suite(tmp_path, repo_root, server, "gates: [gates/cheap.yaml]\n")
        result = _run(suite, tmp_path / "ws", "--junit", str(tmp_path / "j.xml"))
    assert result.exit_code == 1, result.output
    assert "suite gates not applied" in result.output
    root = _check_junit(tmp_path / "j.xml")
    assert len(root.findall("testsuite")) == 1
    errors = root.findall("testsuite/testcase/error")
    assert errors and all(e.get("type") == "infra" for e in errors)
