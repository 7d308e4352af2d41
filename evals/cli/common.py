"""What every CLI command shares: the workspace option, exit codes, one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

EXIT_OK = 0
"""Success (for `evals gate`: ship)."""
EXIT_ERROR = 1
"""A user or runtime error; one line on stderr says what."""
EXIT_INVALID = 2
"""Input did not validate (every problem listed, nothing written)."""
EXIT_GATE_FAILED = 3
"""A gate was evaluated and not met."""
EXIT_UNDECIDED = 4
"""A gate could not decide: too few cases (the output says how many more are needed)."""

console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path,
    typer.Option("--workspace", "-w", envvar="EVALS_WORKSPACE",
                 help="Workspace folder holding all records.", show_default=True),
]
DEFAULT_WORKSPACE = Path("evals-workspace")


class UserError(Exception):
    """A mistake the user can fix; printed as one line, never as a traceback."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Stop the command with a one-line error."""
    raise UserError(message, code)
