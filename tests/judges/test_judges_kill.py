"""kill -9 in the middle of `judge_run`, then rerun: every trial ends with exactly one
verdict per key, and nothing judged before the kill is judged again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evals.store.query import query
from evals.store.workspace import Workspace

SCRIPT = r"""
import asyncio, sys, time
sys.path.insert(0, sys.argv[3])
from tests.helpers import judges as kit
from evals.schema import Usage
from evals.store.workspace import Workspace
from judges import judge_run, make_verdict, parse_cascade, register_judge
from judges.base import judge_version

DELAY = float(sys.argv[4])  # not part of the spec: the judge's version is the same

class Slow:
    def __init__(self, spec, env):
        self.name, self.version = spec.display_name, judge_version(spec, "slow:1")
    async def __call__(self, ctx):
        trial = ctx.trial
        started = time.perf_counter()
        await asyncio.sleep(DELAY)
        with open(sys.argv[2], "a") as log:
            log.write(trial.key + "\n")
        return make_verdict(self, trial, "pass", "slow pass", started=started,
                            usage=Usage(calls=1))

register_judge("slow")(Slow)
ws = Workspace(sys.argv[1])
golden = kit.golden([kit.case(id=f"c{i}") for i in range(40)])
spec = parse_cascade([{"judge": "key_facts"}, {"judge": "slow"}])
result = judge_run(ws, "run-test", spec, golden, concurrency=2)
print(result.judged, result.new_verdicts)
"""


@pytest.mark.slow
def test_kill_during_judging_then_rerun_is_exactly_once(tmp_path: Path) -> None:
    from tests.helpers import judges as kit

    ws = Workspace(tmp_path / "ws")
    for i in range(40):
        ws.append("trial", kit.trial(kit.case(id=f"c{i}"), kit.GOOD_ANSWER))
    ws.close()
    log = tmp_path / "calls.log"
    kit_dir = str(Path(__file__).parent)
    args = [sys.executable, "-c", SCRIPT, str(ws.root), str(log), kit_dir]
    proc = subprocess.Popen([*args, "0.05"])
    deadline = time.time() + 60
    while time.time() < deadline and (not log.exists() or len(log.read_text().split()) < 10):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = set(log.read_text().split())
    assert 10 <= len(before) < 40
    done = subprocess.run([*args, "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().split()
    # Judged before the kill and recorded: never judged again. (A judge call in flight at
    # the kill, logged but not yet recorded, is the only one that may run twice.)
    assert len(calls) - len(set(calls)) <= 2
    assert set(calls) == {r["key"] for r in query(ws, "SELECT key FROM trials")}
    dupes = query(
        ws,
        "SELECT body->>'$.key' AS k FROM raw_verdict WHERE body IS NOT NULL "
        "GROUP BY 1 HAVING count(*) > 1",
    )
    assert dupes == []
    finals = query(ws, "SELECT count(*) AS n FROM verdicts WHERE judge = 'cascade'")
    assert finals[0]["n"] == 40
