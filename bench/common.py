"""What every benchmark shares: the fake server in its own process, running a command
while measuring its process tree (CPU, peak RSS), and median/min/max summaries.

Measuring a harness
    The harness runs as a child process; the fake LLM server runs in another one
    (bench.fakesrv), so the server's CPU is never charged to the harness. A sampler
    thread reads the child's whole process tree with psutil every 50 ms: CPU time (its
    own, its live descendants', and what reaped descendants left in children_*), and
    resident memory summed over the tree (peak RSS). The server reports the window it
    served in (first request, last response); throughput is calls / window for every
    harness alike, and CPU per trial is the tree's CPU inside that window, so start-up
    (imports, loading) and teardown are excluded from both. The whole process's CPU,
    from os.wait4, is reported as well.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
"""The repository root."""
BENCH = ROOT / "bench"
PYTHON = sys.executable
FAKE_KEY = "sk-fake-bench"
"""API key every client sends to the fake server (it checks none)."""


def summary(values: Sequence[float], digits: int = 3) -> dict[str, Any]:
    """Median, min and max of a benchmark's runs."""
    vals = [float(v) for v in values]
    if not vals:
        return {"median": None, "min": None, "max": None, "runs": 0}
    return {
        "median": round(statistics.median(vals), digits),
        "min": round(min(vals), digits),
        "max": round(max(vals), digits),
        "runs": len(vals),
    }


def fmt(s: dict[str, Any], unit: str = "", digits: int = 1) -> str:
    """'12.3 unit (min 11.0, max 13.1, 3 runs)'."""
    if s.get("median") is None:
        return "n/a"
    u = f" {unit}" if unit else ""
    return (
        f"{s['median']:.{digits}f}{u} (min {s['min']:.{digits}f}, "
        f"max {s['max']:.{digits}f}, {s['runs']} runs)"
    )


def log(message: str) -> None:
    """Progress line on stderr (results go to stdout and results.json)."""
    print(message, file=sys.stderr, flush=True)


def base_env(**extra: str) -> dict[str, str]:
    """Environment of a measured child: offline litellm, the repo importable."""
    env = dict(os.environ)
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


# ----------------------------------------------------------------------------- fake server


@dataclass
class ServerStats:
    """What the fake server saw during one measured run."""

    count: int = 0
    """Chat-completion requests received (all server processes)."""
    first: float | None = None
    """time.monotonic() of the first request."""
    last: float | None = None
    """time.monotonic() of the last response."""
    cpu_s: float = 0.0
    """CPU time of the server processes."""
    peak_in_flight: int = 0
    """Most requests in flight at once (summed over server processes' peaks)."""

    @property
    def window_s(self) -> float:
        """First request to last response."""
        if self.first is None or self.last is None:
            return 0.0
        return self.last - self.first


