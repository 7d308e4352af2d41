"""`evals calibrate --threshold` on pairwise predictions shaped like the release of
Jung, Brahman & Choi 2024 ("Trust or Escalate", Cascaded Selective Evaluation): three
judges, each with one presentation order and its probability of the preferred answer,
and the human choice. The paper's rule, written here from its definition: the first
judge (cheapest first) whose confidence is >= its threshold decides; coverage is the
share decided, selective accuracy the share of those agreeing with people.

On the authors' released calibration split (not shipped: the repository has no
license) the same import and thresholds reproduce their implementation's figures
exactly (docs/metrics.md); this test checks the same path on synthetic predictions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

JUDGES = ("1-small", "2-medium", "3-large")
THRESHOLDS = (0.97, 0.8, 0.9)
Release = tuple[list[dict[str, object]], np.ndarray, np.ndarray, np.ndarray]


def evals(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evals.cli.main", *args], capture_output=True, text=True
    )


def release_like(n: int = 300) -> Release:
    """Lines for `evals import pairwise`, and per judge the picks (0: A, 1: B), their
    confidences (the larger probability), and the human choices."""
    rng = np.random.default_rng(4)
    human = rng.integers(0, 2, n)
    conf = rng.uniform(0.5, 1.0, (n, len(JUDGES)))
    right = rng.random((n, len(JUDGES))) < conf  # confident judges are right more often
    picks = np.where(right, human[:, None], 1 - human[:, None])
    lines: list[dict[str, object]] = []
    for i in range(n):
        lines.append(
            {"id": f"p{i}", "prompt": f"q{i}", "answer_a": f"a{i}", "answer_b": f"b{i}",
             "choice": "AB"[human[i]], "annotator": "majority"}
        )  # fmt: skip
        for k, name in enumerate(JUDGES):
            lines.append(
                {"id": f"p{i}", "judge": name, "judge_ab": "AB"[picks[i, k]],
                 "judge_confidence_ab": float(conf[i, k])}
            )  # fmt: skip
    return lines, picks, conf, human


def paper_rule(picks: np.ndarray, conf: np.ndarray, human: np.ndarray) -> tuple[float, float]:
    """Coverage and selective accuracy of the cascade at THRESHOLDS (the paper's rule)."""
    decider = np.full(len(human), -1)
    for k, t in enumerate(THRESHOLDS):
        decider[(decider < 0) & (conf[:, k] >= t)] = k
    decided = decider >= 0
    verdict = picks[np.arange(len(human)), np.maximum(decider, 0)]
    return float(decided.mean()), float((verdict[decided] == human[decided]).mean())


def test_fixed_thresholds_reproduce_the_papers_coverage_and_accuracy(tmp_path: Path) -> None:
    lines, picks, conf, human = release_like()
    src = tmp_path / "pairs.jsonl"
    src.write_text("".join(json.dumps(line) + "\n" for line in lines))
    root = tmp_path / "ws"
    assert evals("import", "pairwise", str(src), "-w", str(root)).returncode == 0
    given = ",".join(str(t) for t in THRESHOLDS)
    proc = evals(
        "calibrate", "-w", str(root), "--threshold", given, "--decide", "pass_fail", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    cascade = json.loads(proc.stdout)["pairwise_cascade"]
    coverage, accuracy = paper_rule(picks, conf, human)
    assert 0.2 < coverage < 0.9  # every stage has work: the check is not vacuous
    assert [s["name"].split("@")[0] for s in cascade["stages"]] == list(JUDGES)
    assert cascade["coverage"] == coverage
    assert cascade["agreement"] == accuracy
    low, high = cascade["agreement_interval"]
    assert low < accuracy < high
