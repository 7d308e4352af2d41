"""Item 3: the ReAct agent with five tool steps per trial, measured as in item 1.

The fake server's ``react5`` script answers every trial's first five calls with one
tool call each (``lookup``, answered by the ToolBox from the case's recorded fixtures)
and the sixth with the final answer: six LLM calls and five tool steps per trial. The
ideal is C / (6 L). The raw aiohttp client runs the same six-request conversations.

    python -m bench.bench_multiturn [--trials 500] [--lanes 64 256] [--latency-ms 200]
        [--runs 3] [--workers 1 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.bench_throughput import (
    Runner,
    best_of_ours,
    harness_runner,
    measure_all,
    raw_runner,
    report,
    summarise,
)
from bench.fakesrv import REACT_STEPS

CALLS = REACT_STEPS + 1
"""LLM calls per trial: five tool calls, then the answer."""


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run and print; returns the results (also written to --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--lanes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    runners: dict[str, Runner] = {}
    for w in args.workers:
        name = "evals" if w == 1 else f"evals --workers {w}"
        runners[name] = harness_runner(w, script="react5", calls_per_trial=CALLS)
    runners["raw aiohttp"] = raw_runner(CALLS)
    found = measure_all(
        runners,
        trials=args.trials,
        lanes=args.lanes,
        latency_ms=args.latency_ms,
        runs=args.runs,
        script="react5",
    )
    best = best_of_ours(found, args.lanes)
    result = {
        "trials": args.trials,
        "llm_calls_per_trial": CALLS,
        "tool_steps_per_trial": REACT_STEPS,
        "latency_ms": args.latency_ms,
        "runs": args.runs,
        "ours": best,
        "by_lanes": summarise(found, args.latency_ms, best, CALLS),
    }
    report(result["by_lanes"], args.trials, args.latency_ms, f"ReAct ({REACT_STEPS} tool steps)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
