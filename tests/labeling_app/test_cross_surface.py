"""One number, one definition: the dashboard, `evals report`, `evals gate --json` and
`evals compare` give the same helpful rate, handling-time reduction and pass rate on
the same workspace, and all leave simulated reviewers out unless asked (issue 15, 13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evals.cli.main import app
from evals.schema import Verdict
from evals.store.workspace import Workspace
from labeling_app.metrics import dashboard as metrics
from labeling_app.queues.service import Decision, QueueService

CELL = "run-1:model-a:v1"
BASE = "run-1:model-b:v1"
GATE = """\
name: cross
confidence: 0.95
overall:
  min_helpful_lower_bound: 0.5
  min_judge_pass_rate: 0.5
  max_handling_time_ratio: 0.9
"""


def _review(svc: QueueService, queue_id: str, reviewers: list[str], clock: Any) -> None:
    """Each reviewer works through the queue: mixed ratings (ties on some trials, so a
    per-label rate would differ from the per-trial one), assisted items faster."""
    t = 0.0
    for r_i, reviewer in enumerate(reviewers):
        for n in range(40):
            item = svc.claim_next(queue_id, reviewer, now=clock(t))
            if item is None:
                break
            assisted = item.arm == "assisted"
            took = (12.0 + 3 * (n % 4) + r_i) if assisted else (30.0 + 4 * (n % 3) + r_i)
            t += took
            if assisted:
                helpful = reviewer.startswith("sim:") or (n + r_i) % 3 != 0
                decision = Decision(helpful=helpful, correctness="correct")
            else:
                decision = Decision(corrected_answer="my own answer", correctness="correct")
            svc.decide(queue_id, item.item_id, reviewer, decision, now=clock(t))
            t += 5.0


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    return result


def _surfaces(ws: Workspace, queue: Any, tmp: Path, sim: bool) -> dict[str, dict[str, Any]]:
    """helpful rate, handling-time reduction and pass rate of CELL on every surface."""
    flag = ["--include-simulated"] if sim else []
    svc = QueueService(ws)
    labels = svc.index.labels(queue.queue_id)
    if not sim:
        labels = [lb for lb in labels if not metrics.is_simulated(lb.reviewer)]
    counted = metrics.counted_ids(ws, [queue.queue_id])
    df = metrics.label_frame(
        {queue.queue_id: queue}, labels, svc.index.events(queue.queue_id), counted=counted
    )
    df = df[(df["model_alias"] == "model-a") | (df["arm"] == "unassisted")]
    helpful = metrics.helpfulness(df, "model_alias").set_index("model_alias").loc["model-a"]
    time = metrics.handling_time(df, "model_alias").set_index("model_alias").loc["model-a"]
    out: dict[str, dict[str, Any]] = {
        "dashboard": {
            "helpful": helpful["rate"],
            "reduction": time["reduction"],
            "simulated": bool(helpful["simulated"] and time["simulated"]),
        }
    }
    gate_file = tmp / "gate.yaml"
    gate_file.write_text(GATE)
    res = _cli("gate", str(gate_file), "--run", CELL, "--json", "--no-record", "-w",
               str(ws.root), *flag)  # fmt: skip
    assert res.exit_code in (0, 3, 4), res.output
    checks = {c["metric"]: c for c in json.loads(res.output)["checks"]}
    out["gate"] = {
        "helpful": checks["helpful_lower_bound"]["estimate"],
        "reduction": 1 - checks["handling_time_ratio"]["value"],
        "pass": checks["judge_pass_rate"]["value"],
        "simulated": checks["helpful_lower_bound"]["simulated"],
    }
    text = _cli("gate", str(gate_file), "--run", CELL, "--no-record", "-w", str(ws.root), *flag)
    assert ("SIMULATED: human numbers" in text.output) is sim, text.output
    res = _cli("report", CELL, "--format", "json", "--out", str(tmp / f"r{sim}"), "-w",
               str(ws.root), *flag)  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads((tmp / f"r{sim}" / "report.json").read_text())["data"]
    out["report"] = {
        "helpful": data["overall"]["helpful"]["rate"],
        "reduction": data["handling_time"]["reduction"],
        "pass": data["overall"]["outcome"]["rate"],
        "simulated": data["simulated"],
    }
    res = _cli("compare", BASE, CELL, "--format", "json", "--out", str(tmp / f"c{sim}"),
               "-w", str(ws.root), *flag)  # fmt: skip
    assert res.exit_code == 0, res.output
    cmp = json.loads((tmp / f"c{sim}" / "report.json").read_text())["data"]
    out["compare"] = {
        "helpful": cmp["overall"]["candidate"]["helpful"]["rate"],
        "reduction": cmp["candidate_handling_time"]["reduction"],
        "pass": cmp["overall"]["candidate"]["outcome"]["rate"],
        "simulated": cmp["simulated"],
    }
    return out


def test_every_surface_gives_the_same_numbers(
    trial_ws: Workspace, queue_factory: Any, clock: Any, tmp_path: Path
) -> None:
    q = queue_factory(overlap=2, control_share=0.3)
    svc = QueueService(trial_ws)
    _review(svc, q.queue_id, ["ann", "ben"], clock)
    # A later cascade version fails one model-a trial: the latest verdict counts.
    first = next(it for it in q.items if it.model_alias == "model-a")
    trial_ws.append("verdict", Verdict(key="later", trial_key=str(first.trial_key),
                                       run_id="run-1", judge="cascade", judge_version="2",
                                       label="fail"))  # fmt: skip
    trial_ws.close(compact=False)
    people = _surfaces(trial_ws, q, tmp_path, sim=False)
    ref = people["gate"]
    assert 0 < ref["helpful"] < 1 and 0 < ref["reduction"] < 1
    assert ref["pass"] == pytest.approx(5 / 6)
    for name, got in people.items():
        for key in ("helpful", "reduction", "pass"):
            if key in got:
                assert got[key] == pytest.approx(ref[key], abs=1e-12), (name, key)
        assert got["simulated"] is False, name

    # Simulated reviewers rate everything helpful: left out by default (numbers
    # unchanged), counted and marked SIMULATED everywhere when asked for.
    _review(svc, q.queue_id, ["sim:reviewer-1"], clock)
    trial_ws.close(compact=False)
    again = _surfaces(trial_ws, q, tmp_path, sim=False)
    assert again["gate"]["helpful"] == pytest.approx(ref["helpful"])
    assert again["report"]["reduction"] == pytest.approx(ref["reduction"])
    with_sim = _surfaces(trial_ws, q, tmp_path, sim=True)
    sref = with_sim["gate"]
    assert sref["helpful"] != pytest.approx(ref["helpful"])
    for name, got in with_sim.items():
        for key in ("helpful", "reduction", "pass"):
            if key in got:
                assert got[key] == pytest.approx(sref[key], abs=1e-12), (name, key)
        assert got["simulated"] is True, name
