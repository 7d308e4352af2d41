"""Markdown tables of the figures in results files (docs/benchmarks.md's "Latest figures").

    python -m bench.report bench/results.json [bench/results-full.json ...]

Later files win for the items they hold (e.g. the full profile's throughput at 2,000
trials over the short profile's).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def s(stat: dict[str, Any] | None, digits: int = 1) -> str:
    """'median (min-max)'."""
    if not stat or stat.get("median") is None:
        return "n/a"
    return f"{stat['median']:.{digits}f} ({stat['min']:.{digits}f}-{stat['max']:.{digits}f})"


def throughput(r: dict[str, Any], what: str) -> list[str]:
    """Table of one throughput-like item."""
    out = [
        f"{what}: {r['trials']} trials, L = {r['latency_ms']:g} ms, median (min-max) of "
        f"{r['runs']} runs.",
        "",
        "| C | harness | trials/s | of ideal | CPU ms/trial | peak RSS MB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c, cell in r["by_lanes"].items():
        for name, h in cell["harnesses"].items():
            out.append(
                f"| {c} | {name} | {s(h['trials_per_s'])} | {s(h['ratio_to_ideal'], 2)} | "
                f"{s(h['cpu_ms_per_trial'], 2)} | {s(h['peak_rss_mb'], 0)} |"
            )
    out.append("")
    for c, cell in r["by_lanes"].items():
        ratios = ", ".join(f"{k}: **{v:.2f}x**" for k, v in cell.get("ratios", {}).items())
        out.append(f"- C = {c} (ideal {cell['ideal_trials_per_s']:.0f}/s): {ratios}")
        ceiling = ", ".join(f"{k}: {v:.2f}x" for k, v in cell.get("ceiling_ratios", {}).items())
        if ceiling:
            out.append(f"  - the ceiling (no client beats the raw one): {ceiling}")
    return [*out, ""]


ORDER = (
    "throughput", "gateway_cpu", "multiturn", "cached_rerun", "memory", "store", "review_app",
    "local_model", "executors", "judge",
)  # fmt: skip
"""The items in issue order (as sections() prints them)."""


def sections(results: dict[str, Any], sources: dict[str, str]) -> list[str]:
    """Every item present, in issue order."""
    out: list[str] = []

    def src(name: str) -> str:
        return f" *({sources[name]})*"

    if "throughput" in results:
        out += [f"**1. Throughput**{src('throughput')}", ""]
        out += throughput(results["throughput"], "Single-turn")
    if "gateway_cpu" in results:
        g = results["gateway_cpu"]
        out += [
            f"**2. CPU per LLM call**{src('gateway_cpu')}: {g['calls']} calls, "
            f"{g['concurrency']} in flight, L = {g['latency_ms']:g} ms, ms (min-max):",
            "",
        ]
        out += [f"- {k}: {s(v, 3)}" for k, v in g["cpu_ms_per_call"].items()]
        out += [
            f"- [{m}] " + ", ".join(f"{k} {v}" for k, v in ratio.items())
            for m, ratio in g.get("ratios", {}).items()
        ]
        out.append("")
    if "multiturn" in results:
        out += [f"**3. ReAct agent, 5 tool steps per trial**{src('multiturn')}", ""]
        out += throughput(results["multiturn"], "ReAct (6 LLM calls a trial)")
    if "cached_rerun" in results:
        c = results["cached_rerun"]
        out += [
            f"**4. Cached rerun**{src('cached_rerun')}: a finished run of {c['trials']:,} "
            f"trials rerun in {s(c['rerun_seconds'], 2)} s (whole `evals run` process), "
            f"**{c['rerun_llm_calls_total']} LLM calls** over {c['rerun_seconds']['runs']} "
            f"reruns (the fake server's count); first run {c['first_run']['seconds']} s.",
            "",
        ]
    if "memory" in results:
        m = results["memory"]
        sizes = "; ".join(
            f"{int(n):,} cases {s(v['peak_rss_mb'], 0)} MB"
            + (f" (sampled {s(v['sampled_peak_rss_mb'], 0)})" if "sampled_peak_rss_mb" in v else "")
            for n, v in m["by_cases"].items()
        )
        first: dict[str, Any] = next(iter(m["by_cases"].values()), {})
        method = first.get("peak_method")
        sizes += f" (one process's peak: {method}; process trees sampled)" if method else ""
        along = m.get("at_smallest", {})
        extra = "; ".join(
            [f"`--workers {w}` {s(v, 0)} MB" for w, v in along.get("workers", {}).items()]
            + [f"{name} {s(v, 0)} MB" for name, v in along.get("peers", {}).items()]
        )
        extra = f" At {along['cases']:,} cases in the same run: {extra}." if extra else ""
        out += [
            f"**5. Peak RSS of a run**{src('memory')}: {sizes}; growth x{m['growth_ratio']} "
            f"({m['mb_per_1000_cases']} MB per 1,000 cases).{extra}",
            "",
        ]
    if "store" in results:
        st = results["store"]
        out += [
            f"**6. Store**{src('store')}: {st['trials']:,} trial records. Ingest "
            f"{s(st['ingest_s'])} s ({st['ingest_trials_per_s']['median']:,.0f}/s); gate "
            f"(load both runs + evaluate) {s(st['gate_s_jsonl'])} s over JSONL, "
            f"{s(st['gate_s_parquet'])} s over Parquet; comparison {s(st['compare_s_jsonl'])} "
            f"s / {s(st['compare_s_parquet'])} s; compaction {s(st['compact_s'])} s "
            f"({st['jsonl_mb']['median']:.0f} MB JSONL to {st['parquet_mb']['median']:.0f} MB "
            "Parquet).",
            "",
        ]
        if "cli_gate_s" in st:
            out[-1:] = [
                f"  As processes over the compacted store: `evals gate` {s(st['cli_gate_s'])} "
                f"s, `evals compare` {s(st['cli_compare_s'])} s, `evals report` "
                f"{s(st['cli_report_s'])} s; finished-key lookup "
                f"{s(st['finished_keys_s'], 2)} s ({st['finished_keys']:,} keys).",
                "",
            ]
    if "review_app" in results:
        rv = results["review_app"]
        out += [
            f"**7. Review app**{src('review_app')}: {rv['queued']:,} queued items, "
            f"{rv['sessions']} concurrent sessions: next-item latency p50 "
            f"{s(rv['next_item_p50_ms'], 0)} ms, p95 {s(rv['next_item_p95_ms'], 0)} ms; "
            f"submit p50 {s(rv['submit_p50_ms'], 0)} ms.",
            "",
        ]
    if "local_model" in results:
        lm = results["local_model"]
        per_turn = lm.get("react_prompt_tokens_per_turn", {})
        total = lm.get("react_prompt_tokens_total", {})
        out += [
            f"**8. Local model**{src('local_model')}: prompt "
            f"{s(lm.get('prompt_tokens_per_s'))} tokens/s, generation "
            f"{s(lm.get('generated_tokens_per_s'))} tokens/s; 5-turn ReAct prompt tokens "
            f"processed per turn without the prefix cache {per_turn.get('uncached')} (total "
            f"{total.get('uncached')}), with it {per_turn.get('cached')} (total "
            f"{total.get('cached')}).",
            "",
        ]
    if "executors" in results:
        ex = results["executors"]
        rows = "; ".join(
            f"{name} {s(v['trials_per_s'])}/s, {s(v['cpu_ms_per_trial'], 2)} ms CPU/trial"
            for name, v in ex["executors"].items()
        )
        out += [
            f"**9. Executors**{src('executors')}: {ex['trials']:,} single-turn trials, "
            f"C = {ex['lanes']}, L = {ex['latency_ms']:g} ms (ideal "
            f"{ex['ideal_trials_per_s']:.0f}/s): {rows} (processes: {ex['workers']} workers; "
            "ray: two nodes on this machine, 4 actors, CPU of the whole cluster).",
            "",
        ]
    if "judge" in results:
        j = results["judge"]
        sizes = "; ".join(
            f"{int(n):,} trials {s(v['peak_rss_mb'], 0)} MB ({v['seconds']} s)"
            for n, v in j["by_trials"].items()
        )
        out += [
            f"**10. `evals judge`**{src('judge')} (deterministic checks), peak RSS: {sizes}; "
            f"growth x{j['growth_ratio']}.",
            "",
        ]
    return out


def main() -> None:
    """Print the tables."""
    results: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for arg in sys.argv[1:]:
        data = json.loads(Path(arg).read_text())
        for name, item in data.get("results", {}).items():
            if "error" not in item:
                results[name] = item
                when = item.get("when", data.get("when", ""))[:16]
                sources[name] = f"{data.get('profile')} profile, {when}"
    print("\n".join(sections(results, sources)))


if __name__ == "__main__":
    main()
