"""Item 5: peak RSS of a run at growing case counts (1k, 10k, 100k): it should stay
near flat, because trials stream from a lazy matrix through a bounded queue to the store.

For each size a synthetic golden set is generated and run once by `evals run` (one
worker process, so the figure is one process's memory; C lanes) against the fake server
with a short latency. Its peak RSS is the kernel's exact high-water mark (VmHWM, written
at exit by bench.peak_child) over the whole process: start-up, the run, the summary and
the compaction of its segments to Parquet (the 100 ms samples are kept beside it, as
`sampled_peak_rss_mb`). Growth is reported as the
ratio of the largest size's peak to the smallest's, and as MB per 1,000 extra cases.

At the smallest size, in the same run: `evals run --workers N` for each --workers (the
RSS summed over its process tree, parent and workers, sampled every 100 ms), and the
peers (sampled alike) on the same
single-turn workload (--peers: Inspect AI, the raw aiohttp client as the floor), so
issue 18's targets (at most Inspect AI's peak, workers at most N x 0.6 of one process)
compare figures of one run.

    python -m bench.bench_memory [--sizes 1000 10000 100000] [--latency-ms 5]
        [--lanes 256] [--runs 1] [--workers 2] [--peers inspect,raw] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.common import PYTHON, ROOT, FakeServer, base_env, fmt, log, run_measured, summary
from bench.peak_child import PEAK_FILE
from bench.workload import server_env, write_golden_set, write_suite

EVALS = str(ROOT / ".venv" / "bin" / "evals")


def measure_size(
    cases: int, latency_ms: float, lanes: int, scratch: Path, workers: int = 1
) -> dict[str, Any]:
    """One run over a fresh golden set of `cases` cases."""
    folder = scratch / f"size-{cases}-{workers}"
    dataset = write_golden_set(folder / "dataset", cases)
    suite = write_suite(folder, dataset, lanes=lanes, workers=workers)
    server = FakeServer(latency_ms)
    peak_file = folder / "peak.txt"
    try:
        env = base_env(**server_env(server.url), **{PEAK_FILE: str(peak_file)})
        args = ["run", str(suite), "-w", str(folder / "ws"), "--full", "--no-progress",
                "--lanes", str(lanes), "--workers", str(workers)]  # fmt: skip
        # One process: its exact peak (VmHWM, bench.peak_child). Sampling every 100 ms
        # missed the end-of-run compaction's short spike in a 1-second run more often
        # than in a minute-long one, which made the growth to 100k read 1.22-1.37x for the
        # same code. A process tree (--workers) is sampled: VmHWM is per process.
        cmd = [PYTHON, "-m", "bench.peak_child", "evals.cli.main", *args] if workers == 1 else [
            EVALS, *args]  # fmt: skip
        measured = run_measured(cmd, env=env, every_s=0.1)
        exact = int(peak_file.read_text()) / 1024 if peak_file.exists() else None
    finally:
        stats = server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "cases": cases,
        "peak_rss_mb": round(exact if exact is not None else measured.peak_rss_mb, 1),
        "sampled_peak_rss_mb": round(measured.peak_rss_mb, 1),
        "peak_method": "VmHWM" if exact is not None else "sampled every 100 ms",
        "llm_calls": stats.count,
        "exit_code": measured.returncode,
        # Why an incomplete run failed (its last output lines), so the log says it.
        "failure": "" if measured.returncode == 0 else _tail(measured.stderr or measured.stdout),
        "seconds": round(measured.wall_s, 1),
        "trials_per_s": round(cases / stats.window_s, 1) if stats.window_s else 0.0,
    }


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def measure_peer(name: str, cases: int, latency_ms: float, lanes: int, scratch: Path) -> float:
    """Peak RSS (MB) of a peer doing the same single-turn trials (0.0 when it failed)."""
    from bench import peers
    from bench.bench_throughput import raw_runner

    server = FakeServer(latency_ms)
    try:
        if name == "inspect":
            result = peers.run_inspect(server, cases, lanes, scratch)
        else:
            result = raw_runner()(server, cases, lanes, scratch)
    finally:
        if server.proc.poll() is None:
            server.stop()
    if not result.ok:
        log(f"  {name} failed: {result.note}")
    return result.peak_rss_mb if result.ok else 0.0


def measure_alongside(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """At the smallest size: --workers runs and the peers, each --runs times."""
    from bench import peers

    small = min(args.sizes)
    workers: dict[str, list[float]] = {str(w): [] for w in args.workers}
    names = [n for n in args.peers.split(",") if n and (n == "raw" or peers.available(n))]
    found: dict[str, list[float]] = {n: [] for n in names}
    for run in range(args.runs):
        for w in args.workers:
            r = measure_size(small, args.latency_ms, args.lanes, scratch, workers=w)
            if r["exit_code"] == 0 and r["llm_calls"] >= small:
                workers[str(w)].append(r["peak_rss_mb"])
            log(f"  run {run + 1}/{args.runs} {small} cases --workers {w}: {r['peak_rss_mb']} MB")
        for name in names:
            peak = measure_peer(name, small, args.latency_ms, args.lanes, scratch)
            if peak:
                found[name].append(peak)
            log(f"  run {run + 1}/{args.runs} {small} cases {name}: {peak:.0f} MB")
    label = {"raw": "raw aiohttp"}
    return {
        "cases": small,
        "workers": {w: summary(v, 1) for w, v in workers.items()},
        "peers": {label.get(n, n): summary(v, 1) for n, v in found.items()},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run and print; returns the results (also written to --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--lanes", type=int, default=256)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="*", default=[2])
    parser.add_argument("--peers", default="inspect,raw")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    per_size: dict[int, list[dict[str, Any]]] = {n: [] for n in args.sizes}
    try:
        for run in range(args.runs):
            for n in args.sizes:
                found = measure_size(n, args.latency_ms, args.lanes, scratch)
                per_size[n].append(found)
                log(
                    f"  run {run + 1}/{args.runs} {n} cases: peak RSS {found['peak_rss_mb']:.0f} "
                    f"MB, {found['seconds']:.0f}s, {found['llm_calls']} calls, "
                    f"exit {found['exit_code']}"
                    + (f" ({found['failure']})" if found["failure"] else "")
                )
        alongside = measure_alongside(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    sizes: dict[str, dict[str, Any]] = {
        str(n): {
            "peak_rss_mb": summary([r["peak_rss_mb"] for r in rs], 1),
            "sampled_peak_rss_mb": summary([r["sampled_peak_rss_mb"] for r in rs], 1),
            "peak_method": rs[0]["peak_method"] if rs else None,
            "seconds": summary([r["seconds"] for r in rs], 1),
            "trials_per_s": summary([r["trials_per_s"] for r in rs], 1),
            "complete": all(r["exit_code"] == 0 and r["llm_calls"] >= n for r in rs),
        }
        for n, rs in per_size.items()
    }
    small, large = min(args.sizes), max(args.sizes)
    low = sizes[str(small)]["peak_rss_mb"]["median"]
    high = sizes[str(large)]["peak_rss_mb"]["median"]
    result = {
        "latency_ms": args.latency_ms,
        "lanes": args.lanes,
        "by_cases": sizes,
        "growth_ratio": round(high / low, 3) if low else None,
        "mb_per_1000_cases": round(1000 * (high - low) / (large - small), 3)
        if large > small
        else None,
        "at_smallest": alongside,
    }
    print(f"Memory: peak RSS of one run process (L = {args.latency_ms:g} ms, C = {args.lanes})")
    for n, s in sizes.items():
        print(
            f"  {int(n):>7} cases: {fmt(s['peak_rss_mb'], 'MB', 0)}"
            f"{'' if s['complete'] else ' (INCOMPLETE run)'}"
        )
    print(
        f"  growth {small} -> {large} cases: x{result['growth_ratio']} "
        f"({result['mb_per_1000_cases']} MB per 1,000 cases)"
    )
    for w, stat in alongside["workers"].items():
        print(f"  {small} cases, evals --workers {w}: {fmt(stat, 'MB', 0)} (process tree)")
    for name, stat in alongside["peers"].items():
        print(f"  {small} cases, {name}: {fmt(stat, 'MB', 0)}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
