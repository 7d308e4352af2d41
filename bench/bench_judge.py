"""Item 9: peak RSS of `evals judge` at growing trial counts (1k, 100k): it should stay
flat, because judging streams the run's trials (judges.judge_stream) and reads the golden
set lazily (issue 18 item 2: growth at most 1.2x from 1k to 100k trials).

For each size a synthetic golden set (bench.workload) and a run of one trial per case
(answered from the case's reference, one in five with a wrong answer, written through
the real store and compacted, as `evals run` leaves it) are generated; then `evals judge`
runs as its own process, `--runs` times on fresh copies of the workspace, with
deterministic checks only (answered, key facts: no model, so the figure is the
harness's own). Its peak RSS is the kernel's high-water mark of the process (VmHWM,
written at exit by bench.peak_child: exact), not a sample: the peak of a 1,000-trial
judging is a spike of a few tens of milliseconds (compacting its verdicts) that
sampling every 100 ms caught in one run of three, which made the smaller size's
figure, and so the growth, a matter of luck. Growth is the ratio of the largest size's
median peak to the smallest's.

    python -m bench.bench_judge [--sizes 1000 100000] [--runs 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.common import PYTHON, ROOT, FakeServer, base_env, log, summary
from bench.peak_child import PEAK_FILE
from bench.workload import case_record, server_env, write_golden_set, write_suite
from evals.store.workspace import Workspace
from evals.testing.synthetic import make_trial, write_run
from judges.judge_stream import JudgingCases

RUN = "bench-judge"
JUDGES = [{"stage": "checks", "judges": [{"judge": "answered"}, {"judge": "key_facts"}]}]
BATCH = 10_000


def write_workload(folder: Path, trials: int) -> tuple[Path, Path, Path]:
    """A golden set, a run of one trial per case in a workspace, and the judges file."""
    dataset = write_golden_set(folder / "dataset", trials)
    cases = JudgingCases.load(dataset)
    refs = cases.golden.refs
    assert refs is not None
    ws = Workspace(folder / "ws")
    for start in range(0, trials, BATCH):
        batch = []
        for i in range(start, min(trials, start + BATCH)):
            answer = str(case_record(i, False)["reference"]) if i % 5 else "No idea."
            case_id = str(case_record(i, False)["id"])
            t = make_trial(RUN, case_id, refs[i].question_id, answer=answer)
            batch.append(t.model_copy(update={"case_hash": refs[i].hash}))
        if start == 0:
            write_run(ws, RUN, batch)  # the run's manifest and its first trials
        else:
            ws.writer("trial").append_many(batch)
    ws.close()
    judges = folder / "judges.yaml"
    judges.write_text(yaml.safe_dump({"judges": JUDGES}))
    return dataset, folder / "ws", judges


def peak_of(module: str, args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """`python -m module args` as a child process: its exact peak RSS in MB (VmHWM, via
    bench.peak_child), wall seconds and stdout; a failure raises with its stderr's end."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        cmd = [PYTHON, "-m", "bench.peak_child", module, *args]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(cmd, cwd=ROOT, env={**env, PEAK_FILE: str(peak_file)},
                                    stdout=out, stderr=err)
            code = proc.wait()
            wall = time.monotonic() - start
            out.seek(0), err.seek(0)
            stdout, stderr = out.read().decode(), err.read().decode()
        if code != 0:
            raise RuntimeError(f"{module} {' '.join(args[:1])} exit {code}: {stderr[-800:]}")
        return int(peak_file.read_text()) / 1024, wall, stdout


def judge_once(dataset: Path, ws: Path, judges: Path) -> dict[str, Any]:
    """`evals judge` once as a child process: exact peak RSS, wall time, the funnel."""
    args = ["judge", RUN, "--judges", str(judges), "--dataset", str(dataset), "-w", str(ws),
            "--no-progress", "--json"]  # fmt: skip
    peak, wall, stdout = peak_of("evals.cli.main", args, base_env())
    funnel = json.loads(stdout[stdout.index("{"):])
    return {
        "peak_rss_mb": peak,
        "seconds": wall,
        "candidates": funnel["candidates"],
        "survivors": funnel["survivors"],
    }


