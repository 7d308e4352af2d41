"""`evals calibrate` over a workspace (imported trials, judge verdicts, imported labels),
and the cascade reading the thresholds it writes."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from evals.schema import Verdict
from evals.store.query import query
from evals.store.workspace import Workspace
from judges import (
    JudgeContext,
    JudgeEnv,
    JudgeSpec,
    judge_run,
    make_verdict,
    parse_cascade,
    register_judge,
)
from judges.base import judge_version
from judges.calibration_store import Calibration, load_calibrations
from tests.helpers import judges as kit
from tests.helpers.cli import evals
from tests.helpers.judges import labelled_workspace


def test_calibrate_reports_refuses_the_coin_and_writes_thresholds(tmp_path: Path) -> None:
    root, _ = labelled_workspace(tmp_path)
    proc = evals("calibrate", "-w", str(root))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "600 trials rated by people" in out
    assert "smol: may not fail anything alone" in out
    assert "strong: may fail alone at confidence >=" in out
    assert "Cascade: agreement >= 95%" in out
    cals = load_calibrations(Workspace(root, create=False))
    smol, strong = cals["smol", "smol-v1"], cals["strong", "strong-v1"]
    # About a fifth of the rule's fails are on helpful answers: refused, so its record is
    # written and the cascade stops its fails (a rule merely unproven gets no record).
    assert cals["rule", "rule-v1"].status == "refused"
    assert smol.threshold is None and smol.status == "refused"
    # Right at confidence >= 0.5, a coin below: the critical threshold is about 0.48.
    assert strong.threshold is not None and 0.45 <= strong.threshold < 0.7
    assert strong.false_fail_upper > 0.05  # over all its fails; the threshold fixes that
    report = json.loads(evals("calibrate", "--json", "--no-write", "-w", str(root)).stdout)
    judges = {j["judge"]: j for j in report["calibration"]["judges"]}
    assert judges["strong"]["threshold_false_fail"]["upper"] < 0.05
    assert report["calibration"]["cascade"]["thresholds"][0] is None
    assert len(list(Workspace(root).iter_bodies("calibration"))) == 3  # --no-write wrote none
    # The default procedure has no seed: the output says so instead of a spread.
    cascade = report["calibration"]["cascade"]
    assert cascade["deterministic"] and cascade["seed_coverage"] == []
    assert "deterministic: no seed and no split" in out and "0 by construction" in out
    assert "in-sample" in out and "certified" in out
    seeded = evals("calibrate", "--json", "--no-write", "--seed", "7", "-w", str(root)).stdout
    assert json.loads(seeded)["calibration"]["cascade"] == cascade
    # The split procedure, asked for, lists its spread over 20 seeds and the warning.
    split = evals("calibrate", "--no-write", "--method", "split", "-w", str(root))
    assert split.returncode == 0, split.stderr
    assert "over 20 seeds" in split.stdout and "voids the guarantee" in split.stdout
    assert "the test part, 300 of 600 trials" in split.stdout
    bad = evals("calibrate", "--method", "bootstrap", "-w", str(root))
    assert bad.returncode == 2 and "--method must be 'full' or 'split'" in bad.stderr


def test_fixed_thresholds_and_simulated_reviewers(tmp_path: Path) -> None:
    root, helpful = labelled_workspace(tmp_path, n=200)
    proc = evals("calibrate", "--threshold", "never,0.5", "--json", "-w", str(root))
    assert proc.returncode == 0, proc.stderr
    cascade = json.loads(proc.stdout)["calibration"]["cascade"]
    assert cascade["thresholds"] == [None, 0.5] and cascade["method"].startswith("fixed")
    assert cascade["n_test"] == 200 and cascade["coverage_interval"] is not None
    assert len(list(Workspace(root).iter_bodies("calibration"))) == 0  # a check writes none
    bad = evals("calibrate", "--threshold", "0.9,0.5,0.1", "-w", str(root))
    assert bad.returncode == 1 and "one threshold per stage (2)" in bad.stderr
    assert evals("calibrate", "--threshold", "high", "-w", str(root)).returncode == 1
    # A simulated reviewer disagreeing with everyone: left out unless asked for.
    with open(tmp_path / "sim.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["run_id", "case_id", "reviewer", "helpful"])
        for c, h in helpful.items():
            for r in ("sim:reviewer-1", "sim:reviewer-2"):
                w.writerow(["r1", c, r, "no" if h else "yes"])
    assert evals("import", "labels", str(tmp_path / "sim.csv"), "-w", str(root)).returncode == 0
    out = evals("calibrate", "--no-write", "-w", str(root)).stdout
    assert "200 trials rated by people" in out and "400 ratings by simulated" in out
    out = evals("calibrate", "--no-write", "--include-simulated", "-w", str(root)).stdout
    assert "SIMULATED: 400 of the ratings" in out


def test_too_few_labels_and_no_labels(tmp_path: Path) -> None:
    root, _ = labelled_workspace(tmp_path, n=40)
    out = evals("calibrate", "--judge", "strong", "-w", str(root)).stdout
    assert "strong: may not fail alone yet" in out and "needs at least 59 labelled fails" in out
    assert "more labelled trials needed" in out
    empty = tmp_path / "empty"
    Workspace(empty)
    proc = evals("calibrate", "-w", str(empty))
    assert proc.returncode == 1 and "no human labels in the workspace" in proc.stderr
    assert evals("calibrate", "--run", "nope", "-w", str(root)).returncode == 1


class Scripted:
    """Fails case c2 with confidence 0.8, passes everything else."""

    def __init__(self, spec: JudgeSpec, env: JudgeEnv) -> None:
        self.name, self.version = spec.display_name, judge_version(spec, "cal-scripted:1")
        self.calls = 0

    async def __call__(self, ctx: JudgeContext) -> Verdict:
        trial, case = ctx.trial, ctx.case
        Scripted.total += 1
        label = "fail" if case.id == "c2" else "pass"
        return make_verdict(
            self,
            trial,
            label,
            f"scripted {label}",  # type: ignore[arg-type]
            started=time.perf_counter(),
            confidence=0.8,
        )

    total = 0


register_judge("cal_scripted")(Scripted)


def test_cascade_applies_calibrated_thresholds_without_calling_judges_again(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    trials, gs = kit.populate(ws)
    spec = parse_cascade([{"judge": "cal_scripted", "name": "llm"}])
    c2 = next(t.key for t in trials if t.case_id == "c2")

    def final_of(key: str) -> str:
        rows = query(
            ws,
            "SELECT label FROM verdicts WHERE judge = 'cascade' AND trial_key = ? "
            "ORDER BY created_at DESC",
            [key],
        )
        return rows[0]["label"]

    judge_run(ws, "run-test", spec, gs)
    assert final_of(c2) == "fail"  # uncalibrated: its fail stands
    calls = Scripted.total
    version = query(ws, "SELECT judge_version FROM verdicts WHERE judge = 'llm' LIMIT 1")[0][
        "judge_version"
    ]
    for threshold, expected in ((0.9, "abstain"), (0.7, "fail"), (None, "abstain")):
        ws.append(
            "calibration",
            Calibration(
                id=f"cal-{threshold}",
                judge="llm",
                judge_version=version,
                status="calibrated" if threshold else "refused",
                threshold=threshold,
                target=0.05,
                confidence=0.95,
                n=100,
                fails=60,
                false_fails=0,
                false_fail_upper=0.05,
            ),
        )
        ws.close()
        time.sleep(0.01)
        judge_run(ws, "run-test", spec, gs)
        assert final_of(c2) == expected, threshold
        reason = query(
            ws,
            "SELECT reason FROM verdicts WHERE judge = 'cascade' AND "
            "trial_key = ? ORDER BY created_at DESC",
            [c2],
        )[0]["reason"]
        if expected == "abstain":
            assert "calibrated" in reason and "escalates" in reason
    assert Scripted.total == calls  # stage verdicts were reused every time


def test_imported_pairwise_judge_outputs_are_evaluated(tmp_path: Path) -> None:
    rows = []
    for i in range(10):
        human = "A" if i % 2 else "B"
        # The imported judge agrees with people when it is consistent, and on three
        # items just picks the first answer shown.
        ab, ba = (human, human) if i >= 3 else ("A", "B")
        rows.append(
            {
                "id": f"p{i}",
                "prompt": f"q{i}",
                "answer_a": f"a{i}",
                "answer_b": f"b{i}",
                "choice": human,
                "judge": "their-judge",
                "judge_ab": ab,
                "judge_ba": ba,
            }
        )
    src = tmp_path / "prefs.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    root = tmp_path / "ws"
    assert evals("import", "pairwise", str(src), "-w", str(root)).returncode == 0
    proc = evals("calibrate", "-w", str(root))
    assert proc.returncode == 0, proc.stderr
    assert "pairwise their-judge" in proc.stdout
    assert "position-consistent 7/10" in proc.stdout and "picked the first shown 3" in proc.stdout
    assert "agrees with people 7/10" in proc.stdout
    # The standard figure beside the strict one: 7 items right in both orders, 3 in one.
    assert "accuracy 8.5/10 = 85%" in proc.stdout
    assert "mean over both presentation orders" in proc.stdout
