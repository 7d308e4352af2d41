"""Gates and run reports over the typed columns (evals.analysis.runfacts: tallies in DuckDB)
give exactly what the reference path over TrialFacts (load_run + evaluate_gate /
build_run_summary) gives on the same records, for every kind of check, both pairings,
both helpfulness bases and both outcome sources; and a decision over more than 100k trials
fits in the views (it was left out of them when its checks listed their keys) so
`--baseline last-accepted` finds it."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from evals.analysis.gates import (
    evaluate_gate,
    evaluate_gate_facts,
    last_accepted,
    load_gate,
    record_decision,
)
from evals.analysis.rundata import OutcomeSpec, RunRef, load_run
from evals.analysis.runfacts import fact_session
from evals.schema import Decision, Trial, TrialError
from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing.synthetic import make_label, make_trial, make_verdict, write_run

CHECKS = """
  min_judge_pass_rate: 0.5
  min_helpful_lower_bound: 0.2
  max_handling_time_ratio: 0.9
  max_cost_per_trial: 0.003
  max_p95_latency_s: 6
  noninferiority_margin: 0.1
"""


def _trials(run: str, model: str, salt: int) -> list[Trial]:
    out = []
    for i in range(60):
        error = None
        if (i + salt) % 7 == 0:
            error = TrialError(kind="agent", code="tool_failed", message="tool failed")
        elif (i + salt) % 11 == 0:
            error = TrialError(kind="infra", code="rate_limit", message="429")
        t = make_trial(
            run, f"c{i % 20}", f"q{i % 20 % 3}", model_alias=model, repetition=i // 20,
            cost_usd=0.0013 * ((i * salt) % 5), latency_s=0.3 + ((i * salt) % 13) * 0.7,
            input_tokens=100 + i, cached_input_tokens=i % 4, output_tokens=10 + i % 3,
            tool_calls=i % 3, error=error, imported_outcome=((i + salt) % 4) / 3,
        )
        if i % 9 == 4:  # no price recorded: unknown, not free
            usage = t.trace.usage.model_copy(update={"cost_unknown": True})
            t = t.model_copy(update={"trace": t.trace.model_copy(update={"usage": usage})})
        out.append(t)
    return out


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A baseline run and a two-model candidate, judged (stages, re-judged, unjudged),
    reviewed (helpful ties, control items, a simulated reviewer); part compacted."""
    root = tmp_path_factory.mktemp("facts") / "ws"
    ws = Workspace(root)
    base = write_run(ws, "base", _trials("base", "model-a", 1))
    cand = write_run(ws, "cand", _trials("cand", "model-b", 2) + _trials("cand", "model-c", 3))
    verdicts = []
    for i, t in enumerate(base + cand):
        if t.status == "error" or i % 13 == 5:
            continue  # unjudged
        label = ("pass", "fail", "abstain")[(i * 7) % 3] if i % 5 else "pass"
        verdicts.append(make_verdict(t, label, stage=i % 3 if label == "fail" else None))
        if i % 6 == 0:  # a later cascade version changes its mind
            verdicts.append(make_verdict(t, "fail", version="v2", stage=2))
        if i % 4 == 0:
            verdicts.append(make_verdict(t, "pass" if i % 8 else "fail", judge="imported_outcome"))
    ws.writer("verdict").append_many(verdicts)
    ws.close()  # compacted: typed columns
    ws = Workspace(root)
    labels = []
    for n, (reviewer, t) in enumerate(itertools.product(["ana", "ben", "sim:bot"], cand[::4])):
        labels.append(make_label(reviewer, trial=t, helpful=(n % 3 != 1),
                                 active_seconds=20.0 + n % 7))
    for n, case in enumerate(["c1", "c2", "c4", "c5", "c7"]):
        labels.append(make_label("ana" if n % 2 else "ben", case_id=case, arm="unassisted",
                                 active_seconds=45.0 + n))
    ws.writer("label").append_many(labels)  # stays JSONL
    ws.writer("label").append_many([])
    return root


def _gate(tmp: Path, outcome: str, pair_by: str, base: str) -> Path:
    path = tmp / "gate.yaml"
    path.write_text(
        f"name: both\noutcome: {outcome}\npair_by: {pair_by}\nhelpful_base: {base}\n"
        f"overall:{CHECKS}every_question:{CHECKS}questions:\n  q1: {{min_judge_pass_rate: 0.3}}\n"
    )
    return path


def _dump(d: Decision) -> dict[str, Any]:
    return d.model_dump(mode="json", exclude={"id", "created_at"})


