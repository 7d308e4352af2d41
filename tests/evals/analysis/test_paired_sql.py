"""`evals compare` in the store (evals.analysis.paired_sql) against the Python path
(load_run + compare_runs) on the same workspace: every figure of the comparison, overall
and per question, equal; the evidence lists equal below the cap and their prefix above."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evals.analysis import paired_sql
from evals.analysis.compare import PairBy, compare_runs
from evals.analysis.paired_sql import compare_in_store
from evals.analysis.rundata import OutcomeSpec, RunRef, RunSelectionError, load_run
from evals.run.links import RunLink
from evals.schema import Trial, TrialError
from evals.store.query import connect
from evals.store.workspace import Workspace
from evals.testing.synthetic import make_label, make_trial, make_verdict, write_run

INFRA = TrialError(kind="infra", code="timeout", message="provider timed out")
AGENT = TrialError(kind="agent", code="max_steps", message="gave up")


def _trial(run: str, i: int, rep: int, alias: str, **kw: Any) -> Trial:
    return make_trial(
        run, f"c{i:03d}", f"q{i % 4}", model_alias=alias, repetition=rep,
        cost_usd=0.0 if i % 11 == 0 else 0.001 * (1 + (i * 7 + rep) % 13) / 3,
        latency_s=0.25 + ((i * 13 + rep * 5) % 17) / 7, input_tokens=90 + i % 23,
        cached_input_tokens=i % 5, output_tokens=10 + rep, tool_calls=(i + rep) % 3, **kw,
    )  # fmt: skip


def _varied(ws: Workspace) -> None:
    """Two runs over 60 cases x 2 repetitions with every kind of trial a comparison
    treats apart: infra and agent errors, unjudged, unpaired, changed case content,
    unpriced, a reused trial (run_link), a key recorded twice, a second cell, labels, a
    case in two questions."""
    base, cand, verdicts = [], [], []
    for i in range(60):
        for rep in range(2):
            err = INFRA if i % 17 == 3 else AGENT if i % 13 == 5 else None
            ta = _trial("base", i, rep, "model-a", error=err)
            tb = _trial("cand", i, rep, "model-b", error=INFRA if i % 19 == 7 else None)
            if i % 23 == 4 and (i != 27 or rep == 1):  # c027: one repetition edited
                tb = tb.model_copy(update={"case_hash": "edited"})
            if i == 33 and rep == 1:  # a case in two questions: pairing by case merges them
                ta = ta.model_copy(update={"question_id": "q3b"})
                tb = tb.model_copy(update={"question_id": "q3b"})
            base.append(ta)
            if i < 56:
                cand.append(tb)
            if (i + rep) % 9 != 1:
                verdicts.append(make_verdict(ta, "pass" if (i * 3 + rep) % 5 else "fail"))
            verdicts.append(make_verdict(tb, ["pass", "fail", "abstain"][(i + 2 * rep) % 3]))
    other_cell = [_trial("cand", i, 0, "model-c") for i in range(5)]
    write_run(ws, "base", base)
    write_run(ws, "cand", cand + other_cell)
    # A retried trial: the same key recorded again (the views keep the first).
    ws.writer("trial").append_many([base[2].model_copy(update={"question_id": "q9"})])
    ws.writer("run_link").append_many(
        [RunLink(run_id="cand", trial_key=base[-1].key, source_run_id="base")]
    )
    ws.writer("verdict").append_many(verdicts)
    labels = [
        make_label(r, trial=t, helpful=(n + k) % 3 != 0, active_seconds=20.0 + n + k,
                   queue_id="qa")
        for k, t in enumerate(base[:24:2] + cand[:24:2])
        for n, r in enumerate(("ann", "bob"))
    ]  # fmt: skip
    labels += [
        make_label("ann", case_id=f"c{i:03d}", arm="unassisted", helpful=None,
                   active_seconds=50.0 + i, queue_id="qa")
        for i in range(6)
    ]  # fmt: skip
    ws.writer("label").append_many(labels)


def _python_path(ws: Workspace, spec: OutcomeSpec, pair_by: PairBy, cand: str) -> dict[str, Any]:
    base_run = load_run(ws, RunRef("base"), spec, single_cell=True)
    cand_run = load_run(ws, RunRef(cand, "model-b"), spec, single_cell=True)
    dump = compare_runs(base_run, cand_run, [0.02, 0.1], 0.9, pair_by).model_dump()
    return _figures(dump)


def _figures(dump: dict[str, Any]) -> dict[str, Any]:
    for name in ("created_at", "evidence_cap", "evidence_query"):
        dump.pop(name)
    return dump


@pytest.fixture
def varied(tmp_path: Path) -> Path:
    ws = Workspace(tmp_path / "ws")
    _varied(ws)
    ws.close()
    return tmp_path / "ws"


@pytest.mark.parametrize("compacted", [False, True])
@pytest.mark.parametrize("pair_by", ["case", "case_repetition"])
def test_store_comparison_equals_the_python_path(
    varied: Path, tmp_path: Path, compacted: bool, pair_by: PairBy
) -> None:
    ws = Workspace(varied)
    if not compacted:  # the JSONL segments as written: the fact views derive from bodies
        ws = Workspace(tmp_path / "fresh")
        _varied(ws)
    for spec in (OutcomeSpec(), OutcomeSpec(source="cascade")):
        want = _python_path(ws, spec, pair_by, "cand")
        got = compare_in_store(
            ws, RunRef("base"), RunRef("cand", "model-b"), spec, [0.02, 0.1], 0.9, pair_by
        )
        assert _figures(got.comparison.model_dump()) == want
    overall = got.comparison.overall
    # The workspace exercises what it is meant to (else equality proves little).
    assert overall.outcome.unpaired_baseline and overall.outcome.changed_cases
    assert overall.baseline.infra_errors and overall.baseline.agent_errors
    assert overall.helpful is not None and got.comparison.baseline_handling_time is not None
    assert got.cost.used and got.cost.unpriced


def test_imported_outcomes_and_threshold_equal_the_python_path(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    rewards = [1.0, 0.0, 0.5, 1.0 - 1e-12, 0.8, 0.3]
    write_run(ws, "base", [_trial("base", i, 0, "model-a", imported_outcome=r)
                           for i, r in enumerate(rewards)], source="import")  # fmt: skip
    cand = [_trial("cand", i, 0, "model-b", imported_outcome=r)
            for i, r in enumerate(reversed(rewards))]  # fmt: skip
    write_run(ws, "cand", cand, source="import")
    ws.writer("verdict").append_many([make_verdict(cand[1], "pass", judge="imported_outcome")])
    for spec in (OutcomeSpec(), OutcomeSpec(source="imported", imported_threshold=0.5)):
        got = compare_in_store(
            ws, RunRef("base"), RunRef("cand", "model-b"), spec, [0.02, 0.1], 0.9
        )
        assert _figures(got.comparison.model_dump()) == _python_path(ws, spec, "case", "cand")


def test_evidence_lists_are_capped_and_counted(
    varied: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace(varied)
    want = _python_path(ws, OutcomeSpec(), "case", "cand")
    monkeypatch.setattr(paired_sql, "EVIDENCE_CAP", 5)
    got = compare_in_store(
        ws, RunRef("base"), RunRef("cand", "model-b"), OutcomeSpec(), [0.02, 0.1], 0.9
    ).comparison
    assert got.evidence_cap == 5 and got.evidence_query
    for scope, old in zip([got.overall, *got.questions],
                          [want["overall"], *want["questions"]], strict=True):  # fmt: skip
        for cell, keys in scope.outcome.cells.items():
            assert keys == old["outcome"]["cells"][cell][:5]
            assert scope.outcome.cell_trials[cell] == len(old["outcome"]["cells"][cell])
        for arm in ("baseline", "candidate"):
            stats = getattr(scope, arm)
            assert stats.trial_keys == old[arm]["trial_keys"][:5]
            assert stats.outcome.trial_keys == old[arm]["outcome"]["trial_keys"][:5]
    # The query lists every trial behind the figures.
    with connect(ws) as con:
        rows = con.execute(got.evidence_query or "").fetchall()
    assert len(rows) == want["overall"]["baseline"]["trials"] + want["overall"]["candidate"][
        "trials"
    ]


def test_a_run_of_several_cells_must_be_narrowed(varied: Path) -> None:
    ws = Workspace(varied)
    with pytest.raises(RunSelectionError, match="cand:model-b:v1, cand:model-c:v1"):
        compare_in_store(ws, RunRef("base"), RunRef("cand"))
    with pytest.raises(RunSelectionError, match="no trials for that model"):
        compare_in_store(ws, RunRef("base"), RunRef("cand", "zzz"))
    with pytest.raises(RunSelectionError, match="no run 'nope'"):
        compare_in_store(ws, RunRef("nope"), RunRef("cand", "model-b"))


def test_run_references_resolve_as_load_run_does(varied: Path) -> None:
    ws = Workspace(varied)
    got = compare_in_store(ws, "ba*", "latest:model-b").comparison
    assert (got.baseline_ref, got.candidate_ref) == ("base", "cand:model-b")
    with pytest.raises(RunSelectionError, match="no run matches 'zz\\*'"):
        compare_in_store(ws, "zz*", "cand:model-b")
