"""The `evals` command line. Each command group lives in its own module with a
`register(app)` function; heavy imports (litellm, streamlit) happen inside commands so
`evals --help` stays fast."""

from __future__ import annotations

import importlib
import logging
import os
import sys

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


def main() -> None:
    """Console-script entry point: errors are one line and an exit code (EvalsError:
    already printed by EvalsGroup; click's usage errors and anything unexpected here)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        # standalone_mode=False makes click return (not raise) a typer.Exit's code.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted", markup=False)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # click usage errors and anything unexpected: one line
        show = getattr(exc, "show", None)  # typer's vendored click exceptions
        if callable(show) and hasattr(exc, "exit_code"):
            show()
            sys.exit(exc.exit_code)
        err_console.print(f"error: {type(exc).__name__}: {exc}", markup=False,
                          highlight=False, soft_wrap=True)
        if os.environ.get("EVALS_DEBUG"):
            raise
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
