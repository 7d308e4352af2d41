"""What keeps `evals judge` flat in the number of trials (issue 18 item 2): the golden
set's ids in arrays (judges.judging_cases.CaseIndex), the stream's winners decided on
the typed columns with each body read once, DuckDB under a memory budget that grows
when a query needs more (judges.judge_stream.Budget), and verdict segments compacted
after the stream, not during it (judges.judging.VerdictSegments)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import duckdb
import pytest

from evals.schema import Trial
from evals.store.workspace import Workspace
from judges import judge_stream, judging, judging_cases
from judges.config import parse_cascade
from judges.judge_stream import JudgingCases, stream_trials
from judges.judging import judge_run, load_run_trials, load_verdicts
from judges.judging_cases import CaseIndex
from tests.helpers import judges as kit
from tests.helpers.judge_stream import CHECKS, counts, in_memory_funnel, write_golden


def test_the_case_index_finds_every_id_and_no_other() -> None:
    ids = [f"case-{i}" for i in range(5000)]
    index = CaseIndex(ids)
    assert len(index) == 5000
    assert all(index.get(case_id) == i for i, case_id in enumerate(ids))
    assert index.get("case-5000") is None and index.get("") is None


def test_ids_whose_digests_collide_are_kept_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Digests forced into three values: every id still finds its own position."""
    monkeypatch.setattr(judging_cases, "_digest", lambda case_id: len(case_id) % 3)
    ids = ["a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g"]
    index = CaseIndex(ids)
    assert len(index) == len(ids)
    assert [index.get(case_id) for case_id in ids] == list(range(len(ids)))


