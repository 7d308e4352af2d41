"""The benchmarks run end to end on a tiny profile and write well-formed results.

No timing is asserted: only that every benchmark ran, measured real work (the fake
server saw the calls) and produced its figures in bench/results.json's shape.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.bench_review_app import percentile
from bench.common import summary

pytestmark = pytest.mark.slow


def stat_ok(value: dict) -> bool:
    return value["runs"] >= 1 and value["min"] <= value["median"] <= value["max"]


def test_summary_and_percentile() -> None:
    assert summary([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "runs": 3}
    assert summary([])["median"] is None
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert percentile([1.0, 2.0], 0.95) == pytest.approx(1.95)


def test_run_all_tiny_profile(tmp_path: Path, repo_root: Path) -> None:
    out = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run_all", "--profile", "tiny", "--no-install",
         "--out", str(out)],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["profile"] == "tiny" and data["machine"]["cpus"] >= 1
    r = data["results"]
    assert set(r) == {"throughput", "gateway_cpu", "multiturn", "cached_rerun", "memory",
                      "store", "review_app", "local_model", "review_replicas",
                      "executors", "judge"}  # fmt: skip
    for name, item in r.items():
        assert item["exit_code"] == 0 and "error" not in item, (name, item)

    cell = r["throughput"]["by_lanes"]["8"]
    for harness in ("evals", "raw aiohttp"):
        h = cell["harnesses"][harness]
        assert h["failed_runs"] == [] and stat_ok(h["trials_per_s"]), (harness, h)
        assert h["trials_per_s"]["median"] > 0 and h["peak_rss_mb"]["median"] > 0
        assert stat_ok(h["cpu_ms_per_trial"]) and stat_ok(h["ratio_to_ideal"])
    assert cell["ratios"]["evals / raw aiohttp"] > 0

    per_call = r["gateway_cpu"]["cpu_ms_per_call"]  # bench_gateway_cpu.py's own shape
    assert any(k.startswith("gateway") and v["median"] > 0 for k, v in per_call.items())

    mt = r["multiturn"]
    assert mt["llm_calls_per_trial"] == 6
    assert mt["by_lanes"]["4"]["harnesses"]["evals"]["failed_runs"] == []

    rerun = r["cached_rerun"]
    assert rerun["first_run"]["llm_calls"] == 40 and rerun["first_run"]["exit_code"] == 0
    assert rerun["rerun_llm_calls_total"] == 0 and rerun["rerun_exit_codes"] == [0]
    assert stat_ok(rerun["rerun_seconds"])

    mem = r["memory"]
    assert all(s["complete"] for s in mem["by_cases"].values())
    assert mem["growth_ratio"] > 0

    store = r["store"]
    assert stat_ok(store["ingest_s"]) and stat_ok(store["compact_s"])
    assert stat_ok(store["gate_s_parquet"]) and stat_ok(store["compare_s_jsonl"])
    assert store["gate_outcome"] in ("ship", "fail", "undecided")

    judge = r["judge"]
    assert judge["by_trials"]["60"]["candidates"] == 60 and judge["growth_ratio"] > 0

    local = r["local_model"]  # bench_local_model.py's own shape
    assert local["generated_tokens_per_s"]["median"] > 0

    executors = r["executors"]["executors"]
    assert set(executors) == {"inprocess", "processes", "ray"}
    for name, row in executors.items():
        assert row["failed_runs"] == [] and stat_ok(row["trials_per_s"]), (name, row)
        assert stat_ok(row["cpu_ms_per_trial"]), (name, row)

    review = r["review_app"]
    assert review["errors"] == [] and review["claims_per_run"] == 6
    assert stat_ok(review["next_item_p50_ms"]) and stat_ok(review["next_item_p95_ms"])

    replicas = r["review_replicas"]
    assert replicas["double_assignments"] == 0 and replicas["state_equals_records"] == 1
    assert stat_ok(replicas["claim_p95_ms"]) and stat_ok(replicas["claims_per_s"])
