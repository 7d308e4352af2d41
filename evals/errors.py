"""One error model for the whole harness: what went wrong, where, and the exit code.

Every error a user can act on is an :class:`EvalsError`. It carries the problems found
(each a :class:`Problem`: file, line, field, message, printed ``file:line: field:
message``) and the exit code the CLI ends with. The CLI has one handler
(``evals.cli.common.report_error``) that prints an error as one line, or one line per
problem, and exits with its code; commands do not catch errors themselves unless they
add something the error does not know (which option was wrong).

Errors come in families, so a caller (or the CLI) can handle a whole kind at once:

============================  ====  =================================================
family                        exit  members
============================  ====  =================================================
:class:`InputError`           2     a suite, golden set, gate, judges, roster or import
                                    file (or an option) that does not validate
:class:`NotFoundError`        1     a reference that names nothing (run, cell, model)
:class:`StoreError`           1     the workspace cannot be used (missing, a lock held)
:class:`RunError`             1     a run or a judging that cannot start or finish
:class:`ProviderError`        1     a model call or a local model that failed
:class:`RefusedError`         1     an operation the review queue's rules refuse
============================  ====  =================================================

The exit codes are documented in docs/errors.md (the table there is the contract CI
relies on; keep it in step with the constants below).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "EXIT_ERROR",
    "EXIT_GATE_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_UNDECIDED",
    "MAX_PROBLEMS_SHOWN",
    "EvalsError",
    "InputError",
    "NotFoundError",
    "Problem",
    "ProviderError",
    "RefusedError",
    "RunError",
    "StoreError",
    "error_lines",
]

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
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C), as a shell reports a SIGINT."""

MAX_PROBLEMS_SHOWN = 50
"""An error lists at most this many problems (then a count of the rest)."""


@dataclass(frozen=True)
class Problem:
    """One validation error, located precisely."""

    file: str
    """File the problem is in."""
    line: int | None
    """1-based line, when known."""
    field: str | None
    """Dotted field path, when the problem is about one field."""
    message: str
    """What is wrong (one line)."""

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


class EvalsError(Exception):
    """An error a user can act on: a message or the problems found, and an exit code.

    `problems`: every located problem (printed one per line); `message`: the one line
    said when there are none (defaults to the problems joined); `summary`: a last line
    after the problems (``3 problem(s) in X; nothing written``); `exit_code`: overrides
    the family's."""

    exit_code: int = EXIT_ERROR
    """The code the CLI exits with (each family sets its own)."""
    family: ClassVar[str] = "error"
    """The family's name, as docs/errors.md lists it."""

    def __init__(
        self,
        message: str | None = None,
        *,
        problems: Sequence[Problem] = (),
        summary: str | None = None,
        exit_code: int | None = None,
    ) -> None:
        self.problems: list[Problem] = list(problems)
        self.summary = summary
        if exit_code is not None:
            self.exit_code = exit_code
        if message is None:
            message = "\n".join(_shown(self.problems))
        super().__init__(message)


def _shown(problems: Sequence[Problem]) -> list[str]:
    shown = [str(p) for p in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        shown.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more problem(s)")
    return shown


def error_lines(exc: EvalsError) -> list[str]:
    """What the CLI prints for an error: one line per problem (``file:line: field:
    message``) then the summary, or ``error: MESSAGE`` when it names no problem."""
    tail = [exc.summary] if exc.summary else []
    if exc.problems:
        return _shown(exc.problems) + tail
    first, *rest = (str(exc) or type(exc).__name__).splitlines()
    return [f"error: {first}", *rest, *tail]


class InputError(EvalsError):
    """A file or an option that does not validate (every problem listed, nothing
    written)."""

    exit_code = EXIT_INVALID
    family = "input"


class NotFoundError(EvalsError):
    """A reference (a run, a cell, a model, a queue) that names nothing usable."""

    family = "not found"


class StoreError(EvalsError):
    """A workspace problem a user can act on (missing, not a workspace, a lock held)."""

    family = "store"


class RunError(EvalsError):
    """A run or a judging that cannot start or finish (one line for the CLI)."""

    family = "run"


class ProviderError(EvalsError):
    """A model call that failed after retries, or a local model that cannot start."""

    family = "provider"


class RefusedError(EvalsError):
    """An operation the rules refuse (the review queue's: closed, not a lead, ...)."""

    family = "refused"
