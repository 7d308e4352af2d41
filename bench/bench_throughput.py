"""Item 1: runner throughput against the ideal C/L and against the peers.

N single-turn trials against the fake server (its own process, fixed latency L) at C
lanes, run by: the harness (`evals run`, one process or `--workers N`), a raw aiohttp
client (the practical ceiling), Inspect AI (its own virtualenv) and promptfoo (its own
node_modules). Every figure is the median of --runs runs (min and max beside it):
trials/s over the server's window (first request to last response), the ratio to C/L,
to the raw client and to each peer, CPU ms per trial of the harness's process tree
inside that window (and over its whole life), and its peak RSS. Nothing passes or fails.

    python -m bench.bench_throughput [--trials 2000] [--lanes 64 256] [--latency-ms 200]
        [--runs 3] [--workers 2] [--peers raw,inspect,promptfoo] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import peers
from bench.common import (
    PYTHON,
    ROOT,
    FakeServer,
    Throughput,
    base_env,
    fmt,
    log,
    measure_harness,
    summary,
)
from bench.workload import server_env, write_golden_set, write_suite

EVALS = str(ROOT / ".venv" / "bin" / "evals")

RAW = "raw aiohttp"
"""The raw client's name in the results: the practical ceiling of any harness here."""

Runner = Callable[[FakeServer, int, int, Path], Throughput]
"""(server, trials, lanes, scratch folder) -> one measured run."""


def harness_runner(workers: int, script: str = "echo", calls_per_trial: int = 1) -> Runner:
    """The harness: `evals run SUITE --lanes C --workers W` on a fresh workspace."""

    def run(server: FakeServer, trials: int, lanes: int, scratch: Path) -> Throughput:
        dataset = scratch / "dataset"
        if not dataset.exists():
            write_golden_set(dataset, trials, tools=script == "react5")
        suite = write_suite(scratch, dataset, lanes=lanes, workers=workers)
        ws = scratch / f"ws-{lanes}-{workers}-{server.port}"
        cmd = [EVALS, "run", str(suite), "-w", str(ws), "--full", "--no-progress",
               "--lanes", str(lanes), "--workers", str(workers)]  # fmt: skip
        env = base_env(**server_env(server.url))
        name = "evals" if workers == 1 else f"evals --workers {workers}"
        result = measure_harness(
            name, cmd, server, trials=trials, lanes=lanes, env=env, calls_per_trial=calls_per_trial
        )
        shutil.rmtree(ws, ignore_errors=True)
        return result

    return run


def raw_runner(turns: int = 1) -> Runner:
    """The raw aiohttp client (bench.peers.raw_aiohttp), `turns` requests at most a trial."""

    def run(server: FakeServer, trials: int, lanes: int, scratch: Path) -> Throughput:
        cmd = [PYTHON, "-m", "bench.peers.raw_aiohttp", server.url, str(trials), str(lanes),
               str(turns)]  # fmt: skip
        return measure_harness(RAW, cmd, server, trials=trials, lanes=lanes, calls_per_trial=turns)

    return run


def inspect_runner(server: FakeServer, trials: int, lanes: int, scratch: Path) -> Throughput:
    """Inspect AI (bench/peers/inspect_task.py in bench/.venv-inspect)."""
    return peers.run_inspect(server, trials, lanes, scratch)


def promptfoo_runner(server: FakeServer, trials: int, lanes: int, scratch: Path) -> Throughput:
    """promptfoo (bench/peers/promptfooconfig.yaml with bench/.node)."""
    return peers.run_promptfoo(server, trials, lanes, scratch)


def measure_all(
    runners: dict[str, Runner],
    *,
    trials: int,
    lanes: Sequence[int],
    latency_ms: float,
    runs: int,
    script: str = "echo",
) -> dict[str, dict[int, list[Throughput]]]:
    """Every runner at every lane count, `runs` times, interleaved (so drift in the
    machine's load hits every harness alike); a fresh server per run."""
    found: dict[str, dict[int, list[Throughput]]] = {n: {c: [] for c in lanes} for n in runners}
    scratch = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    try:
        for run in range(runs):
            for c in lanes:
                for name, runner in runners.items():
                    server = FakeServer(latency_ms, script)
                    try:
                        result = runner(server, trials, c, scratch)
                    finally:
                        if server.proc.poll() is None:
                            server.stop()
                    found[name][c].append(result)
                    failed = "" if result.ok else " FAILED " + result.note
                    log(
                        f"  run {run + 1}/{runs} C={c} {name}: {result.trials_per_s:.1f}/s, "
                        f"{result.cpu_ms_per_trial:.2f} ms CPU/trial, "
                        f"{result.peak_rss_mb:.0f} MB{failed}"
                    )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return found


