"""Item 5: peak RSS of a run at growing case counts (1k, 10k, 100k): it should stay
near flat, because trials stream from a lazy matrix through a bounded queue to the store.

For each size a synthetic golden set is generated and run once by `evals run` (one
worker process, so the figure is one process's memory; C lanes) against the fake server
with a short latency. Peak RSS is sampled over the whole process (start-up, the run,
the summary and the compaction of its segments to Parquet). Growth is reported as the
ratio of the largest size's peak to the smallest's, and as MB per 1,000 extra cases.

    python -m bench.bench_memory [--sizes 1000 10000 100000] [--latency-ms 5]
        [--lanes 256] [--runs 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, FakeServer, base_env, fmt, log, run_measured, summary
from bench.workload import server_env, write_golden_set, write_suite

EVALS = str(ROOT / ".venv" / "bin" / "evals")


def measure_size(cases: int, latency_ms: float, lanes: int, scratch: Path) -> dict[str, Any]:
    """One run over a fresh golden set of `cases` cases."""
    folder = scratch / f"size-{cases}"
    dataset = write_golden_set(folder / "dataset", cases)
    suite = write_suite(folder, dataset, lanes=lanes, workers=1)
    server = FakeServer(latency_ms)
    try:
        env = base_env(**server_env(server.url))
        cmd = [EVALS, "run", str(suite), "-w", str(folder / "ws"), "--full", "--no-progress",
               "--lanes", str(lanes), "--workers", "1"]  # fmt: skip
        measured = run_measured(cmd, env=env, every_s=0.1)
    finally:
        stats = server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "cases": cases,
        "peak_rss_mb": round(measured.peak_rss_mb, 1),
        "llm_calls": stats.count,
        "exit_code": measured.returncode,
        "seconds": round(measured.wall_s, 1),
        "trials_per_s": round(cases / stats.window_s, 1) if stats.window_s else 0.0,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run and print; returns the results (also written to --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--lanes", type=int, default=256)
    parser.add_argument("--runs", type=int, default=1)
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
                )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    sizes = {
        str(n): {
            "peak_rss_mb": summary([r["peak_rss_mb"] for r in rs], 1),
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
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
