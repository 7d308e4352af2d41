"""Run every benchmark and write bench/results.json (`make bench`).

Profiles:

- ``short`` (the default; under 15 minutes on 2 cores): every item, at the sizes the
  issue names where they fit (10,000-trial rerun, 100,000 queued review items), smaller
  where a full size would take most of the budget (see PROFILES: throughput at 1,000
  trials with the harness's 2-worker mode; memory at the 1k/10k/100k cases and the store at
  the 1M records their targets name, once);
- ``full``: the issue's sizes everywhere (2,000 trials with 1 and 2 workers, memory at
  1k/10k/100k cases, 1M store records), about an hour and a half.

Each benchmark runs as its own process (`python -m bench.<name> --json FILE ...`), its
figures printed as it goes; a benchmark that fails is recorded as failed and the others
still run. The peers are installed first if missing (bench.peers.install). At the end, one table
of every target (bench.targets): our figure, the peers' and the ceiling in this run, the
ratio, met / not met; `python -m bench.readme` then writes it and the figures into the
generated block of docs/benchmarks.md.

    python -m bench.run_all [--profile short|full] [--only throughput,store,...]
        [--out bench/results.json]

With --only, an existing --out file of the same profile is updated (the other items'
results are kept, and the partial run is listed under ``partial_updates``), so a long
profile can be run piece by piece.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import targets
from bench.common import BENCH, PYTHON, ROOT, base_env, log

PROFILES: dict[str, dict[str, list[str]]] = {
    "short": {
        "throughput": ["--trials", "1000", "--lanes", "64", "256", "--runs", "3",
                       "--workers", "1", "2"],
        "gateway_cpu": ["--calls", "200", "--runs", "3"],
        "multiturn": ["--trials", "100", "--lanes", "64", "256", "--runs", "3"],
        "cached_rerun": ["--trials", "10000", "--runs", "3"],
        "memory": ["--sizes", "1000", "10000", "100000", "--runs", "1"],  # 100k: 18.2
        "store": ["--trials", "1000000", "--runs", "1", "--skip", "jsonl,bodies"],  # 1M: 18.3
        "judge": ["--sizes", "1000", "100000"],
        "review_app": ["--queued", "100000", "--sessions", "10", "--items", "2", "--runs", "3"],
        "local_model": ["--runs", "3"],
        "review_replicas": ["--queued", "10000", "--reviewers", "20", "--items", "10",
                            "--runs", "3"],
        "executors": ["--trials", "2000", "--lanes", "64", "--runs", "1", "--workers", "2"],
    },
    "full": {
        "throughput": ["--trials", "2000", "--lanes", "64", "256", "--runs", "3",
                       "--workers", "1", "2"],
        "gateway_cpu": ["--calls", "2000", "--runs", "3"],
        "multiturn": ["--trials", "1000", "--lanes", "64", "256", "--runs", "3"],
        "cached_rerun": ["--trials", "10000", "--runs", "3"],
        "memory": ["--sizes", "1000", "10000", "100000", "--runs", "1"],
        "store": ["--trials", "1000000", "--runs", "3"],
        "judge": ["--sizes", "1000", "100000"],
        "review_app": ["--queued", "100000", "--sessions", "10", "--items", "10", "--runs", "3"],
        "local_model": ["--runs", "5"],
        "review_replicas": ["--queued", "100000", "--reviewers", "20", "--items", "10",
                            "--runs", "3"],
        "executors": ["--trials", "2000", "--lanes", "64", "--runs", "3", "--workers", "2"],
    },
    "tiny": {  # for the bench's own tests: does everything run and produce its figures
        "throughput": ["--trials", "40", "--lanes", "8", "--runs", "1", "--workers", "1",
                       "--peers", "raw", "--latency-ms", "20"],
        "gateway_cpu": ["--calls", "20", "--concurrency", "4", "--latency-ms", "5",
                        "--runs", "1"],
        "multiturn": ["--trials", "8", "--lanes", "4", "--runs", "1", "--latency-ms", "5"],
        "cached_rerun": ["--trials", "40", "--runs", "1", "--lanes", "8", "--workers", "1"],
        "memory": ["--sizes", "20", "60", "--lanes", "8", "--peers", "raw"],
        "store": ["--trials", "2000", "--runs", "1"],
        "judge": ["--sizes", "20", "60"],
        "review_app": ["--queued", "200", "--sessions", "3", "--items", "2", "--runs", "1"],
        "local_model": ["--runs", "1"],
        "review_replicas": ["--queued", "200", "--reviewers", "4", "--items", "2", "--runs",
                            "1", "--no-replicas"],
        "executors": ["--trials", "40", "--lanes", "8", "--latency-ms", "20", "--runs", "1"],
    },
}  # fmt: skip
"""Arguments of each benchmark per profile."""

ITEMS = {
    "throughput": "1. runner throughput against the ideal and the peers",
    "gateway_cpu": "2. CPU per LLM call: gateway vs bare litellm vs raw aiohttp",
    "multiturn": "3. multi-turn ReAct agent (5 tool steps per trial)",
    "cached_rerun": "4. cached rerun of a finished 10,000-trial run",
    "memory": "5. peak RSS at growing case counts",
    "store": "6. store: ingest, gate and comparison queries, compaction",
    "review_app": "7. review app next-item latency",
    "local_model": "8. local model tokens/s and llama.cpp's prefix cache",
    "review_replicas": "16.6 review app: two replicas on one PostgreSQL, 20 reviewers",
    "executors": "9. one workload on each executor: in-process, processes, two-node Ray",
    "judge": "10. peak RSS of `evals judge` (deterministic checks) at 1k and 100k trials",
}
MODULES = {name: f"bench.bench_{name}" for name in ITEMS}


def run_benchmark(name: str, args: list[str]) -> dict[str, Any]:
    """Run one benchmark module; its JSON result, or an error record."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        if name == "gateway_cpu":  # a colleague's script: JSON on stdout with --json
            cmd = [PYTHON, str(BENCH / "bench_gateway_cpu.py"), *args, "--json"]
        else:
            cmd = [PYTHON, "-m", MODULES[name], *args, "--json", str(out)]
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=base_env(), stdout=subprocess.PIPE, text=True)
        elapsed = time.monotonic() - start
        try:
            if name == "gateway_cpu":
                data = json.loads(proc.stdout.strip().splitlines()[-1])
                print_gateway_cpu(data)
            else:
                print(proc.stdout, end="", flush=True)
                data = json.loads(out.read_text())
        except (OSError, ValueError, IndexError, KeyError, TypeError):
            print(proc.stdout, end="", flush=True)
            data = {"error": f"exit code {proc.returncode}, no result"}
    return {"args": args, "elapsed_s": round(elapsed, 1), "exit_code": proc.returncode, **data}


