"""The practical ceiling: a raw aiohttp client doing the same single-turn work.

N trials on C concurrent lanes over one connection pool; each reply is parsed and its
answer checked, nothing else (no retries, no records). A trial is one chat completion,
or with TURNS > 1 a conversation: every reply's tool calls are answered with a tool
message and sent back until the model answers (the fake server's react5 script makes
that five tool calls, six requests). Prints one JSON line: {"trials", "ok", "elapsed_s"}.

Run: python -m bench.peers.raw_aiohttp URL N C [TURNS]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp
import orjson


async def run(base_url: str, trials: int, lanes: int, turns: int = 1) -> dict[str, float]:
    """Send the requests; returns counts and elapsed seconds."""
    url = base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": "Bearer sk-fake-bench", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=lanes)
    next_index = iter(range(trials))
    ok = 0

    async def lane(session: aiohttp.ClientSession) -> None:
        nonlocal ok
        for i in next_index:
            messages = [{"role": "user", "content": f"Case {i}: what is the answer?"}]
            for _ in range(turns):
                body = {"model": "fake", "messages": messages}
                async with session.post(url, data=orjson.dumps(body), headers=headers) as resp:
                    data = orjson.loads(await resp.read())
                message = data["choices"][0]["message"]
                calls = message.get("tool_calls") or []
                if not calls:
                    break
                messages.append(message)
                for call in calls:
                    messages.append({"role": "tool", "tool_call_id": call["id"], "content": "ok"})
            if resp.status == 200 and message["content"]:
                ok += 1

    start = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(lane(session) for _ in range(lanes)))
    return {"trials": trials, "ok": ok, "elapsed_s": time.perf_counter() - start}


def main() -> None:
    """CLI entry point."""
    base_url, trials, lanes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    turns = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    result = asyncio.run(run(base_url, trials, lanes, turns))
    print(json.dumps(result))
    sys.exit(0 if result["ok"] == trials else 1)


if __name__ == "__main__":
    main()