def test_the_case_index_holds_no_object_per_id() -> None:
    """Two arrays, not a dict of strings: well under 64 bytes an id (a dict of the same
    ids and positions takes about 170), measured on the Python heap."""
    ids = [f"c{i:07d}" for i in range(20_000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        index = CaseIndex(ids)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert index.get("c0019999") == 19_999
    assert held < 64 * len(ids)


def test_a_lazy_set_reads_its_cases_back_by_id(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    _trials, golden = kit.populate(ws)
    cases = JudgingCases.load(write_golden(tmp_path / "set", golden))
    for case in golden.cases:
        assert cases.case(case.id) == case
        assert cases.hash_of(case.id) == judging_cases.case_hash(case)
    assert cases.hash_of("c-absent") is None
    with pytest.raises(KeyError):
        cases.case("c-absent")


def _retried(ws: Workspace, trials: list[Trial], compact: bool) -> Trial:
    """The infra-failed trial of kit.populate, retried with an answer in a later
    segment (compacted or still JSONL): the views keep the retry."""
    infra = next(t for t in trials if t.trace.error is not None and t.trace.error.kind == "infra")
    retry = infra.model_copy(deep=True)
    retry.status = "ok"
    retry.trace.error = None
    retry.trace.final_answer = kit.GOOD_ANSWER
    ws.append("trial", retry)
    ws.append("trial", infra)  # written again after it: the retry still wins
    ws.close(compact=compact)
    return retry


@pytest.mark.parametrize("compact", [True, False])
@pytest.mark.parametrize("part", [5000, 2])
def test_the_stream_keeps_the_record_the_trials_view_keeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compact: bool, part: int
) -> None:
    """Winners decided on the typed columns (Parquet) or derived from the bodies
    (JSONL) are the records of the ``trials`` view, each streamed once."""
    monkeypatch.setattr(judge_stream, "PART_TRIALS", part)
    ws = Workspace(tmp_path / "ws")
    trials, _golden = kit.populate(ws)
    retry = _retried(ws, trials, compact)
    streamed = {t.key: t for t, _ in stream_trials(Workspace(tmp_path / "ws"), "run-test")}
    reference = {t.key: t for t in load_run_trials(ws, "run-test")}
    assert len(streamed) == 7 and streamed == reference
    assert streamed[retry.key].trace.final_answer == kit.GOOD_ANSWER


def test_a_query_over_its_memory_budget_runs_again_under_a_larger_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1 MB start makes DuckDB run out of memory: the passes retry under a doubled
    limit, and the trials, verdicts and funnel are those of an unbounded judging."""
    monkeypatch.setattr(judge_stream, "PART_TRIALS", 2)
    grown: list[int] = []
    grow = judge_stream.Budget.grow

    def spy(self: judge_stream.Budget, exc: duckdb.OutOfMemoryException) -> None:
        grown.append(self.mb)
        grow(self, exc)

    monkeypatch.setattr(judge_stream.Budget, "grow", spy)
    monkeypatch.setattr(judge_stream, "MEMORY_LIMIT_MB", 1)
    ws = Workspace(tmp_path / "ws")
    trials, golden = kit.populate(ws)
    judge_run(ws, "run-test", parse_cascade(CHECKS), golden)
    second = judge_run(Workspace(tmp_path / "ws"), "run-test", parse_cascade(CHECKS), golden)
    assert grown and grown[0] == 1  # the budget did run out, and grew
    assert second.already == 6 and second.judged == 0
    pairs = list(stream_trials(Workspace(tmp_path / "ws"), "run-test", batch=1))
    assert sorted(t.key for t, _ in pairs) == sorted(t.key for t in trials)  # each once
    reference = load_verdicts(ws, {t.key for t in trials})
    for trial, stored in pairs:
        assert stored == {k: v for k, v in reference.items() if v.trial_key == trial.key}
    assert counts(second.funnel) == counts(in_memory_funnel(ws, golden))


def test_past_the_largest_budget_the_error_is_duckdbs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(judge_stream, "MEMORY_LIMIT_MB", 1)
    monkeypatch.setattr(judge_stream, "MAX_MEMORY_LIMIT_MB", 1)
    ws = Workspace(tmp_path / "ws")
    _trials, _golden = kit.populate(ws)
    with pytest.raises(duckdb.OutOfMemoryException):
        list(stream_trials(ws, "run-test"))


def test_verdict_segments_are_compacted_after_the_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While trials stream, full segments are only sealed (compaction's memory would
    add to the stream's); they are compacted once it ends, nothing lost."""
    monkeypatch.setattr(judging, "ROTATE_VERDICTS", 4)
    ws = Workspace(tmp_path / "ws")
    _trials, golden = kit.populate(ws)
    seen: list[tuple[int, int]] = []  # (sealed JSONL, Parquet) verdict segments

    def on_trial(_: object) -> None:
        segs = Workspace(tmp_path / "ws").segments("verdict")
        sealed = [p for p in segs if p.suffix == ".jsonl" and _is_sealed(p)]
        seen.append((len(sealed), sum(p.suffix == ".parquet" for p in segs)))

    result = judge_run(ws, "run-test", parse_cascade(CHECKS), golden, on_trial=on_trial)
    assert max(s for s, _ in seen) >= 2 and all(p == 0 for _, p in seen)
    segments = Workspace(tmp_path / "ws").segments("verdict")
    assert len(segments) == -(-result.new_verdicts // 4) and {p.suffix for p in segments} == {
        ".parquet"
    }
    assert counts(result.funnel) == counts(in_memory_funnel(ws, golden))


def test_sealed_segments_are_compacted_when_judging_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(judging, "ROTATE_VERDICTS", 2)
    ws = Workspace(tmp_path / "ws")
    _trials, golden = kit.populate(ws)
    judged = [0]

    def on_trial(_: object) -> None:
        judged[0] += 1
        if judged[0] == 3:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        judge_run(ws, "run-test", parse_cascade(CHECKS), golden, concurrency=1,
                  on_trial=on_trial)
    segments = Workspace(tmp_path / "ws").segments("verdict")
    assert len(segments) >= 2 and {p.suffix for p in segments} == {".parquet"}


def _is_sealed(path: Path) -> bool:
    last = path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    return b'"seal":' in last
