"""Item 6: the store at scale: ingest 1M trial records, query them, compact them.

Two runs of N/2 trials each (a baseline and a candidate over the same cases, 20
questions, small traces: one tool call and a final answer), appended through
`Workspace.writer("trial").append_many` in batches of 1,000 (each record enveloped,
hash-chained and written as the runner writes it). The records are built from one
`evals.testing.synthetic.make_trial` template with the per-trial fields changed, so the figure
is the store's cost, not pydantic's. Then, timed:

- the gate: `load_run` of the candidate and the baseline (DuckDB over the segments)
  and `evaluate_gate` with rate, cost, latency and non-inferiority checks, overall and
  per question, over the JSONL segments as written and again after compaction;
- the comparison: `compare_runs` (paired by case, overall and per question) on the
  loaded runs, and end to end (loads included);
- compaction: `Workspace.close()` sealing and compacting the segment to Parquet (with
  the typed columns of evals.store.typed_columns);
- over the compacted segments, the same gate and comparison with the typed columns
  switched off (EVALS_TYPED_COLUMNS=0: every body parsed, the path before issue 18's
  item 3), and, each as its own process as a user runs it (interpreter start and imports
  included): `evals gate` (without recording the decision), `evals compare` and
  `evals report` (their default html, md and json), and the runner's finished-key lookup
  (`evals.run.plan.finished_keys`, after the imports, as `evals run` does it).

    python -m bench.bench_store [--trials 1000000] [--runs 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import PYTHON, ROOT, base_env, fmt, log, summary
from evals.analysis.compare import compare_runs
from evals.analysis.gates import Gate, GateSpec, evaluate_gate
from evals.analysis.rundata import OutcomeSpec, RunRef, load_run
from evals.schema import GateThresholds, ModelSpec, RunManifest
from evals.store.workspace import Workspace
from evals.testing.synthetic import AGENT, make_trial

QUESTIONS = 20
BATCH = 1000
OUTCOME = OutcomeSpec(source="imported", imported_threshold=0.5)
GATE = Gate(
    path="bench-gate.yaml",
    spec=GateSpec(
        name="bench",
        outcome=OUTCOME,
        overall=GateThresholds(
            min_judge_pass_rate=0.6,
            max_cost_per_trial=0.05,
            max_p95_latency_s=60,
            noninferiority_margin=0.05,
        ),
        every_question=GateThresholds(min_judge_pass_rate=0.5),
    ),
)


def ingest(ws: Workspace, run_id: str, model: str, trials: int) -> float:
    """Append one run's manifest and trials; returns the seconds taken."""
    template = make_trial(run_id, "c0", "q0", model_alias=model, tool_calls=1).model_dump(
        mode="json"
    )
    trace = template["trace"]
    ws.append(
        "run",
        RunManifest(
            run_id=run_id,
            suite="bench",
            suite_hash="bench",
            dataset="synthetic",
            dataset_hash="dataset-hash",
            models=[ModelSpec(alias=model, model=f"openai/{model}")],
            prompts=["v1"],
            agent=AGENT,
            source="import",
        ),
    )
    writer = ws.writer("trial")
    salt = 0 if model == "base" else 7
    start = time.perf_counter()
    for first in range(0, trials, BATCH):
        batch = []
        for i in range(first, min(trials, first + BATCH)):
            record = dict(template)
            record["key"] = f"{run_id}-{i:08d}"
            record["case_id"] = f"c{i:08d}"
            record["case_hash"] = f"h{i:08d}"
            record["question_id"] = f"q{i % QUESTIONS}"
            record["imported_outcome"] = 1.0 if (i * 31 + salt) % 10 < 8 else 0.0
            record["trace"] = {**trace, "latency_s": 0.5 + (i % 97) / 10}
            batch.append(record)
        writer.append_many(batch)
    return time.perf_counter() - start


def time_gate(ws: Workspace, base_id: str, cand_id: str) -> dict[str, Any]:
    """Load both runs, evaluate the gate, compare them: seconds of each step."""
    t0 = time.perf_counter()
    cand = load_run(ws, RunRef(cand_id), OUTCOME, single_cell=True)
    base = load_run(ws, RunRef(base_id), OUTCOME, single_cell=True)
    t1 = time.perf_counter()
    decision = evaluate_gate(GATE, cand, base)
    t2 = time.perf_counter()
    comparison = compare_runs(base, cand, [0.05])
    t3 = time.perf_counter()
    return {
        "load_s": t1 - t0,
        "gate_s": t2 - t0,
        "gate_eval_s": t2 - t1,
        "compare_s": (t1 - t0) + (t3 - t2),
        "compare_eval_s": t3 - t2,
        "outcome": decision.outcome,
        "checks": len(decision.checks),
        "pairs": comparison.overall.model_dump().get("pairs", None),
        "trials_loaded": len(cand.trials) + len(base.trials),
    }