@pytest.mark.parametrize(
    ("outcome", "pair_by", "base", "cell", "sim"),
    [
        ("{source: cascade}", "case", "reviewed", "cand:model-b", False),
        ("{source: cascade}", "case_repetition", "candidates", "cand:model-c", True),
        ("{source: imported}", "case", "candidates", "cand:model-b:v1", False),
        ("{source: imported, imported_threshold: 0.5}", "case_repetition", "reviewed",
         "cand:model-c", False),
    ],
)
def test_typed_column_tallies_decide_as_the_trials_do(
    root: Path, tmp_path: Path, outcome: str, pair_by: str, base: str, cell: str, sim: bool
) -> None:
    gate = load_gate(_gate(tmp_path, outcome, pair_by, base))
    ws = Workspace(root)
    ref, base_ref = RunRef(*cell.split(":")), RunRef("base")
    spec: OutcomeSpec = gate.spec.outcome
    reference = evaluate_gate(
        gate,
        load_run(ws, ref, spec, single_cell=True, include_simulated=sim),
        load_run(ws, base_ref, spec, single_cell=True, include_simulated=sim),
    )
    with fact_session(ws) as fs:
        fs.prefetch(["cand", "base"])
        cand = fs.load(ref, spec, single_cell=True, include_simulated=sim)
        baseline = fs.load(base_ref, spec, single_cell=True, include_simulated=sim)
        facts = evaluate_gate_facts(gate, fs, cand, baseline)
    assert _dump(facts) == _dump(reference)
    metrics = {c.metric for c in facts.checks if c.value is not None}
    assert metrics == {  # every kind of check had data
        "judge_pass_rate", "helpful_lower_bound", "handling_time_ratio", "cost_per_trial",
        "p95_latency_s", "noninferiority",
    }
    assert all(c.evidence for c in facts.checks) and all(c.trial_keys == [] for c in facts.checks)


def test_a_gate_over_more_than_100k_trials_is_recorded_and_found(tmp_path: Path) -> None:
    """Each check once listed its trial keys: a decision over ~100k trials outgrew the
    views' line limit and was left out of them, so last-accepted never saw it."""
    ws = Workspace(tmp_path / "ws")
    trial = make_trial("big", "c0", "q0", imported_outcome=1.0).model_dump(mode="json")
    write_run(ws, "big", [], source="import")
    writer = ws.writer("trial")
    n = 120_000
    for first in range(0, n, 20_000):
        writer.append_many([
            {**trial, "key": f"{i:024d}", "case_id": f"c{i:07d}", "question_id": f"q{i % 2}"}
            for i in range(first, first + 20_000)
        ])
    ws.close()
    gate_path = tmp_path / "gate.yaml"
    gate_path.write_text(
        "name: big\noutcome: {source: imported}\noverall: {min_judge_pass_rate: 0.5}\n"
        "every_question: {min_judge_pass_rate: 0.5, max_p95_latency_s: 60}\n"
    )  # with key lists: 2 checks x 120k keys of 24 characters, over the 4 MB line limit
    ws = Workspace(tmp_path / "ws")
    with fact_session(ws) as fs:
        decision = evaluate_gate_facts(load_gate(gate_path), fs, fs.load(RunRef("big")))
    assert decision.outcome == "ship" and decision.checks[0].n == n
    record_decision(ws, decision)
    ws.close()
    ws = Workspace(tmp_path / "ws")
    assert query(ws, "SELECT id FROM decisions") == [{"id": decision.id}]
    assert last_accepted(ws) == "big"


def _facts(run: str, seed: int, spanning: bool) -> list[Any]:
    import random

    from evals.analysis.rundata import TrialFacts

    rnd = random.Random(seed)
    out = []
    for i in range(300):
        case = f"c{rnd.randrange(60) + 10 * seed}"  # some cases in one run only
        q = f"q{int(case[1:]) % 4}"
        if spanning and i % 37 == 0:
            q = "q9"  # a case id recurring in another question
        t = TrialFacts(
            f"{run}-{i}", case, f"h-{case}" + ("x" if i % 23 == 0 else ""), q, "m", "v1",
            rnd.randrange(3), "ok", None, 0, 0, 0, 0.0, 1.0, 0, 0, None, None, None, None,
        )
        t.outcome = None if i % 11 == 0 else rnd.random() < 0.6
        out.append(t)
    return out


@pytest.mark.parametrize("spanning", [False, True])
@pytest.mark.parametrize("pair_by", ["case", "case_repetition"])
def test_paired_counts_in_duckdb_match_the_pairing_of_trials(pair_by: str, spanning: bool) -> None:
    import duckdb

    from evals.analysis.compare import by_question, pairing_units
    from evals.analysis.pairing import NO_PAIRS, pair_counts, paired_counts

    base, cand = _facts("b", 1, spanning), _facts("c", 2, spanning)
    con = duckdb.connect()
    for name, trials in (("tb", base), ("tc", cand)):
        con.execute(
            f"CREATE TABLE {name} (question_id VARCHAR, case_id VARCHAR, repetition INT, "
            "key VARCHAR, case_hash VARCHAR, outcome BOOLEAN)"
        )
        con.executemany(
            f"INSERT INTO {name} VALUES (?, ?, ?, ?, ?, ?)",
            [[t.question_id, t.case_id, t.repetition, t.key, t.case_hash, t.outcome]
             for t in trials],
        )
    got = paired_counts(con, "tb", "tc", pair_by)

    def units(ts: list[Any]) -> Any:  # in TRIAL_ORDER, as load_run gives them
        ordered = sorted(ts, key=lambda t: (t.question_id, t.case_id, t.repetition, t.key))
        return pairing_units(ordered, lambda t: t.outcome, pair_by)  # type: ignore[arg-type]

    want: dict[str | None, Any] = {None: pair_counts(units(base), units(cand))}
    mine, theirs = by_question(base), by_question(cand)
    for q in sorted(mine.keys() | theirs.keys()):
        want[q] = pair_counts(units(mine.get(q, [])), units(theirs.get(q, [])))
    assert {q: got.get(q, NO_PAIRS) for q in want} == want
    assert want[None].changed_cases > 0 and want[None].unpaired_baseline > 0


