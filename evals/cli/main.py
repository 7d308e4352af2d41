"""The `evals` command line. Each command group lives in its own module with a
`register(app)` function; heavy imports (litellm, streamlit) happen inside commands so
`evals --help` stays fast."""

from __future__ import annotations

import atexit
import contextlib
import importlib
import logging
import os
import sys
import threading
from typing import NoReturn

import typer

from evals.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, EvalsGroup, err_console

# Keep litellm off the network (it fetches a cost map at import otherwise).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

COMMAND_MODULES = [
    "evals.cli.validate",
    "evals.cli.workspace",
    "evals.cli.audit",
    "evals.cli.models",
    "evals.cli.run",
    "evals.cli.judge",
    "evals.cli.pairwise",
    "evals.cli.imports",
    "evals.cli.calibrate",
    "evals.cli.label",
    "evals.cli.gate",
    "evals.cli.compare",
    "evals.cli.report",
    "evals.cli.status",
]
"""Modules contributing commands, in --help order."""

app = typer.Typer(
    name="evals",
    help="agent-evals: replay agents on golden sets, judge, review, decide.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=EvalsGroup,  # the one error handler: every EvalsError is one line and its code
)

for module in COMMAND_MODULES:
    importlib.import_module(module).register(app)


def run_cli() -> int:
    """Run the command line; its exit code (EvalsError: already printed by EvalsGroup;
    click's usage errors and anything unexpected are printed here, one line)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        # standalone_mode=False makes click return (not raise) a typer.Exit's code.
        code = app(standalone_mode=False)
        return code if isinstance(code, int) else 0
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted", markup=False)
        return EXIT_INTERRUPTED
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:  # click usage errors and anything unexpected: one line
        show = getattr(exc, "show", None)  # typer's vendored click exceptions
        if callable(show) and hasattr(exc, "exit_code"):
            show()
            return int(exc.exit_code)
        err_console.print(f"error: {type(exc).__name__}: {exc}", markup=False,
                          highlight=False, soft_wrap=True)
        if os.environ.get("EVALS_DEBUG"):
            raise
        return EXIT_ERROR


def exit_process(code: int) -> NoReturn:
    """End the process with `code` once all Python-level clean-up has run, skipping
    the C++ static destructors of pyarrow's and DuckDB's thread pools: with S3 in use
    they can abort an exit that had already succeeded ("terminate called without an
    active exception", apache/arrow#34314; seen once in CI on `evals audit verify`).
    Non-daemon threads are joined and atexit handlers run (pyarrow's S3 finalizer,
    Ray's shutdown, logging's flush) exactly as a normal exit would."""
    main_thread = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main_thread and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def main() -> None:
    """Console-script entry point: `run_cli`, then `exit_process` with its code."""
    exit_process(run_cli())


if __name__ == "__main__":
    main()