GATE_YAML = """name: bench
outcome: {source: imported, imported_threshold: 0.5}
overall: {min_judge_pass_rate: 0.6, max_cost_per_trial: 0.05, max_p95_latency_s: 60,
          noninferiority_margin: 0.05}
every_question: {min_judge_pass_rate: 0.5}
"""
"""GATE as a gate file, for the CLI."""

FINISHED = (
    "import sys, time; from evals.run.plan import finished_keys; from evals.store import "
    "Workspace; from evals.store.query import load_view_modules; load_view_modules(); "
    "ws = Workspace(sys.argv[1]); t = time.perf_counter(); n = "
    "len(finished_keys(ws)); print(time.perf_counter() - t, n)"
)


def _timed(cmd: list[str]) -> float:
    """Wall seconds of one process (its exit code is a gate's outcome: not checked)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=base_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 3, 4):
        raise RuntimeError(f"{' '.join(cmd[:5])}: exit {proc.returncode}: {proc.stderr[-500:]}")
    return elapsed


def time_cli(root: Path) -> dict[str, float]:
    """`evals gate`, `evals compare`, `evals report` and the finished-key lookup, each
    in a fresh process."""
    gate = root.parent / "bench-gate.yaml"
    gate.write_text(GATE_YAML)
    evals = [PYTHON, "-m", "evals.cli.main"]
    ws = ["-w", str(root)]
    out = {
        "gate_s": _timed([*evals, "gate", str(gate), "--run", "bench-cand", "--baseline",
                          "bench-base", "--no-record", *ws]),
        "compare_s": _timed([*evals, "compare", "bench-base", "bench-cand", "--out",
                             str(root.parent / "compare"), *ws]),
        "report_s": _timed([*evals, "report", "bench-cand", "--out",
                            str(root.parent / "report"), *ws]),
    }
    proc = subprocess.run([PYTHON, "-c", FINISHED, str(root)], cwd=ROOT, env=base_env(),
                          capture_output=True, text=True, check=True)
    seconds, keys = proc.stdout.strip().splitlines()[-1].split()  # after any log line
    out["finished_keys_s"], out["finished_keys"] = float(seconds), int(keys)
    return out


def one_run(trials: int, scratch: Path, skip: set[str]) -> dict[str, Any]:
    """Ingest, query, compact, query again (`skip`: phases left out, see --skip)."""
    root = scratch / f"ws-{time.monotonic_ns()}"
    ws = Workspace(root)
    half = trials // 2
    ingest_s = ingest(ws, "bench-base", "base", half)
    ingest_s += ingest(ws, "bench-cand", "cand", trials - half)
    ws.writer("trial").append_many([])  # nothing buffered: every write went to the file
    jsonl_bytes = sum(p.stat().st_size for p in ws.segments("trial"))
    log(f"    ingested {trials} trials in {ingest_s:.1f}s ({jsonl_bytes / 2**20:.0f} MB JSONL)")
    before = {} if "jsonl" in skip else time_gate(ws, "bench-base", "bench-cand")
    if before:
        log(f"    gate over JSONL {before['gate_s']:.1f}s, compare {before['compare_s']:.1f}s")
    start = time.perf_counter()
    ws.close(compact=True)
    compact_s = time.perf_counter() - start
    parquet_bytes = sum(p.stat().st_size for p in Workspace(root).segments("trial"))
    after = time_gate(Workspace(root), "bench-base", "bench-cand")
    log(
        f"    compaction {compact_s:.1f}s; gate over Parquet {after['gate_s']:.1f}s, "
        f"compare {after['compare_s']:.1f}s"
    )
    body: dict[str, Any] = {}
    if "bodies" not in skip:
        os.environ["EVALS_TYPED_COLUMNS"] = "0"
        try:
            body = time_gate(Workspace(root), "bench-base", "bench-cand")
        finally:
            del os.environ["EVALS_TYPED_COLUMNS"]
        log(f"    bodies parsed instead: gate {body['gate_s']:.1f}s, "
            f"compare {body['compare_s']:.1f}s")
    cli = time_cli(root)
    log(
        f"    CLI: evals gate {cli['gate_s']:.1f}s, compare {cli['compare_s']:.1f}s, report "
        f"{cli['report_s']:.1f}s; finished keys {cli['finished_keys_s']:.2f}s "
        f"({cli['finished_keys']:,} keys)"
    )
    shutil.rmtree(root, ignore_errors=True)
    return {
        "ingest_s": ingest_s,
        "ingest_per_s": trials / ingest_s,
        "jsonl_mb": jsonl_bytes / 2**20,
        "parquet_mb": parquet_bytes / 2**20,
        "compact_s": compact_s,
        "jsonl": before,
        "parquet": after,
        "parquet_bodies": body,
        "cli": cli,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run and print; returns the results (also written to --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--skip", default="", help="phases to leave out: jsonl (the queries before "
        "compaction), bodies (the queries with typed columns off); at 1M each takes minutes"
    )
    args = parser.parse_args(argv)
    skip = {p for p in args.skip.split(",") if p}
    scratch = Path(tempfile.mkdtemp(prefix="bench-store-"))
    found = []
    try:
        for run in range(args.runs):
            log(f"  run {run + 1}/{args.runs}: {args.trials} trials")
            found.append(one_run(args.trials, scratch, skip))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    def s(get: Any, digits: int = 2) -> dict[str, Any]:
        try:
            return summary([get(r) for r in found], digits)
        except KeyError:  # a skipped phase: printed n/a, "not measured" in the table
            return {"median": None, "runs": 0}

    result = {
        "trials": args.trials,
        "ingest_s": s(lambda r: r["ingest_s"]),
        "ingest_trials_per_s": s(lambda r: r["ingest_per_s"], 0),
        "jsonl_mb": s(lambda r: r["jsonl_mb"], 0),
        "parquet_mb": s(lambda r: r["parquet_mb"], 0),
        "compact_s": s(lambda r: r["compact_s"]),
        "gate_s_jsonl": s(lambda r: r["jsonl"]["gate_s"]),
        "compare_s_jsonl": s(lambda r: r["jsonl"]["compare_s"]),
        "gate_s_parquet": s(lambda r: r["parquet"]["gate_s"]),
        "compare_s_parquet": s(lambda r: r["parquet"]["compare_s"]),
        "load_both_runs_s_parquet": s(lambda r: r["parquet"]["load_s"]),
        "gate_s_parquet_bodies": s(lambda r: r["parquet_bodies"]["gate_s"]),
        "compare_s_parquet_bodies": s(lambda r: r["parquet_bodies"]["compare_s"]),
        "load_both_runs_s_parquet_bodies": s(lambda r: r["parquet_bodies"]["load_s"]),
        "cli_gate_s": s(lambda r: r["cli"]["gate_s"]),
        "cli_compare_s": s(lambda r: r["cli"]["compare_s"]),
        "cli_report_s": s(lambda r: r["cli"]["report_s"]),
        "finished_keys_s": s(lambda r: r["cli"]["finished_keys_s"]),
        "finished_keys": found[-1]["cli"]["finished_keys"] if found else None,
        "gate_outcome": found[-1]["parquet"]["outcome"] if found else None,
        "gate_checks": found[-1]["parquet"]["checks"] if found else None,
    }
    print(f"Store: {args.trials:,} trial records (two runs, {QUESTIONS} questions)")
    print(
        f"  ingest (append_many): {fmt(result['ingest_s'], 's')}, "
        f"{result['ingest_trials_per_s']['median']:,.0f} trials/s"
    )
    print(
        f"  gate (load both runs + evaluate): JSONL {fmt(result['gate_s_jsonl'], 's')}; "
        f"Parquet {fmt(result['gate_s_parquet'], 's')}"
    )
    print(
        f"  comparison (load + compare_runs): JSONL {fmt(result['compare_s_jsonl'], 's')}; "
        f"Parquet {fmt(result['compare_s_parquet'], 's')}"
    )
    print(
        f"  same over Parquet, bodies parsed (EVALS_TYPED_COLUMNS=0): gate "
        f"{fmt(result['gate_s_parquet_bodies'], 's')}, comparison "
        f"{fmt(result['compare_s_parquet_bodies'], 's')}"
    )
    print(
        f"  CLI processes: evals gate {fmt(result['cli_gate_s'], 's')}, evals compare "
        f"{fmt(result['cli_compare_s'], 's')}, evals report {fmt(result['cli_report_s'], 's')}"
    )
    print(
        f"  finished-key lookup: {fmt(result['finished_keys_s'], 's', 2)} "
        f"({result['finished_keys'] or 0:,} keys)"
    )
    print(
        f"  compaction to Parquet: {fmt(result['compact_s'], 's')} "
        f"({result['jsonl_mb']['median']:.0f} MB JSONL -> "
        f"{result['parquet_mb']['median']:.0f} MB Parquet)"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
