"""JUnit XML for CI: one test case per gate check and per question of a run.

CI systems (GitLab, Jenkins, GitHub test reporters) read the common JUnit dialect:
``<testsuites>`` holding ``<testsuite name tests failures errors skipped>`` holding
``<testcase classname name>``, each with at most one ``<failure message type>`` or
``<error message type>`` and a ``<system-out>``. Here:

* a gate decision is a test suite; each check a test case named ``SCOPE METRIC`` that
  fails (``type="fail"``) when the check failed and also (``type="undecided"``) when it
  cannot decide yet, since neither lets the gate ship; the message carries the numbers
  (value, interval, n, threshold, cases needed);
* a run is a test suite with one test case per question and model/prompt cell, whose
  output holds that question's pass rate, helpful rate and errors; it has an
  ``<error type="infra">`` when trials were lost to infrastructure, and fails when a
  gate check scoped to that question failed or is undecided for that cell.

Agent and judge text never goes into the XML; only ids, numbers and our own words (the
gate detail strings), escaped by the XML writer.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from evals.analysis.rundata import RunData, RunRef, TrialFacts
from evals.analysis.runfacts import FactSession, RunFacts
from evals.analysis.runstats import ArmStats, RateStat, arm_stats, arm_stats_from_tally
from evals.schema import Decision, GateCheck, utcnow


def check_text(c: GateCheck) -> str:
    """'0.75 [0.551, 0.88], n=24; needs >= 0.7: undecided (+614 cases)'."""
    value = "no data" if c.value is None else f"{c.value:.4g}"
    interval = f" [{c.low:.4g}, {c.high:.4g}]" if c.low is not None and c.high is not None else ""
    more = f" (+{c.n_needed - c.n} cases)" if c.outcome == "undecided" and c.n_needed else ""
    return f"{value}{interval}, n={c.n}; needs {c.comparator} {c.threshold:g}: {c.outcome}{more}"


def _suite(name: str, cases: list[ET.Element], at: datetime | None = None) -> ET.Element:
    # timestamp and time are required by the strict JUnit schema (Jenkins/Ant style).
    suite = ET.Element("testsuite", name=name)
    suite.set("timestamp", (at or utcnow()).strftime("%Y-%m-%dT%H:%M:%S"))
    suite.set("time", "0")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    suite.set("skipped", "0")
    suite.extend(cases)
    return suite


def _case(classname: str, name: str, out: str) -> ET.Element:
    case = ET.Element("testcase", classname=classname, name=name)
    case.set("time", "0")
    ET.SubElement(case, "system-out").text = out
    return case


def decision_suite(decision: Decision) -> ET.Element:
    """One test suite per gate decision, one test case per check."""
    cases = []
    for c in decision.checks:
        case = _case(f"gate.{decision.gate}.{decision.run_ref}", f"{c.scope} {c.metric}", c.detail)
        if c.outcome != "pass":
            failure = ET.Element("failure", type=c.outcome)
            failure.set("message", f"{c.scope} {c.metric} {check_text(c)}")
            failure.text = c.detail
            case.insert(0, failure)
        cases.append(case)
    suite = _suite(f"gate {decision.gate} on {decision.run_ref}", cases, decision.created_at)
    props = ET.Element("properties")
    for key, value in (
        ("decision", decision.id),
        ("outcome", decision.outcome),
        ("summary", decision.summary),
        ("baseline", decision.baseline_ref or ""),
    ):
        ET.SubElement(props, "property", name=key, value=value)
    suite.insert(0, props)
    return suite


def _rate(r: RateStat) -> str:
    if r.rate is None:
        return "no data"
    return f"{r.rate:.3f} ({r.k}/{r.n}) [{r.low:.3f}, {r.high:.3f}]"


def _question_out(s: ArmStats) -> str:
    return (
        f"trials {s.trials}, cases {s.cases}; pass rate {_rate(s.outcome)}; "
        f"helpful {_rate(s.helpful)}; infra errors {s.infra_errors}, agent errors "
        f"{s.agent_errors}; cost/trial {s.cost_per_trial_usd}; p95 s {s.latency_p95_s}"
    )


def _selects(ref: str, model: str, prompt: str) -> bool:
    """Does a decision's 'RUN[:MODEL[:PROMPT]]' cover this model/prompt cell?"""
    parts = ref.split(":")
    want_model = parts[1] if len(parts) > 1 and parts[1] else None
    want_prompt = parts[2] if len(parts) > 2 and parts[2] else None
    return want_model in (None, model) and want_prompt in (None, prompt)


def run_suite(run: RunData, decisions: Sequence[Decision] = ()) -> ET.Element:
    """One test suite per run, one test case per (model/prompt cell, question)."""
    groups: dict[tuple[str, str, str], list[TrialFacts]] = defaultdict(list)
    for t in run.trials:
        groups[(t.model_alias, t.prompt, t.question_id)].append(t)
    stats = {key: arm_stats(trials, run.assisted) for key, trials in groups.items()}
    return _run_suite(run.ref, stats, decisions)


def run_suite_facts(
    fs: FactSession, run: RunFacts, decisions: Sequence[Decision] = ()
) -> ET.Element:
    """run_suite over a run whose trials stay in DuckDB (evals.analysis.runfacts): the
    same figures from one grouped tally per (cell, question)."""
    tallies = fs.tallies(run, ["model_alias", "prompt", "question_id"])
    stats = {
        (str(m), str(p), str(q)): arm_stats_from_tally(t, run.assisted)
        for (m, p, q), t in tallies.items()
    }
    return _run_suite(run.ref, stats, decisions)


def _run_suite(
    ref: RunRef, stats: dict[tuple[str, str, str], ArmStats], decisions: Sequence[Decision]
) -> ET.Element:
    """The run's suite from each (model, prompt, question)'s statistics."""
    cases = []
    for (model, prompt, question), s in sorted(stats.items()):
        case = _case(f"run.{ref.run_id}.{model}/{prompt}", question, _question_out(s))
        checks = [
            c
            for d in decisions
            if _selects(d.run_ref or d.run_id, model, prompt)
            for c in d.checks
            if c.scope == question and c.outcome != "pass"
        ]
        if checks:
            worst = "fail" if any(c.outcome == "fail" for c in checks) else "undecided"
            failure = ET.Element("failure", type=worst)
            failure.set("message", "; ".join(f"{c.metric} {check_text(c)}" for c in checks))
            case.insert(0, failure)
        elif s.infra_errors:
            error = ET.Element("error", type="infra")
            error.set(
                "message",
                f"{s.infra_errors} of {s.trials} trials failed on infrastructure "
                "(rerun the suite to retry them)",
            )
            case.insert(0, error)
        cases.append(case)
    return _suite(f"run {ref}", cases)


def junit_xml(suites: Iterable[ET.Element]) -> str:
    """The ``<testsuites>`` document holding the given suites, with totals."""
    root = ET.Element("testsuites", name="agent-evals")
    suites = list(suites)
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in suites)))
    root.extend(suites)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(path: Path, suites: Iterable[ET.Element]) -> Path:
    """Write the JUnit file atomically (a CI upload never reads half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(junit_xml(suites), encoding="utf-8")
    os.replace(tmp, path)
    return path
