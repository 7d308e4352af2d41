"""`evals status`: what a workspace holds in plain words, with the store's numbers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SUITE = """\
name: tmpl
dataset: {dataset}
agent: edd_template
models:
  - {{alias: none, model: openai/none, params: {{api_base: 'http://127.0.0.1:9/v1'}}}}
prompts: {{rules: p.md}}
review: true
review_modes: [free]
limit: 1
judges:
  - stage: checks
    judges: [{{judge: answered}}, {{judge: key_facts}}]
"""


def evals(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evals.cli.main", *args], capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def test_status_names_runs_funnels_queues_and_work_left(tmp_path: Path, repo_root: Path) -> None:
    (tmp_path / "p.md").write_text("rules\n")
    suite = tmp_path / "tmpl.yaml"
    suite.write_text(SUITE.format(dataset=repo_root / "datasets" / "edd_demo"))
    ws = str(tmp_path / "ws")
    run = evals("run", str(suite), "-w", ws, "--no-progress")
    assert run.returncode == 0, run.stdout + run.stderr
    queue = evals("label", "queue", "create", "-w", ws, "--run", "tmpl-*", "--overlap", "2",
                  "--name", "q1")  # fmt: skip
    assert queue.returncode == 0, queue.stdout + queue.stderr
    status = evals("status", "-w", ws, "--reviewer", "alice")
    assert status.returncode == 0, status.stderr
    text = " ".join(status.stdout.split())
    assert "[edd_template, none/rules]: 5 trials; the judges passed 5 (100%) and failed 0" in text
    assert "queue q1" in text and "5 items" in text and "10 still needed" in text
    assert "items open for alice 5" in text
    missing = evals("status", "-w", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "error:" in missing.stderr
