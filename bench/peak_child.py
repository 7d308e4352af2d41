"""Run `python -m MODULE ARGS...` and write its peak RSS (the kernel's VmHWM, kB) to the
file named by $BENCH_PEAK_FILE at exit.

Why not the parent's ru_maxrss (os.wait4): a child is forked (vforked) from the
benchmark process, and until it execs it shares that process's memory, whose high-water
mark the kernel then folds into the child's ru_maxrss: a benchmark that has just
generated a 100,000-trial workload in-process (350 MB) reported 352 MB for a judging
that peaked at 145 MB. VmHWM belongs to the address space exec created, so it is the
measured program's own peak, exact (no sampling). The atexit handler is registered
before the program is imported, so it runs last (`evals` runs atexit handlers before
it ends its process: evals.cli.main.exit_process).

    BENCH_PEAK_FILE=peak.txt python -m bench.peak_child evals.cli.main judge RUN ...
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys

PEAK_FILE = "BENCH_PEAK_FILE"


def vm_hwm_kb() -> int:
    """This process's peak resident set (kB), from /proc/self/status."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def _write_peak() -> None:
    with open(os.environ[PEAK_FILE], "w") as fh:
        fh.write(str(vm_hwm_kb()))


def main() -> None:
    """Run the module named by the first argument as __main__ (its arguments follow)."""
    atexit.register(_write_peak)
    module, *args = sys.argv[1:]
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
