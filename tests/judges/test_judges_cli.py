"""`evals judge` end to end (a real subprocess) on edd_demo cases with hand-written
answers: the funnel adds up, a rerun judges nothing twice, bad config is one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evals.dataset.golden import load_golden_set
from evals.schema import RunManifest, TrialError
from evals.store.query import query
from evals.store.workspace import Workspace
from tests.helpers import judges as kit

DATASET = Path(__file__).resolve().parents[2] / "datasets" / "edd_demo"
pytestmark = pytest.mark.skipif(
    not (DATASET / "cases.jsonl").exists(), reason="datasets/edd_demo not present"
)

CHECKS_YAML = """\
judges:
  - stage: checks
    judges:
      - judge: answered
      - judge: required_tools
      - judge: key_facts
      - judge: forbidden_claims
  - judge: grounded
"""


def evals(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evals.cli.main", *args], capture_output=True, text=True
    )


def make_run(root: Path, judges: list[dict[str, Any]] | None = None) -> Workspace:
    golden = load_golden_set(DATASET)
    ws = Workspace(root)
    ws.append(
        "run",
        RunManifest(
            run_id="demo-run",
            suite=str(root / "gone.yaml"),
            suite_hash="s",
            dataset="edd_demo",
            dataset_hash=golden.content_hash,
            config={"dataset": str(DATASET), "judges": judges or []},
        ),
    )
    good = golden.case("e2011-ubo")
    calls = [(f.tool, f.arguments, f.observation, True) for f in good.fixtures]
    trials = [
        kit.trial(good, good.reference, calls, run_id="demo-run"),
        kit.trial(good, "Wang Jie owns it.", calls, run_id="demo-run", rep=1),
        kit.trial(
            good,
            good.reference,
            [c for c in calls if c[0] == "registry_lookup"],
            run_id="demo-run",
            rep=2,
        ),
        kit.trial(
            good, good.reference + " Director: Peter Lim Kok Wah.", calls, run_id="demo-run", rep=3
        ),
        kit.trial(
            good,
            None,
            run_id="demo-run",
            rep=4,
            error=TrialError(kind="infra", code="timeout", message="no answer in 600s"),
        ),
    ]
    for t in trials:
        ws.append("trial", t)
    ws.close()
    return ws


def test_evals_judge_prints_a_funnel_that_adds_up_and_reruns_nothing(tmp_path: Path) -> None:
    ws = make_run(tmp_path / "ws")
    (tmp_path / "judges.yaml").write_text(CHECKS_YAML)
    args = [
        "judge",
        "demo-run",
        "--judges",
        str(tmp_path / "judges.yaml"),
        "-w",
        str(ws.root),
        "--no-progress",
    ]
    first = evals(*args)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "5 trials, 4 candidates (excluded: 1 infra error (no answer))" in out
    assert "funnel: 4 candidates → −2 at checks → −1 at grounded → 1 survivors" in out
    assert "judged 4 trial(s) now, 0 already judged; 22 verdict(s) written" in out
    finals = query(ws, "SELECT label, reason FROM verdicts WHERE judge = 'cascade'")
    assert sorted(r["label"] for r in finals) == ["fail", "fail", "fail", "pass"]
    reasons = " | ".join(r["reason"] for r in finals)
    assert "missing key fact(s) '60%', 'Wang Wei', '40%'" in reasons
    assert "required tool get_ownership was never called" in reasons
    assert "name Peter Lim Kok Wah appears in no observation" in reasons

    again = evals(*args)
    assert again.returncode == 0, again.stderr
    assert "judged 0 trial(s) now, 4 already judged; 0 verdict(s) written" in again.stdout
    assert out.split("cascade ")[1] == again.stdout.split("cascade ")[1]

    as_json = json.loads(evals(*args, "--json").stdout)
    assert as_json["survivors"] == 1 and as_json["stages"][0]["failed"] == 2


def test_judges_default_to_those_the_run_recorded(tmp_path: Path) -> None:
    ws = make_run(tmp_path / "ws", judges=[{"judge": "key_facts"}])
    proc = evals("judge", "latest", "-w", str(ws.root), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "funnel: 4 candidates → −1 at key_facts → 3 survivors" in proc.stdout
    again = evals("judge", "demo-*", "-w", str(ws.root), "--no-progress")
    assert "judged 0 trial(s) now, 4 already judged" in again.stdout


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "judges:\n  - judge: key_facts\n  - judge: budget\n    params: {max_stepz: 3}\n",
            "judges.yaml:3: judges[1]",
        ),
        ("judges:\n  - judge: key_fact\n", "unknown judge 'key_fact'"),
        ("judges:\n  - stage: a\n    judges: []\n", "judges.yaml:3: judges[0].judges"),
        ("judges: [\n", "judges.yaml:2: bad YAML"),
    ],
)
def test_bad_judges_file_is_one_line_and_exit_2(
    tmp_path: Path, yaml_text: str, message: str
) -> None:
    ws = make_run(tmp_path / "ws")
    (tmp_path / "judges.yaml").write_text(yaml_text)
    proc = evals(
        "judge",
        "demo-run",
        "--judges",
        str(tmp_path / "judges.yaml"),
        "-w",
        str(ws.root),
        "--no-progress",
    )
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert query(ws, "SELECT count(*) AS n FROM verdicts")[0]["n"] == 0


def test_unknown_run_is_one_line(tmp_path: Path) -> None:
    ws = make_run(tmp_path / "ws")
    proc = evals("judge", "nope", "-w", str(ws.root))
    assert proc.returncode == 1
    assert "no run 'nope'" in proc.stderr and "demo-run" in proc.stderr
