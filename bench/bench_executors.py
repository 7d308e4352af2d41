"""Item 9: one workload on each executor: in-process lanes, local worker processes and a
two-node Ray cluster (issue 16).

The same N single-turn trials (fake server in its own process, fixed latency L, C lanes
in total) run by `evals run --executor inprocess`, `--executor processes --workers W`
and `--executor ray --ray-address ...` against a two-node Ray cluster started here
(evals.testing.ray_cluster: a head and one more node on 127.0.0.1, 2 CPUs each, so 4
actors). Figures per executor, the median of --runs runs: trials/s over the server's
window (first request to last response) and CPU ms per trial inside that window. CPU is
the `evals run` process tree's, and for Ray also every process of the cluster (GCS,
raylets, actors, the limiter): what a trial costs the machine, Ray's own overhead
included. Everything shares the machine's cores (2 here), so Ray's two "nodes" measure
the executor's overhead, not two machines' capacity. Nothing passes or fails.

    python -m bench.bench_executors [--trials 2000] [--lanes 64] [--latency-ms 200]
        [--runs 1] [--workers 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

from bench.common import (
    PYTHON,
    FakeServer,
    Measured,
    Sample,
    base_env,
    fmt,
    log,
    run_measured,
    summary,
)
from bench.workload import KEY_ENV, server_env, write_golden_set, write_suite

EXECUTORS = ("inprocess", "processes", "ray")


class TreeSampler:
    """CPU of this process's descendants except some (the fake server, the harness),
    sampled every 50 ms: the Ray cluster's processes."""

    def __init__(self, exclude: set[int]) -> None:
        self.exclude = exclude
        self.samples: list[Sample] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._gone: dict[int, float] = {}

    def _reading(self) -> float:
        seen: dict[int, float] = {}
        skip = set(self.exclude)
        for pid in list(self.exclude):
            with contextlib.suppress(psutil.Error):
                skip |= {c.pid for c in psutil.Process(pid).children(recursive=True)}
        for proc in psutil.Process().children(recursive=True):
            if proc.pid in skip:
                continue
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                seen[proc.pid] = t.user + t.system + t.children_user + t.children_system
        for pid, value in seen.items():
            self._gone[pid] = value  # a process that exits keeps its last reading
        return sum(self._gone.values())

    def _run(self) -> None:
        while not self._done.is_set():
            self.samples.append(Sample(time.monotonic(), self._reading(), 1))
            self._done.wait(0.05)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def run_one(
    executor: str, scratch: Path, args: argparse.Namespace, ray_address: str | None
) -> dict[str, Any]:
    """One measured `evals run` on one executor, against a fresh fake server."""
    dataset = scratch / "dataset"
    if not dataset.exists():
        write_golden_set(dataset, args.trials)
    server = FakeServer(args.latency_ms, "echo")
    suite = write_suite(scratch, dataset, lanes=args.lanes)
    # The server's address in the suite: Ray's actors inherit the cluster's environment,
    # not this command's (each run has a fresh workspace, so run ids need not match).
    data = yaml.safe_load(suite.read_text())
    data["models"][0]["params"] = {"api_base": server.url}
    suite.write_text(yaml.safe_dump(data, sort_keys=False))
    ws = scratch / f"ws-{executor}"
    shutil.rmtree(ws, ignore_errors=True)
    cmd = [PYTHON, "-m", "evals.cli.main", "run", str(suite), "-w", str(ws), "--full",
           "--no-progress", "--no-judge", "--lanes", str(args.lanes),
           "--executor", executor]  # fmt: skip
    if executor == "processes":
        cmd += ["--workers", str(args.workers)]
    if executor == "ray":
        assert ray_address is not None
        cmd += ["--ray-address", ray_address]
    try:
        with TreeSampler({server.proc.pid}) as cluster:
            measured = run_measured(cmd, env=base_env(**server_env(server.url)))
        stats = server.stop()
    finally:
        if server.proc.poll() is None:
            server.stop()
    first, last = stats.first or 0.0, stats.last or 0.0
    harness_cpu = measured.cpu_between(first, last) if last > first else 0.0
    cluster_cpu = 0.0
    if executor == "ray" and last > first:
        cluster_cpu = Measured(0, 0, 0, 0, "", "", cluster.samples).cpu_between(first, last)
    window = stats.window_s
    ok = measured.returncode == 0 and stats.count >= args.trials
    shutil.rmtree(ws, ignore_errors=True)
    return {
        "ok": ok,
        "note": "" if ok else (measured.stderr or measured.stdout).strip()[-400:],
        "trials_per_s": round(args.trials / window, 2) if window > 0 else 0.0,
        "cpu_ms_per_trial": round(1000 * (harness_cpu + cluster_cpu) / args.trials, 3),
        "driver_cpu_ms_per_trial": round(1000 * harness_cpu / args.trials, 3),
        "wall_s": round(measured.wall_s, 2),
        "llm_calls": stats.count,
        "peak_in_flight": stats.peak_in_flight,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure every executor; print and return (and with --json write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--lanes", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    from evals.testing.ray_cluster import ray_test_cluster

    scratch = Path(tempfile.mkdtemp(prefix="bench-executors-"))
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in EXECUTORS}
    key_env = {KEY_ENV: "sk-fake-bench"}  # the actors inherit the API key's variable
    try:
        with ray_test_cluster(nodes=2, cpus_per_node=2, env=key_env, connect=False) as cluster:
            for run in range(args.runs):
                for name in EXECUTORS:  # interleaved: drift in the load hits each alike
                    result = run_one(name, scratch, args, cluster.address)
                    found[name].append(result)
                    log(
                        f"  run {run + 1}/{args.runs} {name}: {result['trials_per_s']:.1f}/s, "
                        f"{result['cpu_ms_per_trial']:.2f} ms CPU/trial"
                        + ("" if result["ok"] else " FAILED " + result["note"])
                    )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ideal = args.lanes / (args.latency_ms / 1000.0)
    out: dict[str, Any] = {
        "trials": args.trials,
        "lanes": args.lanes,
        "latency_ms": args.latency_ms,
        "runs": args.runs,
        "workers": args.workers,
        "ray": {"nodes": 2, "cpus_per_node": 2, "actors": 4},
        "ideal_trials_per_s": round(ideal, 1),
        "executors": {},
    }
    print(
        f"Executors: {args.trials} single-turn trials, C = {args.lanes} lanes in total, "
        f"L = {args.latency_ms:g} ms (ideal {ideal:.0f}/s), median of {args.runs} run(s)"
    )
    for name, runs in found.items():
        good = [r for r in runs if r["ok"]]
        row: dict[str, Any] = {
            "trials_per_s": summary([r["trials_per_s"] for r in good], 2),
            "cpu_ms_per_trial": summary([r["cpu_ms_per_trial"] for r in good], 3),
            "driver_cpu_ms_per_trial": summary([r["driver_cpu_ms_per_trial"] for r in good], 3),
            "failed_runs": [r["note"] for r in runs if not r["ok"]],
        }
        out["executors"][name] = row
        label = {"processes": f"processes ({args.workers})", "ray": "ray (2 nodes, 4 actors)"}
        print(
            f"  {label.get(name, name):<24} {fmt(row['trials_per_s'], 'trials/s')}  "
            f"{fmt(row['cpu_ms_per_trial'], 'ms CPU/trial', 2)}"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
