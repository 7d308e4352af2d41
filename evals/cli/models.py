"""Model commands: `evals models serve|list` (the embedded local model) and `evals fake-llm`
(the fake OpenAI-compatible server for benchmarks)."""

from __future__ import annotations

from typing import Annotated

import typer

from evals.cli.common import EXIT_INVALID, console, fail

models_app = typer.Typer(help="The embedded local model and model aliases.", no_args_is_help=True)


@models_app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: a free one).")] = 0,
    ctx_size: Annotated[int, typer.Option(help="Context window in tokens.")] = 4096,
    parallel: Annotated[int, typer.Option(help="Parallel slots.")] = 2,
    threads: Annotated[int, typer.Option(help="CPU threads (0: EVALS_LOCAL_THREADS or 1).")] = 0,
) -> None:
    """Serve SmolLM2-135M-Instruct (llama.cpp, in-process) until Ctrl-C; prints its URL."""
    import signal
    import threading

    from evals.models.local import LocalServer

    server = LocalServer(
        port=port,
        ctx_size=ctx_size,
        parallel=parallel,
        threads=threads or None,
        require_key=False,
    ).start()
    console.print(
        f"local model {server.model_name} ready at {server.base_url} "
        f"(OpenAI-compatible; {server.startup_s:.2f}s to start)",
        markup=False,
        soft_wrap=True,
    )
    console.print(
        f"in a suite: model 'local/{server.model_name}' with params "
        f"{{api_base: {server.base_url}}}; Ctrl-C stops it",
        markup=False,
        soft_wrap=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        # Poll: a signal may land on one of llama.cpp's threads, and a blocked main thread
        # would never run the Python handler.
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@models_app.command("list")
def list_models() -> None:
    """List the embedded local models and where their weights are."""
    from evals.models.local import LOCAL_MODELS, LocalModelError, find_weights

    for name, package in LOCAL_MODELS.items():
        try:
            where = str(find_weights(name))
        except LocalModelError as exc:
            where = f"not installed ({exc})"
        console.print(f"local/{name}\t{package}\t{where}", markup=False, soft_wrap=True)


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
    app.add_typer(models_app, name="models")
    app.command("fake-llm")(fake_llm)