class FakeServer:
    """`python -m bench.fakesrv` as a child process; stop() returns its stats."""

    def __init__(self, latency_ms: float, script: str = "echo", workers: int = 1) -> None:
        self.stats_dir = Path(tempfile.mkdtemp(prefix="bench-fakesrv-"))
        cmd = [
            PYTHON, "-m", "bench.fakesrv", "--latency-ms", str(latency_ms),
            "--workers", str(workers), "--script", script, "--stats-dir", str(self.stats_dir),
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=base_env(), stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            self.proc.kill()
            raise RuntimeError(f"fake server did not start: {line!r}")
        self.port = int(line.split()[1])

    @property
    def url(self) -> str:
        """OpenAI-style base URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> ServerStats:
        """Stop the server processes and sum what they saw."""
        self.proc.terminate()
        self.proc.wait(timeout=30)
        stats = ServerStats()
        for file in sorted(self.stats_dir.glob("server-*.json")):
            data = json.loads(file.read_text())
            stats.count += data["count"]
            stats.cpu_s += data["cpu_s"]
            stats.peak_in_flight += data.get("peak_in_flight", 0)
            if data["first"] is not None:
                stats.first = (
                    data["first"] if stats.first is None else min(stats.first, data["first"])
                )
            if data["last"] is not None:
                stats.last = data["last"] if stats.last is None else max(stats.last, data["last"])
        shutil.rmtree(self.stats_dir, ignore_errors=True)
        return stats


@contextmanager
def fake_server(latency_ms: float, script: str = "echo", workers: int = 1) -> Iterator[FakeServer]:
    """A fake server for the duration of the block (stats via .stop() inside it)."""
    server = FakeServer(latency_ms, script, workers)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.stop()


# ----------------------------------------------------------------------------- measuring


@dataclass
class Sample:
    """One reading of the measured process tree."""

    t: float
    cpu_s: float
    rss: int


@dataclass
class Measured:
    """A finished child process and how it used the machine."""

    returncode: int
    wall_s: float
    cpu_s: float
    """Whole-process CPU (user + system) of the child and every descendant (os.wait4)."""
    peak_rss_mb: float
    """Peak of the resident memory summed over the process tree."""
    stdout: str
    stderr: str
    samples: list[Sample] = field(default_factory=list)

    def cpu_between(self, t0: float, t1: float) -> float:
        """CPU seconds the tree used between two monotonic times (interpolated)."""
        return self._cpu_at(t1) - self._cpu_at(t0)

    def _cpu_at(self, t: float) -> float:
        pts = self.samples
        if not pts:
            return 0.0
        if t <= pts[0].t:
            return pts[0].cpu_s
        for a, b in itertools.pairwise(pts):
            if a.t <= t <= b.t:
                share = (t - a.t) / (b.t - a.t) if b.t > a.t else 0.0
                return a.cpu_s + share * (b.cpu_s - a.cpu_s)
        return pts[-1].cpu_s


def _tree_reading(root: psutil.Process) -> tuple[float, int]:
    procs = [root]
    with contextlib.suppress(psutil.Error):
        procs += root.children(recursive=True)
    cpu, rss = 0.0, 0
    for p in procs:
        try:
            with p.oneshot():
                t = p.cpu_times()
                cpu += t.user + t.system + t.children_user + t.children_system
                rss += p.memory_info().rss
        except psutil.Error:
            continue
    return cpu, rss


def run_measured(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout_s: float = 1800.0,
    every_s: float = 0.05,
) -> Measured:
    """Run a command to completion, sampling its process tree (see the module docstring)."""
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            list(cmd), cwd=cwd or ROOT, env=env or base_env(), stdout=out, stderr=err
        )
        samples = _sample_until_exit(proc, every_s, timeout_s)
        usage = samples.pop()
        wall = time.monotonic() - start
        cpu = usage.cpu_s
        out.seek(0)
        err.seek(0)
        peak = max((s.rss for s in samples), default=0)
        return Measured(proc.returncode, wall, cpu, peak / 2**20, out.read(), err.read(), samples)


def _sample_until_exit(
    proc: subprocess.Popen[Any], every_s: float, timeout_s: float
) -> list[Sample]:
    """Sample the tree until the child exits (killed after timeout_s); the last element
    is the final reading: whole-life CPU from os.wait4 (rss 0)."""
    root = psutil.Process(proc.pid)
    samples: list[Sample] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            cpu, rss = _tree_reading(root)
            if rss:
                samples.append(Sample(time.monotonic(), cpu, rss))
            done.wait(every_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timer = threading.Timer(timeout_s, proc.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
        done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    samples.append(Sample(time.monotonic(), usage.ru_utime + usage.ru_stime, 0))
    return samples


@dataclass
class Throughput:
    """One measured run of N trials by one harness."""

    harness: str
    lanes: int
    trials: int
    llm_calls: int
    window_s: float
    trials_per_s: float
    cpu_ms_per_trial: float
    """Harness CPU inside the server's window, per trial."""
    cpu_ms_per_trial_total: float
    """Whole-process harness CPU (start-up and teardown included), per trial."""
    peak_rss_mb: float
    wall_s: float
    server_cpu_s: float
    peak_in_flight: int
    """Most LLM requests in flight at once, seen by the server."""
    ok: bool
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return asdict(self)


def measure_harness(
    harness: str,
    cmd: Sequence[str],
    server: FakeServer,
    *,
    trials: int,
    lanes: int,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    calls_per_trial: int = 1,
) -> Throughput:
    """Run one harness command against a started server and read both sides."""
    measured = run_measured(cmd, env=env, cwd=cwd)
    stats = server.stop()
    ok = measured.returncode == 0 and stats.count >= trials * calls_per_trial
    window = stats.window_s
    cpu = measured.cpu_between(stats.first, stats.last) if stats.first and stats.last else 0.0
    note = "" if ok else _failure_note(measured, stats, trials * calls_per_trial)
    return Throughput(
        harness=harness,
        lanes=lanes,
        trials=trials,
        llm_calls=stats.count,
        window_s=round(window, 3),
        trials_per_s=round(trials / window, 2) if window > 0 else 0.0,
        cpu_ms_per_trial=round(1000 * cpu / trials, 3),
        cpu_ms_per_trial_total=round(1000 * measured.cpu_s / trials, 3),
        peak_rss_mb=round(measured.peak_rss_mb, 1),
        wall_s=round(measured.wall_s, 2),
        server_cpu_s=round(stats.cpu_s, 2),
        peak_in_flight=stats.peak_in_flight,
        ok=ok,
        note=note,
    )


def _failure_note(measured: Measured, stats: ServerStats, expected: int) -> str:
    tail = (measured.stderr or measured.stdout).strip().splitlines()[-3:]
    return (f"exit {measured.returncode}, {stats.count}/{expected} calls; " + " | ".join(tail))[
        :500
    ]
