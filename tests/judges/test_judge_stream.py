"""`evals judge` streams (judges.judge_stream): a lazily read golden set and trials
fetched in batches give the verdicts and funnel the in-memory path gives (the run's
trials, their stored verdicts and judges.funnel.compute_funnel over them), first time
and resumed."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.store.query import query
from evals.store.workspace import Workspace
from judges import judge_stream
from judges.config import parse_cascade
from judges.judge_stream import JudgingCases, stream_trials
from judges.judging import JudgingError, judge_run, load_verdicts
from tests.helpers import judges as kit
from tests.helpers.judge_stream import CHECKS, counts, in_memory_funnel, write_golden


def test_streamed_judging_matches_the_in_memory_funnel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(judge_stream, "PART_TRIALS", 3)  # three passes over the trials
    ws = Workspace(tmp_path / "ws")
    _trials, golden = kit.populate(ws)
    cases = JudgingCases.load(write_golden(tmp_path / "set", golden))
    assert cases.golden.refs is not None and not cases.golden.cases  # nothing held
    spec = parse_cascade(CHECKS)
    result = judge_run(ws, "run-test", spec, cases, concurrency=2)
    f = result.funnel
    assert (f.trials, f.candidates, f.excluded) == (7, 6, {"infra error (no answer)": 1})
    assert result.judged == 6 and result.already == 0 and f.pending == 0
    assert counts(f) == counts(in_memory_funnel(ws, golden))
    finals = query(ws, "SELECT trial_key, label FROM verdicts WHERE judge = 'cascade'")
    assert len(finals) == 6 and {r["label"] for r in finals} == {"pass", "fail"}
    # Resumed: nothing judged again, the same funnel from the stored verdicts.
    again = judge_run(ws, "run-test", spec, cases)
    assert again.judged == 0 and again.already == 6 and again.new_verdicts == 0
    assert counts(again.funnel) == counts(f)
    # The eager set decides the same (the CLI reads lazily; the API takes either).
    other = Workspace(tmp_path / "other")
    kit.populate(other)
    eager = judge_run(other, "run-test", spec, golden)
    assert counts(eager.funnel) == counts(f)


@pytest.mark.parametrize("part", [5000, 2])
def test_each_trial_streams_with_its_own_usable_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part: int
) -> None:
    """Whatever the key-hash partitions (one, or four of about two records)."""
    monkeypatch.setattr(judge_stream, "PART_TRIALS", part)
    ws = Workspace(tmp_path / "ws")
    trials, golden = kit.populate(ws)
    judge_run(ws, "run-test", parse_cascade(CHECKS), golden)
    pairs = list(stream_trials(Workspace(tmp_path / "ws"), "run-test", batch=2))
    streamed = {t.key: stored for t, stored in pairs}
    assert len(pairs) == 7 and set(streamed) == {t.key for t in trials}  # each once
    reference = load_verdicts(ws, set(streamed))
    for key, stored in streamed.items():
        assert stored == {k: v for k, v in reference.items() if v.trial_key == key}


def test_a_long_judging_compacts_its_verdicts_as_it_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ROTATE_VERDICTS verdicts the segment is sealed and compacted (compaction's
    memory grows with the segment); nothing is lost or counted twice."""
    from judges import judging

    monkeypatch.setattr(judging, "ROTATE_VERDICTS", 4)
    ws = Workspace(tmp_path / "ws")
    _trials, golden = kit.populate(ws)
    result = judge_run(ws, "run-test", parse_cascade(CHECKS), golden)
    segments = Workspace(tmp_path / "ws").segments("verdict")
    assert len(segments) == -(-result.new_verdicts // 4) > 1
    assert all(p.suffix == ".parquet" for p in segments)
    assert len(query(ws, "SELECT key FROM verdicts")) == result.new_verdicts
    assert counts(result.funnel) == counts(in_memory_funnel(ws, golden))


def test_a_case_edited_while_judging_is_one_line_error(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    _trials, golden = kit.populate(ws)
    folder = write_golden(tmp_path / "set", golden)
    cases = JudgingCases.load(folder)
    text = (folder / "cases.jsonl").read_text()
    (folder / "cases.jsonl").write_text(text.replace("Nordwind", "Nordwest"))  # same lines
    with pytest.raises(JudgingError, match=r"cases\.jsonl:\d+: .*changed since"):
        judge_run(ws, "run-test", parse_cascade(CHECKS), cases)
