"""CPU per LLM call: raw aiohttp vs bare litellm.acompletion vs the harness gateway.

Starts the fake OpenAI-compatible server (`evals fake-llm`) in its own process at a fixed
latency, then makes the same single-turn calls (distinct prompts, C in flight) with:

- aiohttp: a raw client posting the JSON body (the practical floor);
- litellm: bare `litellm.acompletion(model=MODEL, api_base=..., api_key=...)`;
- gateway: `evals.models.Gateway.complete` on a ModelSpec with the same model string,
  without the response cache;
- gateway+cache: the same with the on-disk response cache (every call a miss + a write);
- gateway[litellm]: the gateway forced onto litellm (`transport: litellm`), without the
  cache: `openai/` and `hosted_vllm/` models take the gateway's direct HTTP path by
  default, so this is what the gateway adds over bare litellm for every other provider;

for each model string in --models (default: `openai/fake`, litellm's OpenAI SDK path,
and `hosted_vllm/fake`, its own HTTP handler for self-hosted OpenAI-compatible servers,
which the gateway uses for the embedded local model). Every (mode, run) is measured in a
fresh process, so nothing one mode does to litellm's globals helps or hurts another.

Prints CPU ms per call of the client process (the server's CPU is not counted), the
median of --runs runs with min and max, and the ratios to bare litellm. No pass/fail.

    .venv/bin/python bench/bench_gateway_cpu.py [--calls 1000] [--concurrency 64]
        [--latency-ms 200] [--runs 3] [--models openai/fake,hosted_vllm/fake] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parent.parent
MODES = ("litellm", "gateway", "gateway+cache", "gateway[litellm]")


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def messages(i: int, run: int, mode: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You answer due-diligence questions tersely."},
        {"role": "user", "content": f"[{mode} {run}] Registered address of company {i}?"},
    ]


async def measure(call: Callable[[int], Awaitable[object]], calls: int, lanes: int) -> float:
    """CPU ms per call over `calls` calls with `lanes` in flight (after a warm-up)."""
    semaphore = asyncio.Semaphore(lanes)

    async def one(i: int) -> None:
        async with semaphore:
            await call(i)

    await asyncio.gather(*(one(-1 - i) for i in range(lanes)))
    before = cpu_s()
    await asyncio.gather(*(one(i) for i in range(calls)))
    await asyncio.sleep(0.3)  # let litellm's deferred logging tasks finish: they are its cost
    return (cpu_s() - before) * 1000.0 / calls


async def run_mode(mode: str, model: str, url: str, run: int, calls: int, lanes: int) -> float:
    if mode == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=lanes)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def raw(i: int) -> object:
                body = {"model": "fake", "messages": messages(i, run, mode)}
                async with session.post(
                    url + "/chat/completions",
                    json=body,
                    headers={"Authorization": "Bearer sk-fake"},
                ) as reply:
                    return await reply.json()

            return await measure(raw, calls, lanes)
    if mode == "litellm":
        import litellm

        litellm.suppress_debug_info = True

        async def bare(i: int) -> object:
            return await litellm.acompletion(
                model=model, api_base=url, api_key="sk-fake", messages=messages(i, run, mode)
            )

        return await measure(bare, calls, lanes)
    from evals.models import Gateway
    from evals.schema import ModelSpec

    os.environ["BENCH_FAKE_KEY"] = "sk-fake"
    spec = ModelSpec(
        alias="fake",
        model=model,
        params={"api_base": url},
        api_key_env="BENCH_FAKE_KEY",
        max_concurrency=lanes,
        transport="litellm" if mode == "gateway[litellm]" else "auto",
    )
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = Path(tmp) if mode == "gateway+cache" else None
        gateway = Gateway([spec], cache_dir=cache_dir)

        async def gated(i: int) -> object:
            return await gateway.complete("fake", messages(i, run, mode))

        try:
            return await measure(gated, calls, lanes)
        finally:
            gateway.close()


def worker(args: argparse.Namespace) -> None:
    """One measurement in this process: print CPU ms per call."""
    mode, model = args.worker.split("@", 1)
    print(asyncio.run(run_mode(mode, model, args.url, args.run, args.calls, args.concurrency)))


def measure_in_subprocess(key: str, url: str, run: int, args: argparse.Namespace) -> float:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            key,
            "--url",
            url,
            "--run",
            str(run),
            "--calls",
            str(args.calls),
            "--concurrency",
            str(args.concurrency),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--models", default="openai/fake,hosted_vllm/fake")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    keys = ["aiohttp@-"] + [f"{mode}@{model}" for model in args.models.split(",") for mode in MODES]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evals.cli.main",
            "fake-llm",
            "--port",
            "0",
            "--latency-ms",
            str(args.latency_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip().rsplit(" ", 1)[-1]
        results: dict[str, list[float]] = {key: [] for key in keys}
        for run in range(args.runs):  # interleaved, so drift in machine load hits all modes
            for key in keys:
                results[key].append(measure_in_subprocess(key, url, run, args))
    finally:
        server.terminate()
        server.wait(timeout=10)
    report(results, args)


def report(results: dict[str, list[float]], args: argparse.Namespace) -> None:
    medians = {key: statistics.median(values) for key, values in results.items()}
    ratios = {}
    for model in args.models.split(","):
        bare = medians[f"litellm@{model}"]
        ratios[model] = {
            "gateway_over_litellm": round(medians[f"gateway@{model}"] / bare, 3),
            "gateway_cache_over_litellm": round(medians[f"gateway+cache@{model}"] / bare, 3),
            "gateway_litellm_over_litellm": round(medians[f"gateway[litellm]@{model}"] / bare, 3),
            "gateway_over_aiohttp": round(medians[f"gateway@{model}"] / medians["aiohttp@-"], 2),
            "litellm_over_aiohttp": round(bare / medians["aiohttp@-"], 1),
        }
    summary = {
        "calls": args.calls,
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "runs": args.runs,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "cpu_ms_per_call": {
            k: {"median": round(medians[k], 3), "min": round(min(v), 3), "max": round(max(v), 3)}
            for k, v in results.items()
        },
        "ratios": ratios,
    }
    if args.json:
        print(json.dumps(summary))
        return
    print(
        f"CPU ms per call: {args.calls} calls, {args.concurrency} in flight, "
        f"fake server at {args.latency_ms:g} ms, median of {args.runs} (min-max)"
    )
    for key, values in results.items():
        mode, model = key.split("@")
        label = mode if model == "-" else f"{mode} [{model}]"
        print(f"  {label:<32} {medians[key]:7.3f}  ({min(values):.3f}-{max(values):.3f})")
    for model, ratio in ratios.items():
        print(
            f"  [{model}] gateway / bare litellm {ratio['gateway_over_litellm']:.3f}, "
            f"gateway+cache / bare litellm {ratio['gateway_cache_over_litellm']:.3f}, "
            f"bare litellm / raw aiohttp {ratio['litellm_over_aiohttp']:.1f}x"
        )


if __name__ == "__main__":
    main()
