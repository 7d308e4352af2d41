"""The cascade over a stored run: fail fast, abstain escalates, final verdicts, the funnel
adds up, infra errors are excluded, and a rerun judges nothing twice."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from evals.schema import Usage, Verdict
from evals.store.query import query
from evals.store.workspace import Workspace
from judges import (
    CASCADE_JUDGE,
    JudgeEnv,
    JudgeSpec,
    judge_run,
    make_verdict,
    parse_cascade,
    register_judge,
)
from judges.base import JudgeContext, judge_version
from tests.helpers import judges as kit

CALLS: list[tuple[str, str]] = []
"""(judge name, trial key) of every call to the test judges."""


class ScriptedJudge:
    """A judge whose label per case id comes from its params; records every call."""

    def __init__(self, spec: JudgeSpec, env: JudgeEnv) -> None:
        self.name, self.spec = spec.display_name, spec
        self.version = judge_version(spec, "scripted:1")

    async def __call__(self, ctx: JudgeContext) -> Verdict:
        trial, case = ctx.trial, ctx.case
        CALLS.append((self.name, trial.key))
        started = time.perf_counter()
        label = self.spec.params.get(case.id, self.spec.params.get("default", "pass"))
        if label == "raise":
            raise RuntimeError("judge bug")
        return make_verdict(
            self,
            trial,
            label,
            f"scripted {label}",
            started=started,
            confidence=0.8,
            usage=Usage(input_tokens=100, output_tokens=10, cost_usd=0.01, calls=1),
        )


register_judge("scripted")(ScriptedJudge)


def cascade_items(llm: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "stage": "checks",
            "judges": [{"judge": "answered"}, {"judge": "required_tools"}, {"judge": "key_facts"}],
        },
        {"judge": "scripted", "name": "llm", "params": llm},
    ]


LLM_SCRIPT = {"c1": "abstain", "c2": "fail", "default": "pass"}


def test_cascade_fails_fast_and_writes_final_verdicts(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    trials, gs = kit.populate(ws)
    CALLS.clear()
    result = judge_run(ws, "run-test", parse_cascade(cascade_items(LLM_SCRIPT)), gs)
    f = result.funnel
    f.check()
    assert (f.trials, f.candidates, f.excluded) == (7, 6, {"infra error (no answer)": 1})
    checks, llm = f.stages
    assert (checks.entered, checks.failed, checks.passed, checks.abstained) == (6, 3, 3, 0)
    assert (llm.entered, llm.failed, llm.passed, llm.abstained) == (3, 1, 1, 1)
    assert (f.survivors, f.survivors_passed, f.survivors_abstained) == (2, 1, 1)
    # Fail fast: the LLM stage ran only on the 3 trials the checks passed, once each.
    assert sorted(k for _, k in CALLS) == sorted(t.key for t in trials[:3])
    assert llm.cost_usd == pytest.approx(0.03) and checks.cost_usd == 0
    # Saved: the LLM on all 6 candidates would cost 0.06; the cascade spent 0.03.
    assert f.last_stage_everywhere_cost_usd == pytest.approx(0.06)
    assert f.saved_cost_usd == pytest.approx(0.03)
    assert f.saved_tokens == 6 * 110 - 3 * 110

    finals = {
        r["trial_key"]: r
        for r in query(ws, "SELECT * FROM verdicts WHERE judge = ?", [CASCADE_JUDGE])
    }
    assert len(finals) == 6 and trials[6].key not in finals
    assert finals[trials[0].key]["label"] == "pass"
    assert finals[trials[0].key]["reason"].startswith("survived all stages: checks pass; llm pass")
    assert finals[trials[1].key]["label"] == "abstain"
    assert "llm abstained: scripted abstain" in finals[trials[1].key]["reason"]
    assert finals[trials[2].key]["reason"] == "failed at stage 2 (llm): llm: scripted fail"
    assert finals[trials[3].key]["reason"].startswith(
        "failed at stage 1 (checks): key_facts: missing key fact(s) '25%'"
    )
    assert "required tool get_ownership was never called" in finals[trials[4].key]["reason"]
    assert "no answer: agent error max_steps" in finals[trials[5].key]["reason"]
    # The review pool, as downstream reads it.
    pool = query(ws, "SELECT trial_key FROM verdicts WHERE judge = 'cascade' AND label != 'fail'")
    assert {r["trial_key"] for r in pool} == {trials[0].key, trials[1].key}
    # Cost is counted once: the final verdicts carry none.
    total = query(ws, "SELECT sum(judge_cost_usd) AS c FROM verdicts")[0]["c"]
    assert total == pytest.approx(0.03)


def test_rerun_judges_nothing_twice(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    _, gs = kit.populate(ws)
    spec = parse_cascade(cascade_items(LLM_SCRIPT))
    first = judge_run(ws, "run-test", spec, gs)
    count = query(ws, "SELECT count(*) AS n FROM raw_verdict WHERE body IS NOT NULL")[0]["n"]
    CALLS.clear()
    again = judge_run(ws, "run-test", spec, gs)
    assert CALLS == [] and again.new_verdicts == 0 and again.judged == 0 and again.already == 6
    total = "SELECT count(*) AS n FROM raw_verdict WHERE body IS NOT NULL"
    assert query(ws, total)[0]["n"] == count
    assert again.funnel.model_dump(exclude={"created_at"}) == first.funnel.model_dump(
        exclude={"created_at"}
    )
    keys = query(
        ws,
        "SELECT body->>'$.key' AS k, count(*) AS n FROM raw_verdict "
        "WHERE body IS NOT NULL GROUP BY 1 HAVING count(*) > 1",
    )
    assert keys == []


def test_resume_reuses_stored_stage_verdicts(tmp_path: Path) -> None:
    """A kill between a stage verdict and the final one: the rerun reuses the stage."""
    ws = Workspace(tmp_path / "ws")
    trials, gs = kit.populate(ws)
    spec = parse_cascade(cascade_items(LLM_SCRIPT))
    judge_run(ws, "run-test", spec, gs)
    # Simulate the kill: a new workspace holding only the stage verdicts, not the finals.
    ws2 = Workspace(tmp_path / "ws2")
    for t in trials:
        ws2.append("trial", t)
    for body in ws.iter_bodies("verdict"):
        if body["judge"] != CASCADE_JUDGE:
            ws2.append("verdict", body)
    ws2.close()
    CALLS.clear()
    result = judge_run(ws2, "run-test", spec, gs)
    assert CALLS == [] and result.judged == 6
    assert result.new_verdicts == 6  # the finals only
    result.funnel.check()


def test_changing_a_stage_rejudges_only_that_stage(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    _trials, gs = kit.populate(ws)
    judge_run(ws, "run-test", parse_cascade(cascade_items(LLM_SCRIPT)), gs)
    CALLS.clear()
    changed = parse_cascade(cascade_items({**LLM_SCRIPT, "c0": "fail"}))
    result = judge_run(ws, "run-test", changed, gs)
    assert len(CALLS) == 3  # the new LLM stage on the 3 check survivors; checks reused
    assert result.new_verdicts == 3 + 6
    assert result.funnel.survivors == 1


def test_a_crashing_judge_abstains_with_an_error(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    _trials, gs = kit.populate(ws)
    result = judge_run(ws, "run-test", parse_cascade(cascade_items({"default": "raise"})), gs)
    llm = result.funnel.stages[1]
    assert (llm.entered, llm.abstained, llm.errors) == (3, 3, 3)
    rows = query(ws, "SELECT label, error, reason FROM verdicts WHERE judge = 'llm'")
    assert all(r["label"] == "abstain" and "RuntimeError: judge bug" in r["error"] for r in rows)
    assert result.funnel.survivors_abstained == 3


def test_a_run_judges_the_trials_it_reused_from_another_run(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    trials, gs = kit.populate(ws)
    for t in trials[:2]:
        ws.append("run_link", {"run_id": "run-b", "trial_key": t.key, "source_run_id": "run-test"})
    ws.close()
    result = judge_run(ws, "run-b", parse_cascade([{"judge": "key_facts"}]), gs)
    assert (result.funnel.trials, result.funnel.candidates, result.judged) == (2, 2, 2)
    # Judging the source run afterwards reuses those verdicts (same keys).
    again = judge_run(ws, "run-test", parse_cascade([{"judge": "key_facts"}]), gs)
    assert (again.already, again.judged) == (2, 4)


def test_a_shadow_stage_judges_failed_trials_without_changing_the_funnel(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path / "ws")
    trials, gs = kit.populate(ws)
    items = cascade_items(LLM_SCRIPT)
    plain = judge_run(ws, "run-test", parse_cascade(items), gs).funnel
    CALLS.clear()
    items[1] = {**items[1], "shadow": True}
    shadow = judge_run(ws, "run-test", parse_cascade(items), gs).funnel
    shadow.check()
    # The LLM stage now also judged the 3 trials the checks failed, and only those.
    assert sorted(k for _, k in CALLS) == sorted(t.key for t in trials[3:6])
    llm = shadow.stages[1]
    assert (llm.entered, llm.failed, llm.shadow_judged) == (3, 1, 3)
    assert llm.shadow_cost_usd == pytest.approx(0.03)
    assert shadow.shadow_cost_usd == pytest.approx(0.03)
    same = ("candidates", "survivors", "survivors_passed", "survivors_abstained", "cost_usd")
    assert all(getattr(shadow, k) == getattr(plain, k) for k in same)
    assert [(s.entered, s.failed) for s in shadow.stages] == [
        (s.entered, s.failed) for s in plain.stages
    ]
    # The LLM's mean per trial now rests on 6 measurements; the saving excludes shadow.
    assert shadow.last_stage_everywhere_cost_usd == pytest.approx(0.06)
    assert shadow.saved_cost_usd == pytest.approx(0.03)
    finals = query(ws, "SELECT count(*) AS n FROM verdicts WHERE judge = 'cascade'")
    assert finals[0]["n"] == 12  # a new cascade version: final verdicts recomputed
