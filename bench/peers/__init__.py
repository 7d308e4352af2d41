"""The peers the harness is measured against, each in its own environment.

- Inspect AI: ``bench/.venv-inspect`` (pip ``inspect-ai`` and ``openai``), running
  ``inspect_task.py`` with ``openai/fake`` pointed at the fake server through the Chat
  Completions API (``-M responses_api=false``: the fake server, like most
  OpenAI-compatible servers, has no Responses API).
- promptfoo: ``bench/.node`` (npm ``promptfoo``), running ``promptfooconfig.yaml`` with
  the tests in a CSV of N rows.
- the raw aiohttp client: ``raw_aiohttp.py`` in the project's own virtualenv.

Each peer runs with its progress display off and its results persisted as it normally
does (Inspect writes its eval log, promptfoo its results database), as the harness
writes its trials. `python -m bench.peers.install` creates the environments.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import BENCH, FAKE_KEY, FakeServer, Throughput, base_env, measure_harness

PEERS = BENCH / "peers"
INSPECT_VENV = BENCH / ".venv-inspect"
NODE_PREFIX = BENCH / ".node"
INSPECT = INSPECT_VENV / "bin" / "inspect"
PROMPTFOO = NODE_PREFIX / "node_modules" / ".bin" / "promptfoo"


def available(name: str) -> bool:
    """Whether a peer's environment is installed."""
    return {"inspect": INSPECT, "promptfoo": PROMPTFOO}[name].exists()


def run_inspect(server: FakeServer, trials: int, lanes: int, scratch: Path) -> Throughput:
    """`inspect eval` of N single-turn samples at C connections."""
    logs = scratch / f"inspect-logs-{server.port}"
    cmd = [
        str(INSPECT), "eval", "inspect_task.py", "-T", f"trials={trials}",
        "--model", "openai/fake", "--model-base-url", server.url,
        "-M", "responses_api=false",
        "--max-connections", str(lanes), "--max-samples", str(lanes),
        "--log-dir", str(logs), "--display", "none", "--no-fail-on-error",
    ]  # fmt: skip
    env = base_env(OPENAI_API_KEY=FAKE_KEY, INSPECT_LOG_DIR=str(logs))
    env.pop("PYTHONPATH", None)  # its own interpreter and packages only
    return measure_harness("inspect", cmd, server, trials=trials, lanes=lanes, env=env, cwd=PEERS)


def run_promptfoo(server: FakeServer, trials: int, lanes: int, scratch: Path) -> Throughput:
    """`promptfoo eval` of N tests at max concurrency C."""
    work = scratch / f"promptfoo-{trials}"
    if not work.exists():
        work.mkdir(parents=True)
        (work / "promptfooconfig.yaml").write_text((PEERS / "promptfooconfig.yaml").read_text())
        (work / "tests.csv").write_text("i\n" + "".join(f"{i}\n" for i in range(trials)))
    home = scratch / f"promptfoo-home-{server.port}"
    cmd = [
        str(PROMPTFOO), "eval", "-c", "promptfooconfig.yaml", "-j", str(lanes),
        "--no-cache", "--no-progress-bar", "--no-table", "--no-share",
    ]  # fmt: skip
    env = base_env(
        OPENAI_API_KEY=FAKE_KEY,
        OPENAI_BASE_URL=server.url,
        PROMPTFOO_CONFIG_DIR=str(home),
        PROMPTFOO_DISABLE_TELEMETRY="1",
        PROMPTFOO_DISABLE_UPDATE="1",
        PROMPTFOO_DISABLE_SHARING="1",
        # Its file logger crashes at exit under node 20 ("write after end"): off.
        PROMPTFOO_DISABLE_DEBUG_LOG="1",
        PROMPTFOO_DISABLE_ERROR_LOG="1",
    )
    return measure_harness("promptfoo", cmd, server, trials=trials, lanes=lanes, env=env, cwd=work)
