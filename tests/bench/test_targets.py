"""The targets table and the generated block of docs/benchmarks.md (no timing asserted: the
table's verdicts are computed from given figures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import readme, targets
from bench.targets import MET, NOT_MET, UNMEASURED


def stat(value: float) -> dict[str, Any]:
    return {"median": value, "min": value, "max": value, "runs": 1}


def harnesses(**rates: tuple[float, float]) -> dict[str, Any]:
    return {
        name.replace("_", " "): {"trials_per_s": stat(rate), "cpu_ms_per_trial": stat(cpu)}
        for name, (rate, cpu) in rates.items()
    }


RESULTS: dict[str, Any] = {
    "throughput": {
        "ours": "evals",
        "by_lanes": {
            "64": {
                "harnesses": harnesses(evals=(280, 0.6), raw_aiohttp=(300, 0.2), inspect=(70, 14))
            },
            "256": {"harnesses": harnesses(evals=(600, 1.2), raw_aiohttp=(1000, 0.2))},
        },
    },
    "memory": {
        "by_cases": {"1000": {"peak_rss_mb": stat(180)}, "10000": {"peak_rss_mb": stat(300)}},
        "at_smallest": {
            "cases": 1000,
            "workers": {"2": stat(320)},
            "peers": {"inspect": stat(215), "raw aiohttp": stat(43)},
        },
    },
    "store": {"trials": 50_000, "gate_s_parquet": stat(1.6), "compare_s_parquet": stat(7.0)},
    "cached_rerun": {"rerun_seconds": stat(1.9), "rerun_llm_calls_total": 0},
}


def by_target(rows: list[targets.Row]) -> dict[str, targets.Row]:
    return {row.target: row for row in rows}


def test_verdicts_follow_the_figures_of_one_run() -> None:
    rows = by_target(targets.evaluate(RESULTS))
    row = rows["trials/s at 64 lanes vs raw aiohttp"]
    assert (row.ours, row.ceiling, row.ratio, row.status) == (
        "280/s (evals)",
        "300/s",
        "0.93x",
        MET,
    )
    assert rows["trials/s at 256 lanes vs raw aiohttp"].status == NOT_MET  # 0.60 < 0.70
    cpu = rows["harness CPU per single-turn trial (worst lane count)"]
    assert cpu.ours.startswith("1.20 ms") and cpu.status == NOT_MET
    assert rows["trials/s at 64 lanes vs inspect"].status == MET  # 4.0x
    assert rows["trials/s at 256 lanes vs inspect"].status == UNMEASURED  # no Inspect there
    memory = rows["peak RSS of one `evals run`, 1000 cases"]
    assert (memory.peer, memory.ratio, memory.status) == ("215 MB", "0.84x", MET)
    growth = rows["peak RSS growth from 1,000 to 10,000 cases"]
    assert growth.status == NOT_MET  # 1.67x, already over before 100k
    assert rows["peak RSS of `evals run --workers 2` (process tree)"].status == NOT_MET
    assert rows["`evals gate` over 1M trial records"].status == UNMEASURED  # only 50k
    assert rows["`evals compare` over 1M trial records"].status == NOT_MET  # over at 50k
    assert rows["cached rerun of 10,000 trials"].status == MET
    assert rows["`evals judge` memory flat from 1k to 100k trials"].status == UNMEASURED


def test_a_failed_benchmark_is_not_measured_not_met() -> None:
    rows = by_target(targets.evaluate({"throughput": {"error": "exit code 1, no result"}}))
    assert rows["trials/s at 64 lanes vs raw aiohttp"].status == UNMEASURED
    table = targets.text(list(rows.values()))
    assert table.splitlines()[-1].startswith("0 met, 0 not met")


def test_the_block_is_rewritten_between_the_markers(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(
        json.dumps({"profile": "short", "when": "2026-12-01T20:00", "results": RESULTS})
    )
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Title\n\nkept\n\n{readme.BEGIN}\nold figures 123\n{readme.END}\n\nafter\n")
    args = ["--results", str(results), "--page", str(page)]
    assert readme.main([*args, "--check"]) == 1  # stale
    assert readme.main(args) == 0
    text = page.read_text()
    assert (
        "old figures" not in text
        and text.startswith("# Title\n\nkept\n")
        and text.endswith("after\n")
    )
    assert "| 18.1 | trials/s at 64 lanes vs raw aiohttp | 280/s (evals) |" in text
    assert readme.main([*args, "--check"]) == 0
    readme.main(args)
    assert page.read_text() == text  # idempotent
    # The option's old name still works.
    assert readme.main(["--results", str(results), "--readme", str(page), "--check"]) == 0


def test_readme_without_markers_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# no markers\n")
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"results": {}}))
    assert readme.main(["--results", str(results), "--page", str(page)]) == 2
    with pytest.raises(readme.MarkerError):
        readme.rewrite("x", "y")


def test_the_repository_page_matches_its_results(repo_root: Path) -> None:
    """docs/benchmarks.md's figures are the ones bench/results.json gives (never typed by
    hand), and they live there only: the README links to them."""
    assert repo_root / "docs" / "benchmarks.md" == readme.PAGE
    assert readme.main(["--check"]) == 0
    assert readme.BEGIN not in (repo_root / "README.md").read_text()


def test_store_rows_read_the_commands_and_the_finished_key_lookup() -> None:
    store = {
        "trials": 1_000_000,
        "cli_gate_s": stat(4.2),
        "gate_s_parquet": stat(9.0),  # the library figure: the command's wins
        "gate_s_parquet_bodies": stat(30.0),
        "cli_compare_s": stat(6.0),
        "cli_report_s": stat(4.9),
        "finished_keys_s": stat(0.8),
    }
    rows = by_target(targets.store_rows(store))
    gate = rows["`evals gate` over 1M trial records"]
    assert (gate.ours, gate.status) == ("4.2 s at 1,000,000", MET)
    assert gate.peer.startswith("30.0 s bodies parsed")
    assert rows["`evals compare` over 1M trial records"].status == NOT_MET
    assert rows["`evals report` over 1M trial records"].status == MET
    keys = rows["finished-key lookup at 1M keys"]
    assert (keys.ours, keys.status) == ("0.80 s at 1,000,000", MET)
    small = by_target(targets.store_rows({**store, "trials": 50_000}))
    assert small["`evals gate` over 1M trial records"].status == UNMEASURED
    assert small["`evals compare` over 1M trial records"].status == NOT_MET  # over at 50k


def test_judge_memory_row() -> None:
    def judge(low: float, high: float, large: int) -> targets.Row:
        by = {"1000": {"peak_rss_mb": stat(low)}, str(large): {"peak_rss_mb": stat(high)}}
        return targets.judge_rows({"by_trials": by})[0]

    assert (judge(150, 170, 100_000).ratio, judge(150, 170, 100_000).status) == ("1.13x", MET)
    assert judge(150, 200, 100_000).status == NOT_MET
    assert judge(150, 200, 10_000).status == NOT_MET  # over before 100k
    assert judge(150, 160, 10_000).status == UNMEASURED
