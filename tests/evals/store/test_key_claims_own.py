"""The finished-keys journal as one run reads it: its own keys are not held (a run of
100,000 trials read back every key it had journaled itself: 16 MB)."""

from __future__ import annotations

from pathlib import Path

from evals.store.key_claims import KeyClaims


def test_a_run_holds_only_the_keys_other_runs_finished(tmp_path: Path) -> None:
    mine, other = KeyClaims(tmp_path, "mine"), KeyClaims(tmp_path, "other")
    for i in range(200):
        mine.mark_done(f"k{i}")
    other.mark_done("k-other")
    other.mark_done("k5")  # both finished it: the other run answers for it
    assert mine.finished_by("k1") is None  # its own: never reported
    assert mine.finished_by("k-other") == "other"
    assert mine.finished_by("k5") == "other"
    assert other.finished_by("k1") == "mine"
    assert sorted(mine._done) == ["k-other", "k5"]  # structural: no entry per own key
    mine.close()
    other.close()
