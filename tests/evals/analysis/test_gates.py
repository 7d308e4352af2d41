"""Gates: YAML loading, every kind of check against reference numbers, sample-size
honesty, the recorded Decision, and `evals gate` exit codes (real subprocesses)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from evals import stats as S
from evals.analysis.evidence import evidence_keys
from evals.analysis.gates import (
    GateFileError,
    evaluate_gate,
    last_accepted,
    load_gate,
    record_decision,
)
from evals.analysis.rundata import RunRef, load_run
from evals.schema import Decision, GateCheck, Trial
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing.synthetic import make_label, make_trial, make_verdict, write_run

TOL = 1e-6


def gate_file(tmp_path: Path, text: str, name: str = "gate.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def write_judged(
    ws: Workspace,
    run_id: str,
    passes: list[bool],
    question: str = "q1",
    model: str = "model-a",
    **trial_kw: float,
) -> list[Trial]:
    trials = [
        make_trial(run_id, f"{question}-c{i}", question, model_alias=model, **trial_kw)
        for i in range(len(passes))
    ]
    write_run(ws, run_id, trials)
    ws.writer("verdict").append_many(
        [make_verdict(t, "pass" if p else "fail") for t, p in zip(trials, passes, strict=True)]
    )
    return trials


def write_helpful(ws: Workspace, trials: list[Trial], helpful: list[bool]) -> None:
    ws.writer("label").append_many(
        [
            make_label(f"r{i % 3}", trial=t, helpful=h)
            for i, (t, h) in enumerate(zip(trials, helpful, strict=True))
        ]
    )


def only(decision: Decision, metric: str, scope: str = "overall") -> GateCheck:
    [check] = [c for c in decision.checks if c.metric == metric and c.scope == scope]
    return check


# ------------------------------------------------------------------------- loading


def test_gate_file_errors_name_file_line_and_field(tmp_path: Path) -> None:
    bad = gate_file(tmp_path, "name: x\noverall:\n  min_judge_pass_rate: 0.9\n  bogus: 1\n")
    with pytest.raises(GateFileError) as exc:
        load_gate(bad)
    assert str(exc.value).startswith(f"{bad}:4: overall.bogus:")
    rng = gate_file(tmp_path, "overall:\n  min_judge_pass_rate: 1.5\n", "r.yaml")
    with pytest.raises(GateFileError, match=r"r.yaml:2: overall.min_judge_pass_rate: must be in"):
        load_gate(rng)
    typo = gate_file(tmp_path, "overall: [1,\n", "t.yaml")
    with pytest.raises(GateFileError, match=r"t.yaml:\d+: bad YAML"):
        load_gate(typo)
    with pytest.raises(GateFileError, match="file is missing"):
        load_gate(tmp_path / "absent.yaml")
    with pytest.raises(GateFileError, match="confidence"):
        load_gate(gate_file(tmp_path, "confidence: 95\n", "c.yaml"))


def test_per_question_thresholds_merge_dataset_and_overrides(repo_root: Path) -> None:
    gate = load_gate(repo_root / "gates" / "edd_demo.yaml")
    q = gate.dataset_questions
    assert q, "edd_demo's questions.yaml carries per-question gates"
    some = next(iter(q))
    merged = gate.thresholds(some)
    assert merged.noninferiority_margin == 0.10  # every_question
    for key, value in q[some].model_dump(exclude_none=True).items():
        override = gate.spec.questions.get(some)
        if override is None or getattr(override, key) is None:
            assert getattr(merged, key) == value  # the dataset's threshold
    assert gate.thresholds("q_screening").min_judge_pass_rate == 0.95  # questions.<id> wins


# ------------------------------------------------------------------------- rate checks


@pytest.mark.parametrize(
    ("k", "n", "threshold", "outcome"),
    [
        (95, 100, 0.85, "pass"),  # lower bound 0.888 >= 0.85
        (18, 20, 0.80, "undecided"),  # 0.90 clears 0.80, lower bound 0.699 does not
        (14, 20, 0.80, "fail"),  # the rate itself is under
    ],
)
def test_helpful_lower_bound(
    workspace: Workspace, tmp_path: Path, k: int, n: int, threshold: float, outcome: str
) -> None:
    trials = write_judged(workspace, "run", [True] * n)
    write_helpful(workspace, trials, [True] * k + [False] * (n - k))
    gate = load_gate(gate_file(tmp_path, f"overall:\n  min_helpful_lower_bound: {threshold}\n"))
    decision = evaluate_gate(gate, load_run(workspace, RunRef("run")))
    check = only(decision, "helpful_lower_bound")
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert check.value == pytest.approx(lo, abs=TOL)
    assert (check.low, check.high) == pytest.approx((lo, hi), abs=TOL)
    assert (check.n, check.outcome, decision.outcome) == (
        n,
        outcome,
        {"pass": "ship", "fail": "fail", "undecided": "undecided"}[outcome],
    )
    assert sorted(evidence_keys(workspace, decision, check)) == sorted(t.key for t in trials)
    assert check.evidence[0].count == n and check.trial_keys == []
    if outcome == "undecided":
        need = S.sample_size_one_proportion(k / n, threshold, alpha=0.025, power=0.8)
        assert check.n_needed == need and decision.n_more_needed == need - n
        assert decision.summary.startswith(f"undecided: about {need - n} more cases needed")
    else:
        assert check.n_needed is None


def test_helpful_counts_trials_by_majority_and_candidates_base(
    workspace: Workspace, tmp_path: Path
) -> None:
    trials = write_judged(workspace, "run", [True, True, False, False])
    labels = [
        make_label("a", trial=trials[0], helpful=True),
        make_label("b", trial=trials[0], helpful=True),
        make_label("c", trial=trials[0], helpful=False),  # 2 of 3: helpful
        make_label("a", trial=trials[1], helpful=True),
        make_label("b", trial=trials[1], helpful=False),
    ]  # tie: not helpful
    workspace.writer("label").append_many(labels)
    run = load_run(workspace, RunRef("run"))
    reviewed = load_gate(gate_file(tmp_path, "overall: {min_helpful_lower_bound: 0.1}\n"))
    check = only(evaluate_gate(reviewed, run), "helpful_lower_bound")
    assert check.n == 2 and check.value == pytest.approx(
        proportion_confint(1, 2, method="wilson")[0], abs=TOL
    )
    candidates = load_gate(
        gate_file(
            tmp_path,
            "helpful_base: candidates\noverall: {min_helpful_lower_bound: 0.1}\n",
            "c.yaml",
        )
    )
    check = only(evaluate_gate(candidates, run), "helpful_lower_bound")
    assert check.n == 4  # the two judge fails count as not helpful
    assert check.value == pytest.approx(proportion_confint(1, 4, method="wilson")[0], abs=TOL)


def test_judge_pass_rate_and_no_data(workspace: Workspace, tmp_path: Path) -> None:
    write_judged(workspace, "run", [True] * 45 + [False] * 5)
    gate = load_gate(
        gate_file(
            tmp_path, "overall:\n  min_judge_pass_rate: 0.75\n  min_helpful_lower_bound: 0.5\n"
        )
    )
    decision = evaluate_gate(gate, load_run(workspace, RunRef("run")))
    rate = only(decision, "judge_pass_rate")
    lo, _ = proportion_confint(45, 50, alpha=0.05, method="wilson")
    assert rate.value == pytest.approx(0.9) and rate.low == pytest.approx(lo, abs=TOL)
    assert rate.outcome == "pass"  # lower bound 0.786 >= 0.75
    helpful = only(decision, "helpful_lower_bound")
    assert (helpful.outcome, helpful.value, helpful.n) == ("undecided", None, 0)
    assert decision.outcome == "undecided" and decision.n_more_needed is None
    assert decision.summary.startswith("undecided: more evidence needed")


# ------------------------------------------------------------------------- other checks


def test_cost_and_p95_latency_are_measured(workspace: Workspace, tmp_path: Path) -> None:
    trials = [
        make_trial("run", f"c{i}", cost_usd=0.01 * i, latency_s=float(i)) for i in range(1, 21)
    ]
    write_run(workspace, "run", trials)
    gate = load_gate(
        gate_file(tmp_path, "overall:\n  max_cost_per_trial: 0.1\n  max_p95_latency_s: 19.5\n")
    )
    decision = evaluate_gate(gate, load_run(workspace, RunRef("run")))
    cost = only(decision, "cost_per_trial")
    assert cost.value == pytest.approx(np.mean([0.01 * i for i in range(1, 21)]), abs=1e-12)
    assert cost.outcome == "fail"  # 0.105 > 0.1
    p95 = only(decision, "p95_latency_s")
    assert p95.value == pytest.approx(float(np.percentile(range(1, 21), 95)), abs=1e-12)
    assert p95.outcome == "pass" and p95.comparator == "<="
    assert decision.outcome == "fail"
    assert decision.summary.startswith("fail: 1 of 2 checks failed: overall cost_per_trial")


def _timed(
    ws: Workspace,
    trials: list[Trial],
    assisted: list[float],
    unassisted: list[float],
    reviewers: int,
) -> None:
    labels = [
        make_label(f"r{i % reviewers}", trial=t, active_seconds=s)
        for i, (t, s) in enumerate(zip(trials, assisted, strict=True))
    ]
    labels += [
        make_label(f"r{i % reviewers}", case_id=f"control-{i}", arm="unassisted", active_seconds=s)
        for i, s in enumerate(unassisted)
    ]
    ws.writer("label").append_many(labels)


@pytest.mark.parametrize(
    ("scale", "threshold", "outcome"),
    [(0.5, 0.8, "pass"), (0.75, 0.8, "undecided"), (0.95, 0.8, "fail")],
)
def test_handling_time_ratio_uses_the_upper_bound(
    workspace: Workspace, tmp_path: Path, scale: float, threshold: float, outcome: str
) -> None:
    rng = np.random.default_rng(3)
    unassisted = list(np.exp(rng.normal(math.log(100), 0.3, 24)))
    assisted = list(np.exp(rng.normal(math.log(100 * scale), 0.3, 24)))
    trials = write_judged(workspace, "run", [True] * 24)
    # Control items sit in the same review queue as the assisted items.
    _timed(workspace, trials, assisted, unassisted, reviewers=6)
    gate = load_gate(gate_file(tmp_path, f"overall: {{max_handling_time_ratio: {threshold}}}\n"))
    run = load_run(workspace, RunRef("run"))
    check = only(evaluate_gate(gate, run), "handling_time_ratio")
    # Reference on the same data, clusters numbered in reviewer order (as the gate does).
    by_reviewer = sorted(range(24), key=lambda i: f"r{i % 6}")
    ref = S.geometric_mean_ratio(
        [assisted[i] for i in by_reviewer],
        [f"r{i % 6}" for i in by_reviewer],
        [unassisted[i] for i in by_reviewer],
        [f"r{i % 6}" for i in by_reviewer],
        n_boot=2000,
        seed=0,
    )
    expected_ratio = math.exp(np.mean(np.log(assisted)) - np.mean(np.log(unassisted)))
    assert check.value == pytest.approx(expected_ratio, abs=1e-9)
    assert (check.low, check.high) == pytest.approx((ref.low, ref.high), abs=1e-9)
    assert check.outcome == outcome and check.n == 48
    if outcome == "undecided":
        assert check.n_needed is not None and check.n_needed > 48


def test_handling_time_needs_both_arms(workspace: Workspace, tmp_path: Path) -> None:
    trials = write_judged(workspace, "run", [True] * 3)
    _timed(workspace, trials, [10.0, 12.0, 9.0], [], reviewers=2)
    gate = load_gate(gate_file(tmp_path, "overall: {max_handling_time_ratio: 0.8}\n"))
    check = only(evaluate_gate(gate, load_run(workspace, RunRef("run"))), "handling_time_ratio")
    assert check.outcome == "undecided" and "both arms" in check.detail


def _paired(ws: Workspace, table: tuple[int, int, int, int]) -> None:
    n11, b10, b01, n00 = table
    base = [True] * n11 + [True] * b10 + [False] * b01 + [False] * n00
    cand = [True] * n11 + [False] * b10 + [True] * b01 + [False] * n00
    write_judged(ws, "base", base)
    write_judged(ws, "cand", cand, model="model-b")


@pytest.mark.parametrize(
    ("table", "outcome"),
    [
        ((180, 4, 6, 10), "pass"),  # diff +0.01, interval well above -0.05
        ((40, 3, 2, 5), "undecided"),  # diff -0.02 > -0.05, interval straddles it
        ((30, 12, 2, 6), "fail"),  # diff -0.2: worse than the margin
    ],
)
def test_noninferiority_against_a_baseline(
    workspace: Workspace, tmp_path: Path, table: tuple[int, int, int, int], outcome: str
) -> None:
    _paired(workspace, table)
    gate = load_gate(gate_file(tmp_path, "overall: {noninferiority_margin: 0.05}\n"))
    base, cand = load_run(workspace, RunRef("base")), load_run(workspace, RunRef("cand"))
    decision = evaluate_gate(gate, cand, base)
    check = only(decision, "noninferiority")
    n11, b10, b01, n00 = table
    n = sum(table)
    ref = S.paired_rate_difference(
        [True] * (n11 + b10) + [False] * (b01 + n00),
        [True] * n11 + [False] * b10 + [True] * b01 + [False] * n00,
    )
    assert check.value == pytest.approx((b01 - b10) / n, abs=1e-12)
    assert (check.low, check.high) == pytest.approx((ref.low, ref.high), abs=1e-9)
    assert (check.threshold, check.comparator, check.n) == (-0.05, ">", n)
    assert check.outcome == outcome
    assert decision.baseline_run_id == "base" and decision.baseline_ref == "base"
    if outcome == "undecided":
        need = S.sample_size_noninferiority_paired(
            (b01 + b10) / n, (b01 - b10) / n, 0.05, alpha=0.025
        )
        assert check.n_needed == need and decision.n_more_needed == need - n


def test_per_question_scopes_and_headline_need(workspace: Workspace, tmp_path: Path) -> None:
    t1 = write_judged(workspace, "run", [True] * 18 + [False] * 2, question="qa")
    more = [make_trial("run", f"qb-c{i}", "qb") for i in range(10)]
    workspace.writer("trial").append_many(more)
    workspace.writer("verdict").append_many([make_verdict(t, "pass") for t in more])
    gate = load_gate(
        gate_file(
            tmp_path,
            "every_question: {min_judge_pass_rate: 0.8}\n"
            "questions:\n  qb: {min_judge_pass_rate: 0.75}\n"
            "  qz: {min_judge_pass_rate: 0.5}\n",
        )
    )
    decision = evaluate_gate(gate, load_run(workspace, RunRef("run")))
    qa, qb = only(decision, "judge_pass_rate", "qa"), only(decision, "judge_pass_rate", "qb")
    assert (qa.outcome, qb.outcome) == ("undecided", "undecided")
    assert qb.threshold == 0.75 and sorted(
        evidence_keys(workspace, decision, qa)
    ) == sorted(t.key for t in t1)
    need_a = S.sample_size_one_proportion(0.9, 0.8, alpha=0.025) - 20
    need_b = S.sample_size_one_proportion(1.0, 0.75, alpha=0.025) - 10
    assert decision.n_more_needed == need_a + need_b  # questions add up
    assert "questions in the gate without trials in the run: qz" in decision.summary


def test_decision_is_recorded_and_marks_accepted_runs(workspace: Workspace, tmp_path: Path) -> None:
    write_judged(workspace, "r1", [True] * 50)
    write_judged(workspace, "r2", [True] * 50, model="model-b")
    gate = load_gate(gate_file(tmp_path, "name: g\noverall: {min_judge_pass_rate: 0.5}\n"))
    assert last_accepted(workspace) is None
    d1 = evaluate_gate(gate, load_run(workspace, RunRef("r1")))
    record_decision(workspace, d1)
    assert d1.outcome == "ship" and d1.gate_config["spec"]["overall"]["min_judge_pass_rate"]
    rows = query(
        workspace, "SELECT id, outcome, run_id, run_ref, gate, gate_hash, checks FROM decisions"
    )
    assert rows[0]["id"] == d1.id and rows[0]["run_ref"] == "r1" and rows[0]["gate"] == "g"
    stored = Decision.model_validate(next(workspace.iter_bodies("decision")))
    assert stored == d1
    assert last_accepted(workspace) == "r1"
    assert last_accepted(workspace, exclude=RunRef("r1")) is None
    record_decision(workspace, evaluate_gate(gate, load_run(workspace, RunRef("r2"))))
    assert last_accepted(workspace) == "r2"
    assert last_accepted(workspace, exclude=RunRef("r2")) == "r1"


def test_a_gate_with_nothing_to_check_is_an_error(workspace: Workspace, tmp_path: Path) -> None:
    write_judged(workspace, "run", [True])
    gate = load_gate(gate_file(tmp_path, "name: empty\n"))
    with pytest.raises(ValueError, match="sets no threshold"):
        evaluate_gate(gate, load_run(workspace, RunRef("run")))


# ------------------------------------------------------------------------- CLI


def evals(*args: str, ws: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evals.cli.main", *args, "-w", str(ws)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_gate_cli_exit_codes(tmp_path: Path) -> None:
    ws_path = tmp_path / "ws"
    ws = Workspace(ws_path)
    write_judged(ws, "good", [True] * 60)
    write_judged(ws, "thin", [True] * 9 + [False], model="model-b")
    write_judged(ws, "bad", [True] * 5 + [False] * 5, model="model-c")
    ws.close()
    gate = gate_file(tmp_path, "name: ci\noverall:\n  min_judge_pass_rate: 0.8\n")
    ni_gate = gate_file(tmp_path, "overall: {noninferiority_margin: 0.05}\n", "ni.yaml")

    ship = evals("gate", str(gate), "--run", "good", ws=ws_path)
    assert ship.returncode == 0, ship.stderr
    assert "SHIP" in ship.stdout and "recorded" in ship.stdout
    undecided = evals("gate", str(gate), "--run", "thin", ws=ws_path)
    assert undecided.returncode == 4 and "more cases needed" in undecided.stdout
    failed = evals("gate", str(gate), "--run", "bad", "--json", ws=ws_path)
    assert failed.returncode == 3
    decision = json.loads(failed.stdout)
    assert decision["outcome"] == "fail" and decision["checks"][0]["value"] == 0.5
    assert evals("gate", str(gate), "--run", "bad", "--no-fail", ws=ws_path).returncode == 0

    invalid = gate_file(tmp_path, "overall: {min_judge_pass_rat: 0.8}\n", "typo.yaml")
    bad_file = evals("gate", str(invalid), "--run", "good", ws=ws_path)
    assert bad_file.returncode == 2 and "typo.yaml:1: overall.min_judge_pass_rat" in (
        bad_file.stderr
    )
    unknown = evals("gate", str(gate), "--run", "nope", ws=ws_path)
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: no run 'nope'")
    assert "Traceback" not in unknown.stderr
    needs = evals("gate", str(ni_gate), "--run", "bad", ws=ws_path)
    assert needs.returncode == 1 and "--baseline" in needs.stderr

    # 'good' shipped above: it is the last accepted run, and 'bad' is worse than it.
    regress = evals(
        "gate", str(ni_gate), "--run", "bad", "--baseline", "last-accepted", "--json", ws=ws_path
    )
    assert regress.returncode == 3
    assert json.loads(regress.stdout)["baseline_ref"] == "good"
    skipped = evals(
        "gate", str(ni_gate), "--run", "bad", "--baseline", "none", "--no-record", ws=ws_path
    )
    assert skipped.returncode == 1 and "sets no threshold" in skipped.stderr
    rows = query(Workspace(ws_path), "SELECT outcome FROM decisions ORDER BY created_at")
    assert [r["outcome"] for r in rows] == ["ship", "undecided", "fail", "fail", "fail"]


def test_dataset_thresholds_are_range_checked(tmp_path: Path, repo_root: Path) -> None:
    import shutil

    data = tmp_path / "ds"
    shutil.copytree(repo_root / "datasets" / "edd_demo", data)
    text = (data / "questions.yaml").read_text()
    (data / "questions.yaml").write_text(
        text.replace("min_judge_pass_rate: 0.9\n", "min_judge_pass_rate: 1.0\n", 1)
    )
    gate = gate_file(tmp_path, "dataset: ds\n")
    with pytest.raises(GateFileError) as info:
        load_gate(gate)
    line = text.index("min_judge_pass_rate: 0.9\n")
    assert f"questions.yaml:{text[:line].count(chr(10)) + 1}: 0.gate.min_judge_pass_rate: must" in (
        str(info.value)
    )


def test_a_check_records_its_trials_as_a_selection(workspace: Workspace, tmp_path: Path) -> None:
    """No key list in the decision: the run, question and which trials, with their count;
    the keys are found again from it."""
    trials = write_judged(workspace, "run", [True] * 4 + [False])
    workspace.writer("trial").append_many([make_trial("run", "q1-x", "q1")])  # unjudged
    gate = load_gate(gate_file(tmp_path, "overall: {min_judge_pass_rate: 0.1}\n"))
    decision = evaluate_gate(gate, load_run(workspace, RunRef("run")))
    check = only(decision, "judge_pass_rate")
    assert check.trial_keys == []
    assert [e.model_dump() for e in check.evidence] == [
        {"run_ref": "run", "question": None, "where": "outcome", "count": 5}
    ]
    assert sorted(evidence_keys(workspace, decision, check)) == sorted(t.key for t in trials)
