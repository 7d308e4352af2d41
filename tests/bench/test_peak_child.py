"""bench.peak_child: a child's own peak RSS, not the benchmark process's (a vforked
child's ru_maxrss carries its parent's high-water mark; VmHWM starts at exec)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.peak_child import PEAK_FILE


def test_the_peak_is_the_childs_own(tmp_path: Path, repo_root: Path) -> None:
    held = bytearray(300 * 2**20)  # the parent's 300 MB, touched: resident
    held[:: 4096] = b"x" * len(held[:: 4096])
    peak_file = tmp_path / "peak"
    env = {**os.environ, "PYTHONPATH": str(repo_root), PEAK_FILE: str(peak_file)}
    cmd = [sys.executable, "-m", "bench.peak_child", "timeit", "-n", "1", "-r", "1",
           "b = bytearray(80 * 2**20)"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=repo_root, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    peak_mb = int(peak_file.read_text()) / 1024
    assert 80 < peak_mb < 250  # its 80 MB and an interpreter, not the parent's 300 MB
    assert usage.ru_maxrss / 1024 > 300  # what wait4 says: the parent's mark folded in
    del held