def print_gateway_cpu(data: dict[str, Any]) -> None:
    """bench_gateway_cpu.py's JSON as lines (it prints only JSON under --json)."""
    print(
        f"CPU per LLM call: {data['calls']} calls, {data['concurrency']} in flight, "
        f"L = {data['latency_ms']:g} ms, median of {data['runs']} runs (min-max)"
    )
    for key, s in data["cpu_ms_per_call"].items():
        print(f"  {key:<34} {s['median']:7.3f} ms ({s['min']:.3f}-{s['max']:.3f})")
    for model, ratio in data.get("ratios", {}).items():
        print(f"  [{model}] " + ", ".join(f"{k} {v}" for k, v in ratio.items()))


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the chosen benchmarks; write and return the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="short")
    parser.add_argument("--only", default="", help="comma-separated: " + ",".join(ITEMS))
    parser.add_argument("--out", type=Path, default=BENCH / "results.json")
    parser.add_argument("--no-install", action="store_true", help="do not install the peers")
    args = parser.parse_args(argv)
    chosen = [n for n in args.only.split(",") if n] or list(ITEMS)
    unknown = sorted(set(chosen) - set(ITEMS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(ITEMS)}")
    if not args.no_install and {"throughput", "memory"} & set(chosen):
        subprocess.run([PYTHON, "-m", "bench.peers.install"], cwd=ROOT, env=base_env(), check=False)
    started = time.monotonic()
    run: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "profile": args.profile,
        "machine": machine(),
    }
    results: dict[str, Any] = {**run, "results": {}}
    partial = False
    if args.only and args.out.exists():  # a partial run updates the file it names
        previous = json.loads(args.out.read_text())
        if previous.get("profile") == args.profile:
            # The file's own run (when, machine, elapsed) stays as it was; this partial
            # run is listed apart, with the items it replaced.
            results, partial = previous, True
            run["items"] = chosen
            results.setdefault("partial_updates", []).append(run)
    for name in chosen:
        log(f"== {ITEMS[name]} ({args.profile} profile)")
        results["results"][name] = run_benchmark(name, PROFILES[args.profile][name])
        results["results"][name]["when"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        run["elapsed_s"] = round(time.monotonic() - started, 1)
        run["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
        if not partial:
            results.update(run)
        args.out.write_text(json.dumps(results, indent=2))  # after each: a crash keeps some
    rows = targets.evaluate(results["results"])
    results["targets"] = [asdict(row) for row in rows]
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\nTargets ({args.profile} profile; peers and ceiling measured in the same run):")
    print(targets.text(rows), flush=True)
    log(f"== done in {run['elapsed_s']:.0f}s; results in {args.out}")
    return results


if __name__ == "__main__":
    main()