def summarise(
    found: dict[str, dict[int, list[Throughput]]],
    latency_ms: float,
    ours: str,
    calls_per_trial: int = 1,
) -> dict[str, Any]:
    """Per lane count: each harness's figures, and ours against the ideal and the others."""
    out: dict[str, Any] = {}
    lanes = sorted({c for per in found.values() for c in per})
    for c in lanes:
        ideal = c / (calls_per_trial * latency_ms / 1000.0)
        cell: dict[str, Any] = {"ideal_trials_per_s": ideal, "harnesses": {}}
        medians: dict[str, float] = {}
        for name, per in found.items():
            results = [r for r in per.get(c, []) if r.ok]
            failed = [r.note for r in per.get(c, []) if not r.ok]
            rates = summary([r.trials_per_s for r in results], 2)
            cell["harnesses"][name] = {
                "trials_per_s": rates,
                "ratio_to_ideal": summary([r.trials_per_s / ideal for r in results]),
                "cpu_ms_per_trial": summary([r.cpu_ms_per_trial for r in results]),
                "cpu_ms_per_trial_total": summary([r.cpu_ms_per_trial_total for r in results]),
                "peak_rss_mb": summary([r.peak_rss_mb for r in results], 1),
                "peak_in_flight": summary([r.peak_in_flight for r in results], 0),
                "failed_runs": failed,
            }
            if rates["median"]:
                medians[name] = rates["median"]
        if ours in medians:
            cell["ours"] = ours
            cell["ratios"] = {
                f"{ours} / {other}": round(medians[ours] / rate, 2)
                for other, rate in medians.items()
                if other != ours
            }
        if RAW in medians:  # what no client can beat here: the ceiling over each peer
            cell["ceiling_ratios"] = {
                f"{RAW} / {other}": round(medians[RAW] / rate, 2)
                for other, rate in medians.items()
                if other != RAW and not other.startswith("evals")
            }
        out[str(c)] = cell
    return out


def best_of_ours(found: dict[str, dict[int, list[Throughput]]], lanes: Sequence[int]) -> str:
    """The harness configuration (worker count) with the best worst-case throughput."""
    return max(
        (n for n in found if n.startswith("evals")),
        key=lambda n: min(
            summary([r.trials_per_s for r in found[n][c] if r.ok])["median"] or 0 for c in lanes
        ),
    )


def report(
    result: dict[str, Any], trials: int, latency_ms: float, what: str = "single-turn"
) -> None:
    """Print the figures."""
    print(f"Throughput: {trials} {what} trials, fake server at L = {latency_ms:g} ms")
    for c, cell in result.items():
        print(f"  C = {c} (ideal = {cell['ideal_trials_per_s']:.0f} trials/s)")
        for name, h in cell["harnesses"].items():
            print(
                f"    {name:<20} {fmt(h['trials_per_s'], 'trials/s')}; "
                f"{h['ratio_to_ideal']['median'] or 0:.2f} of ideal; "
                f"CPU {fmt(h['cpu_ms_per_trial'], 'ms/trial', 2)}; "
                f"peak RSS {fmt(h['peak_rss_mb'], 'MB', 0)}"
            )
        for label, ratio in cell.get("ratios", {}).items():
            print(f"    {label}: {ratio:.2f}x")
        for label, ratio in cell.get("ceiling_ratios", {}).items():
            print(f"    ceiling: {label}: {ratio:.2f}x")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run and print; returns the results (also written to --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--lanes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="harness worker-process counts to measure",
    )
    parser.add_argument("--peers", default="raw,inspect,promptfoo")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    runners: dict[str, Runner] = {}
    for w in args.workers:
        runners["evals" if w == 1 else f"evals --workers {w}"] = harness_runner(w)
    available = {"raw": raw_runner(), "inspect": inspect_runner, "promptfoo": promptfoo_runner}
    for name in filter(None, args.peers.split(",")):
        if name != "raw" and not peers.available(name):
            log(f"  {name}: not installed (python -m bench.peers.setup), skipped")
            continue
        runners[{"raw": RAW}.get(name, name)] = available[name]
    found = measure_all(
        runners, trials=args.trials, lanes=args.lanes, latency_ms=args.latency_ms, runs=args.runs
    )
    best = best_of_ours(found, args.lanes)
    result = {
        "trials": args.trials,
        "latency_ms": args.latency_ms,
        "runs": args.runs,
        "ours": best,
        "by_lanes": summarise(found, args.latency_ms, best),
    }
    report(result["by_lanes"], args.trials, args.latency_ms)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