def _normal(x: Any) -> Any:
    """Facts with their tallies' lists sorted (a tally's lists come in no set order)."""
    from dataclasses import asdict

    out = asdict(x)
    for key in ("overall", "cells", "question_cells", "models"):
        tallies = [out[key]] if key == "overall" else list(out[key].values())
        for t in tallies:
            t["costs"], t["latencies"] = sorted(t["costs"]), sorted(t["latencies"])
            t["labelled"] = sorted(repr(x) for x in t["labelled"])
    return out


@pytest.mark.parametrize(("cell", "sim"), [("cand", False), ("cand:model-c", True)])
def test_the_run_report_from_tallies_is_the_report_from_trials(
    root: Path, cell: str, sim: bool
) -> None:
    from reports import build_run_summary, load_decisions, load_examples, report_json
    from reports.summary_facts import from_run, from_session

    ws = Workspace(root)
    ref = RunRef(*cell.split(":"))
    run = load_run(ws, ref, include_simulated=sim)
    with fact_session(ws) as fs:
        facts = from_session(fs, fs.load(ref, include_simulated=sim))
        examples = load_examples(ws, facts, con=fs.con)
    assert _normal(facts) == _normal(from_run(run))  # the tallies (lists in any order)
    assert examples == load_examples(ws, run) and examples
    decisions = load_decisions(ws, "cand")
    reports = [
        json.loads(report_json(build_run_summary(r, examples, decisions)))
        for r in (run, facts)
    ]
    for r in reports:
        r.pop("generated_at")
    assert reports[0] == reports[1]
    assert reports[0]["data"]["overall"]["cost_unknown_trials"] > 0


def test_every_check_s_selection_finds_as_many_trials_as_it_counted(
    root: Path, tmp_path: Path
) -> None:
    from evals.analysis.evidence import evidence_keys

    gate = load_gate(_gate(tmp_path, "{source: cascade}", "case", "candidates"))
    ws = Workspace(root)
    with fact_session(ws) as fs:
        fs.prefetch(["cand", "base"])
        cand = fs.load(RunRef("cand", "model-b"), gate.spec.outcome, single_cell=True)
        base = fs.load(RunRef("base"), gate.spec.outcome, single_cell=True)
        decision = evaluate_gate_facts(gate, fs, cand, base)
    wheres = set()
    for check in decision.checks:
        keys = evidence_keys(ws, decision, check)
        assert len(keys) == sum(e.count for e in check.evidence), (check.metric, check.scope)
        assert len(set(keys)) == len(keys)
        wheres |= {e.where for e in check.evidence}
    assert wheres == {"outcome", "reviewed", "labels", "priced", "all", "paired"}


@pytest.mark.parametrize("sim", [False, True])
def test_the_run_junit_from_tallies_is_the_junit_from_trials(
    root: Path, tmp_path: Path, sim: bool
) -> None:
    """`evals run --junit` writes the run's suite from tallies (run_suite_facts): every
    test case, output, failure and error is the one the trials give (run_suite)."""
    import xml.etree.ElementTree as ET

    from evals.analysis.junit import run_suite, run_suite_facts

    gate = load_gate(_gate(tmp_path, "{source: cascade}", "case", "reviewed"))
    ws = Workspace(root)
    run = load_run(ws, RunRef("cand"), include_simulated=sim)
    decision = evaluate_gate(
        gate, load_run(ws, RunRef("cand", "model-b"), single_cell=True, include_simulated=sim)
    )
    reference = run_suite(run, [decision])
    with fact_session(ws) as fs:
        facts = run_suite_facts(fs, fs.load(RunRef("cand"), include_simulated=sim), [decision])
    for suite in (reference, facts):
        suite.attrib.pop("timestamp")
    assert ET.tostring(facts) == ET.tostring(reference)
    cases = reference.findall("testcase")
    assert len(cases) == 6  # 2 cells x 3 questions
    assert reference.get("failures") != "0" and reference.get("errors") != "0"
    assert any("helpful 0." in (c.findtext("system-out") or "") for c in cases)
