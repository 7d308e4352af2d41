"""The console entry point ends the process itself (evals.cli.main.exit_process): the
exit code, buffered output, atexit handlers and non-daemon threads survive that."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_exit_process_keeps_code_output_atexit_and_threads(tmp_path: Path) -> None:
    marks = tmp_path / "marks.txt"
    script = textwrap.dedent(f"""
        import atexit, sys, threading, time
        from evals.cli.main import exit_process

        def mark(text):
            with open({str(marks)!r}, "a") as f:
                f.write(text + "\\n")

        atexit.register(mark, "atexit")
        def slow():
            time.sleep(0.3)
            mark("thread")
        threading.Thread(target=slow).start()
        sys.stdout.write("buffered, no newline")
        exit_process(3)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert done.returncode == 3, done.stderr
    assert done.stdout == "buffered, no newline"
    assert marks.read_text().split() == ["thread", "atexit"]


def test_console_entry_point_exit_codes() -> None:
    ok = subprocess.run([sys.executable, "-m", "evals.cli.main", "--help"],
                        capture_output=True, text=True, cwd=REPO, timeout=120)
    assert ok.returncode == 0 and "Usage" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "evals.cli.main", "no-such-command"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert bad.returncode == 2 and "No such command" in bad.stderr
