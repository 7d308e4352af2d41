"""What every CLI command shares: the workspace option, exit codes, one-line errors.

Errors are reported in one place: :class:`EvalsGroup` (the root command group) catches
every :class:`evals.errors.EvalsError` a command raises and prints it with
:func:`report_error` (one line, or one line per problem, ``file:line: field: message``)
before exiting with the error's code. Commands raise; they catch only to add what the
error cannot know (which option was wrong). Exit codes: docs/errors.md."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

from evals.errors import (
    EXIT_ERROR,
    EXIT_GATE_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNDECIDED,
    EvalsError,
    error_lines,
)

if TYPE_CHECKING:
    from evals.store.workspace import Workspace

__all__ = [
    "DEFAULT_WORKSPACE",
    "EXIT_ERROR",
    "EXIT_GATE_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_UNDECIDED",
    "EvalsGroup",
    "UserError",
    "WorkspaceOpt",
    "console",
    "err_console",
    "fail",
    "report_error",
]

console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path,
    typer.Option("--workspace", "-w", envvar="EVALS_WORKSPACE",
                 help="Workspace folder holding all records.", show_default=True),
]
DEFAULT_WORKSPACE = Path("evals-workspace")


class UserError(EvalsError):
    """A mistake the user can fix, found by a command itself (an option out of range);
    printed as one line, never as a traceback."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message, exit_code=code)

    @property
    def code(self) -> int:
        """The exit code (the name callers used before EvalsError.exit_code)."""
        return self.exit_code


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Stop the command with a one-line error."""
    raise UserError(message, code)


def open_workspace(path: Path | str, create: bool = False) -> Workspace:
    """The workspace a command was given (a folder or an ``s3://`` URL); a missing one is
    a store error (one line)."""
    from evals.store.workspace import Workspace

    return Workspace(path, create=create)


def report_error(exc: EvalsError) -> int:
    """Print an error as every command does (see evals.errors.error_lines) on stderr;
    returns its exit code."""
    for line in error_lines(exc):
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)
    return exc.exit_code


class EvalsGroup(TyperGroup):
    """The root command group: the one error handler of the CLI (every command and
    sub-group runs inside its ``invoke``)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except EvalsError as exc:
            raise typer.Exit(report_error(exc)) from None