def run_with_judges(cases: int, scratch: Path, latency_ms: float = 5, lanes: int = 64) -> dict[
    str, Any
]:
    """`evals run` of a suite whose `judges:` are JUDGES (they judge the run at its
    end, streaming as `evals judge` does), against the fake server, and the same run
    with --no-judge: the judging's share is the difference of the two peaks."""
    folder = scratch / f"run-{cases}"
    dataset = write_golden_set(folder / "dataset", cases)
    suite = write_suite(folder, dataset, lanes=lanes)
    config = yaml.safe_load(suite.read_text())
    suite.write_text(yaml.safe_dump({**config, "judges": JUDGES}, sort_keys=False))
    out: dict[str, Any] = {"cases": cases}
    server = FakeServer(latency_ms)
    try:
        env = base_env(**server_env(server.url))
        for label, flag in (("run_only", "--no-judge"), ("run_and_judges", "--judge")):
            args = ["run", str(suite), "-w", str(folder / f"ws-{label}"), "--full",
                    "--no-progress", "--lanes", str(lanes), flag]  # fmt: skip
            peak, wall, _ = peak_of("evals.cli.main", args, env)
            out[label] = {"peak_rss_mb": round(peak, 1), "seconds": round(wall, 1)}
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return out


def measure(trials: int, runs: int, scratch: Path) -> dict[str, Any]:
    """Generate one size's workload and judge a fresh copy of it `runs` times."""
    folder = scratch / f"judge-{trials}"
    dataset, ws, judges = write_workload(folder, trials)
    got = []
    try:
        for _ in range(runs):
            copy = folder / "ws-run"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(ws, copy)
            got.append(judge_once(dataset, copy, judges))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "peak_rss_mb": summary([g["peak_rss_mb"] for g in got], 1),
        "peak_source": "VmHWM",
        "seconds": round(sorted(g["seconds"] for g in got)[len(got) // 2], 1),
        "candidates": got[0]["candidates"],
        "survivors": got[0]["survivors"],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run and print; returns the results (also written to --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--runs", type=int, default=1, help="judgings per size (median)")
    parser.add_argument(
        "--run-sizes", type=int, nargs="*", default=[],
        help="also `evals run` with the judges in its suite at these case counts",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-judge-"))
    by_trials: dict[str, Any] = {}
    try:
        for n in sorted(args.sizes):
            log(f"  evals judge over {n:,} trials")
            got = by_trials[str(n)] = measure(n, max(1, args.runs), scratch)
            peak = got["peak_rss_mb"]
            log(f"    peak RSS {peak['median']:.0f} MB (min {peak['min']:.0f}, max "
                f"{peak['max']:.0f}, {peak['runs']} runs), {got['seconds']:.1f}s")
        runs = []
        for n in sorted(args.run_sizes):
            log(f"  evals run with judges over {n:,} cases (and with --no-judge)")
            runs.append(run_with_judges(n, scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    sizes = sorted(int(n) for n in by_trials)
    first, last = by_trials[str(sizes[0])], by_trials[str(sizes[-1])]
    growth = last["peak_rss_mb"]["median"] / first["peak_rss_mb"]["median"]
    result: dict[str, Any] = {"by_trials": by_trials, "growth_ratio": round(growth, 2)}
    if runs:
        result["run_with_judges"] = runs
    print("evals judge (deterministic checks), peak RSS of the process:")
    for n in sizes:
        row = by_trials[str(n)]
        print(f"  {n:>9,} trials: {row['peak_rss_mb']['median']:7.1f} MB, {row['seconds']:.1f}s")
    print(f"  growth {sizes[0]:,} -> {sizes[-1]:,}: {growth:.2f}x")
    for r in runs:
        alone, both = r["run_only"]["peak_rss_mb"], r["run_and_judges"]["peak_rss_mb"]
        print(f"  evals run, {r['cases']:,} cases: {alone:.1f} MB with --no-judge, "
              f"{both:.1f} MB judged at its end")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
