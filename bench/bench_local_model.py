"""The embedded local model (SmolLM2-135M-Instruct on llama.cpp via xllamacpp): startup,
prompt and generation speed, and what llama.cpp's prompt (prefix) cache saves a ReAct loop.

- startup: seconds from LocalServer.start() to a healthy /health;
- prompt tokens/s and generated tokens/s, from llama.cpp's own `timings` (a ~300-token
  prompt, 128 generated tokens, free text and under a JSON schema);
- a 5-turn ReAct trace replayed turn by turn (system + question, then per turn an
  action and its observation), once with `cache_prompt: true` and once without: prompt
  tokens llama.cpp actually processed per turn. Without the cache the total grows
  quadratically with the turns; with it, linearly.

Each figure is the median of --runs runs (min-max). No pass/fail.

    python -m bench.bench_local_model [--runs 3] [--threads N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import summary
from evals.models.local import LocalServer

SYSTEM = (
    "You are a due-diligence research assistant. You answer questions about a "
    "company under review by calling tools: registry_lookup(name), "
    "get_ownership(company_id), screen_name(name), country_risk(country). Think, "
    "then act with one JSON action a turn, then read the observation. "
) * 3
PROMPT = (
    "Summarise what a reviewer must check before onboarding a payments merchant: "
    "registration, ownership above 25 percent, sanctions screening of owners and "
    "officers, country risk, adverse media. "
) * 6
SCHEMA = {
    "type": "object",
    "required": ["answer", "risks"],
    "properties": {
        "answer": {"type": "string"},
        "risks": {"type": "array", "items": {"type": "string"}},
    },
}
TURNS = [
    (
        '{"action": "registry_lookup", "args": {"name": "ACME Trading Ltd"}}',
        '{"company_id": "GB-0412", "status": "active", "incorporated": "2011-03-02", '
        '"address": "12 Harbour St, Leeds"}',
    ),
    (
        '{"action": "get_ownership", "args": {"company_id": "GB-0412"}}',
        '{"owners": [{"name": "J. Smith", "share": 0.6}, {"name": "Orbis Holdings", '
        '"share": 0.4, "country": "CY"}]}',
    ),
    (
        '{"action": "screen_name", "args": {"name": "J. Smith"}}',
        '{"matches": [], "lists": ["OFAC SDN", "UN", "EU"]}',
    ),
    (
        '{"action": "screen_name", "args": {"name": "Orbis Holdings"}}',
        '{"matches": [{"list": "EU", "score": 0.62, "name": "ORBIS HOLDING SA"}]}',
    ),
    (
        '{"action": "country_risk", "args": {"country": "CY"}}',
        '{"country": "CY", "risk": "medium", "fatf": "not listed"}',
    ),
]


def post(server: LocalServer, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        server.base_url + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {server.api_key}"},
    )
    with urllib.request.urlopen(request, timeout=600) as reply:
        result: dict[str, Any] = json.loads(reply.read())
        return result


def speeds(server: LocalServer, run: int, schema: bool) -> tuple[float, float]:
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": f"[{run}] {PROMPT}"}],
        "max_tokens": 128,
        "temperature": 0,
        "cache_prompt": False,
        "ignore_eos": not schema,
    }
    if schema:
        body["json_schema"] = SCHEMA
    timings = post(server, body)["timings"]
    return float(timings["prompt_per_second"]), float(timings["predicted_per_second"])


def react_prompt_tokens(server: LocalServer, run: int, cache: bool) -> list[int]:
    """Prompt tokens llama.cpp processed at each turn of a growing ReAct conversation."""
    messages: list[dict[str, str]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"[{run} {cache}] Is ACME Trading Ltd safe to onboard?"},
    ]
    processed = []
    for action, observation in TURNS:
        reply = post(
            server, {"messages": messages, "max_tokens": 1, "temperature": 0, "cache_prompt": cache}
        )
        processed.append(int(reply["timings"]["prompt_n"]))
        messages += [
            {"role": "assistant", "content": action},
            {"role": "user", "content": f"Observation: {observation}"},
        ]
    return processed


def one_run(run: int, threads: int | None) -> dict[str, Any]:
    began = time.monotonic()
    with LocalServer(threads=threads) as server:
        startup = time.monotonic() - began
        prompt_tps, gen_tps = speeds(server, run, schema=False)
        _, schema_tps = speeds(server, run, schema=True)
        cached = react_prompt_tokens(server, run, cache=True)
        uncached = react_prompt_tokens(server, run, cache=False)
    return {
        "startup_s": startup,
        "prompt_tokens_per_s": prompt_tps,
        "generated_tokens_per_s": gen_tps,
        "generated_tokens_per_s_json_schema": schema_tps,
        "react_prompt_tokens_cached": cached,
        "react_prompt_tokens_uncached": uncached,
    }


SPEEDS = (
    "startup_s",
    "prompt_tokens_per_s",
    "generated_tokens_per_s",
    "generated_tokens_per_s_json_schema",
)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run and print; returns the results (also written to --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="llama.cpp threads (default: the harness's default)",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    runs = [one_run(run, args.threads) for run in range(args.runs)]
    results: dict[str, Any] = {key: summary([r[key] for r in runs], 2) for key in SPEEDS}
    cached, uncached = (
        runs[-1]["react_prompt_tokens_cached"],
        runs[-1]["react_prompt_tokens_uncached"],
    )  # token counts do not vary between runs
    results["react_prompt_tokens_per_turn"] = {"cached": cached, "uncached": uncached}
    results["react_prompt_tokens_total"] = {"cached": sum(cached), "uncached": sum(uncached)}
    print(
        f"local model (SmolLM2-135M-Instruct Q4_1, llama.cpp), median of {args.runs} runs (min-max)"
    )
    for key in SPEEDS:
        s = results[key]
        print(f"  {key:<36} {s['median']:8.2f}  ({s['min']:.2f}-{s['max']:.2f})")
    print(
        "  5-turn ReAct, prompt tokens processed per turn:\n"
        f"    with prompt cache    {cached} total {sum(cached)}\n"
        f"    without              {uncached} total {sum(uncached)}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
