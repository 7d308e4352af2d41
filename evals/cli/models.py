"""Model commands: `evals models serve|list` (the embedded local model) and `evals fake-llm`
(the fake OpenAI-compatible server for benchmarks)."""

from __future__ import annotations

from typing import Annotated

import typer

from evals.cli.common import EXIT_INVALID, fail


def fake_llm(
    port: Annotated[int, typer.Option(help="Port on the host (0: a free one).")] = 8099,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    latency_ms: Annotated[float, typer.Option(help="Median latency per request.")] = 0.0,
    latency_sigma: Annotated[
        float, typer.Option(help="Lognormal sigma of the latency (0: fixed).")
    ] = 0.0,
    fault_rate: Annotated[float, typer.Option(help="Share of requests that fail.")] = 0.0,
    faults: Annotated[
        str,
        typer.Option(
            help="Comma-separated fault kinds drawn uniformly: "
            "rate_limit,server_error,hang,malformed,reset."
        ),
    ] = "rate_limit,server_error,hang,malformed,reset",
    retry_after_s: Annotated[float, typer.Option(help="Retry-After of a 429.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of faults and latencies.")] = 0,
    workers: Annotated[
        int, typer.Option(help="Server processes sharing the port (SO_REUSEPORT).")
    ] = 1,
) -> None:
    """Run the fake OpenAI-compatible LLM server in the foreground (for benchmarks)."""
    from evals.testing import FAULT_KINDS, serve_forever

    kinds = [k.strip() for k in faults.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(FAULT_KINDS))
    if unknown:
        fail(
            f"--faults: unknown kind(s) {', '.join(unknown)}; known: {', '.join(FAULT_KINDS)}",
            EXIT_INVALID,
        )
    if not 0.0 <= fault_rate <= 1.0 or workers < 1:
        fail("--fault-rate must be within [0, 1] and --workers at least 1", EXIT_INVALID)
    serve_forever(
        workers=workers,
        host=host,
        port=port,
        latency_ms=latency_ms,
        latency_sigma=latency_sigma,
        fault_rate=fault_rate,
        fault_kinds=kinds,
        retry_after_s=retry_after_s,
        seed=seed,
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("fake-llm")(fake_llm)
