"""Helpers of the judge-stream tests: a golden-set folder of the test set, and the
funnel as judging computed it before streaming (the reference the stream must match)."""

from __future__ import annotations

from pathlib import Path

import orjson
import yaml

from evals.dataset.golden import GoldenSet
from evals.store.workspace import Workspace
from judges.base import JudgeEnv
from judges.cascade import Cascade
from judges.config import parse_cascade
from judges.funnel import Funnel, compute_funnel
from judges.judging import load_run_trials, load_verdicts, split_candidates

CHECKS = [
    {"judge": "answered"},
    {"stage": "checks", "judges": [{"judge": "key_facts"}, {"judge": "required_tools"}]},
]


def write_golden(folder: Path, golden: GoldenSet) -> Path:
    """The test set as a golden-set folder (what `evals judge --dataset` reads)."""
    folder.mkdir()
    (folder / "dataset.yaml").write_text(yaml.safe_dump({"name": "test"}))
    questions = [q.model_dump(mode="json", exclude_none=True) for q in golden.questions.values()]
    (folder / "questions.yaml").write_text(yaml.safe_dump(questions))
    lines = [orjson.dumps(c.model_dump(mode="json", exclude_none=True)) for c in golden.cases]
    (folder / "cases.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return folder


def in_memory_funnel(ws: Workspace, golden: GoldenSet) -> Funnel:
    """The funnel as judging computed it before streaming, from the same store."""
    trials = load_run_trials(ws, "run-test")
    candidates, excluded = split_candidates(trials, golden)
    stored = load_verdicts(ws, {t.key for t in trials})
    cascade = Cascade(parse_cascade(CHECKS), JudgeEnv(gateway=None))
    return compute_funnel("run-test", cascade, trials, [t for t, _ in candidates], excluded,
                          stored)


def counts(f: Funnel) -> dict[str, object]:
    """A funnel without its timings (judge seconds differ between two judgings)."""
    data = f.model_dump(exclude={"judge_seconds", "saved_judge_seconds", "created_at"})
    for stage in data["stages"]:
        stage.pop("judge_seconds"), stage.pop("shadow_judge_seconds")
    return data
