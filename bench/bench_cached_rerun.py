"""Item 4: rerunning a finished run of 10,000 trials: seconds, and LLM calls made (0).

A run of N single-turn trials is finished first (fake server with a short latency, so it
takes seconds, not minutes); then the same `evals run SUITE` is run again --runs times,
each against a fresh fake server whose request count is the LLM calls the rerun made.
Resume is by trial key, so a rerun makes no call at all; its time is start-up, loading
the golden set, reading the finished keys and summarising the run from the store.

    python -m bench.bench_cached_rerun [--trials 10000] [--runs 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    FakeServer,
    base_env,
    fmt,
    log,
    run_measured,
    summary,
)
from bench.workload import server_env, write_golden_set, write_suite

EVALS = str(ROOT / ".venv" / "bin" / "evals")


def run_once(suite: Path, ws: Path, latency_ms: float, lanes: int, workers: int) -> dict[str, Any]:
    """One `evals run` against a fresh server: wall seconds, calls, exit code, RSS."""
    server = FakeServer(latency_ms)
    try:
        env = base_env(**server_env(server.url))
        cmd = [EVALS, "run", str(suite), "-w", str(ws), "--full", "--no-progress",
               "--lanes", str(lanes), "--workers", str(workers)]  # fmt: skip
        measured = run_measured(cmd, env=env)
    finally:
        stats = server.stop()
    return {
        "seconds": measured.wall_s,
        "llm_calls": stats.count,
        "exit_code": measured.returncode,
        "cpu_s": measured.cpu_s,
        "peak_rss_mb": measured.peak_rss_mb,
        "window_s": stats.window_s,
        "tail": measured.stdout.strip().splitlines()[-4:],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run and print; returns the results (also written to --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="latency of the first (filling) run"
    )
    parser.add_argument("--lanes", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-rerun-"))
    try:
        dataset = write_golden_set(scratch / "dataset", args.trials)
        suite = write_suite(scratch, dataset, lanes=args.lanes, workers=args.workers)
        ws = scratch / "ws"
        log(f"  filling: {args.trials} trials at L = {args.latency_ms:g} ms")
        first = run_once(suite, ws, args.latency_ms, args.lanes, args.workers)
        log(
            f"  first run: {first['seconds']:.1f}s, {first['llm_calls']} calls, "
            f"exit {first['exit_code']}"
        )
        reruns = []
        for i in range(args.runs):
            reruns.append(run_once(suite, ws, args.latency_ms, args.lanes, args.workers))
            log(
                f"  rerun {i + 1}/{args.runs}: {reruns[-1]['seconds']:.2f}s, "
                f"{reruns[-1]['llm_calls']} LLM calls, exit {reruns[-1]['exit_code']}"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result = {
        "trials": args.trials,
        "first_run": {
            "seconds": round(first["seconds"], 2),
            "llm_calls": first["llm_calls"],
            "exit_code": first["exit_code"],
            "trials_per_s": round(args.trials / first["window_s"], 1) if first["window_s"] else 0,
        },
        "rerun_seconds": summary([r["seconds"] for r in reruns], 2),
        "rerun_llm_calls": summary([r["llm_calls"] for r in reruns], 0),
        "rerun_llm_calls_total": sum(r["llm_calls"] for r in reruns),
        "rerun_exit_codes": [r["exit_code"] for r in reruns],
        "rerun_cpu_s": summary([r["cpu_s"] for r in reruns], 2),
        "rerun_peak_rss_mb": summary([r["peak_rss_mb"] for r in reruns], 1),
    }
    print(f"Cached rerun of a finished run of {args.trials} trials:")
    print(f"  first run: {first['seconds']:.1f}s, {first['llm_calls']} LLM calls")
    print(
        f"  rerun: {fmt(result['rerun_seconds'], 's', 2)}; LLM calls made: "
        f"{result['rerun_llm_calls_total']} in {args.runs} reruns; "
        f"CPU {fmt(result['rerun_cpu_s'], 's', 2)}; "
        f"peak RSS {fmt(result['rerun_peak_rss_mb'], 'MB', 0)}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
