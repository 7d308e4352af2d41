"""Trial-key locks and the finished-keys journal (evals.store.key_claims)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from evals.store.key_claims import KeyClaims, journal_end


def test_a_key_is_held_by_one_run_at_a_time_even_in_one_process(tmp_path: Path) -> None:
    a, b = KeyClaims(tmp_path, "run-a"), KeyClaims(tmp_path, "run-b")
    assert a.try_claim("k1")
    assert not b.try_claim("k1")  # another open file: excluded, though the same process
    assert b.try_claim("k2")  # other keys are free
    a.release("k1")
    assert b.try_claim("k1")
    a.close()
    b.close()


def test_a_killed_holder_frees_its_keys(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from evals.store.key_claims import KeyClaims;"
        "c = KeyClaims(Path(sys.argv[1]), 'other'); assert c.try_claim('k'); print('held', "
        "flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"held"
    mine = KeyClaims(tmp_path, "mine")
    assert not mine.try_claim("k")
    proc.kill()
    proc.wait()
    assert mine.try_claim("k")
    mine.close()


def test_the_journal_tells_who_finished_a_key_after_the_snapshot(tmp_path: Path) -> None:
    early = KeyClaims(tmp_path, "early")
    early.mark_done("before")
    at = journal_end(tmp_path)
    other, mine = KeyClaims(tmp_path, "other"), KeyClaims(tmp_path, "mine", at)
    other.mark_done("k")
    mine.mark_done("m")
    assert mine.finished_by("k") == "other"
    assert mine.finished_by("m") is None  # its own
    assert mine.finished_by("before") is None  # in the store snapshot already
    for c in (early, other, mine):
        c.close()
