"""What an import's numbers count: the agent's tool calls apart from a simulated user's,
and an unpriced model's cost as unknown (never $0), left out of cost gates with a caveat."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.analysis.rundata import RunRef, load_run
from evals.analysis.runstats import arm_stats
from evals.store.workspace import Workspace
from reports import build_run_summary
from reports.markdown import render_markdown

DATA = next(
    (
        p / "shared" / "data" / "tau2_retail"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "data" / "tau2_retail").exists()
    ),
    Path("shared/data/tau2_retail"),
)
BASE = DATA / "gpt-4.1_retail.json"

pytestmark = pytest.mark.skipif(not BASE.exists(), reason="tau2 retail data not present")


def evals(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evals.cli.main", *args], capture_output=True, text=True
    )


def _user_tool_turn(n: int) -> list[dict[str, object]]:
    """A telecom-style user turn: the simulated user calls its own tool (tau2 marks the
    call and its result with requestor 'user')."""
    call = {"id": f"u{n}", "name": "toggle_airplane_mode", "arguments": {}, "requestor": "user"}
    result = {"role": "tool", "id": f"u{n}", "content": '{"ok": true}', "requestor": "user"}
    return [{"role": "user", "content": None, "tool_calls": [call]}, result]


def test_user_tool_calls_apart_and_unknown_cost(tmp_path: Path) -> None:
    data = json.loads(BASE.read_text())
    data["simulations"] = data["simulations"][:6]
    agent_calls = 0
    for i, sim in enumerate(data["simulations"]):
        sim["agent_cost"] = 0.0  # tau2 could not price the model
        agent_calls += sum(len(m.get("tool_calls") or []) for m in sim["messages"])
        sim["messages"][2:2] = _user_tool_turn(2 * i) + _user_tool_turn(2 * i + 1)
    src = tmp_path / "telecom.json"
    src.write_text(json.dumps(data))
    root = tmp_path / "ws"
    proc = evals("import", "tau2-bench", str(src), "--run-id", "tel", "-w", str(root))
    assert proc.returncode == 0, proc.stderr
    run = load_run(Workspace(root, create=False), RunRef("tel"))
    assert sum(t.tool_calls for t in run.trials) == agent_calls
    assert [t.user_tool_calls for t in run.trials] == [2] * 6
    assert all(t.cost_usd is None for t in run.trials)
    s = arm_stats(run.trials, [])
    assert s.cost_per_trial_usd is None and s.cost_unknown_trials == 6
    assert s.tool_calls_per_trial == pytest.approx(agent_calls / 6)
    assert s.user_tool_calls_per_trial == 2.0
    md = render_markdown(build_run_summary(run))
    assert "| unknown |" in md and "Recorded outcome pass rate per question" in md
    assert "Judge pass rate" not in md

    gate = tmp_path / "g.yaml"
    gate.write_text("overall: {max_cost_per_trial: 0.01, min_judge_pass_rate: 0.1}\n")
    proc = evals("gate", str(gate), "--run", "tel", "--json", "--no-record", "-w", str(root))
    decision = json.loads(proc.stdout)
    assert "cost_per_trial" not in {c["metric"] for c in decision["checks"]}
    assert any("cost unknown for 6 of 6 trials" in c for c in decision["caveats"])
    text = evals("gate", str(gate), "--run", "tel", "--no-record", "-w", str(root)).stdout
    assert "caveat: cost unknown" in text
