"""Choosing the executor of an invocation (command line over suite over default) and
building it; an implementation is imported only when chosen (Ray is an optional extra)."""

from __future__ import annotations

from dataclasses import dataclass

from evals.errors import EXIT_INVALID, InputError
from evals.run.executors.base import Executor, ExecutorError
from evals.run.executors.config import EXECUTOR_KINDS, ExecutorConfig, ExecutorKind


class UnknownExecutorError(ExecutorError, InputError):
    """An executor name that is not one of EXECUTOR_KINDS: invalid input (exit 2)."""

    exit_code = EXIT_INVALID
    family = "input"


@dataclass
class Selection:
    """The executor chosen for one invocation, after suite and command line."""

    kind: ExecutorKind
    config: ExecutorConfig
    workers: int
    """processes: worker processes."""


def select_executor(
    config: ExecutorConfig | None,
    *,
    kind: str | None = None,
    ray_address: str | None = None,
    workers: int | None = None,
    plan_workers: int = 1,
) -> Selection:
    """Command line over suite over default. `--ray-address` alone means ray;
    `--workers N` sizes the processes executor (and alone, N > 1, selects it)."""
    config = config or ExecutorConfig()
    if kind is not None and kind not in EXECUTOR_KINDS:
        raise UnknownExecutorError(
            f"--executor: unknown executor {kind!r}; known: {', '.join(EXECUTOR_KINDS)}"
        )
    chosen = kind or ("ray" if ray_address else None) or config.kind
    size = workers or config.workers or plan_workers
    if chosen is None:
        chosen = "processes" if size > 1 else "inprocess"
    if ray_address:
        config = config.model_copy(update={"address": ray_address})
    return Selection(chosen, config, size)  # type: ignore[arg-type]


def make_executor(selection: Selection) -> Executor:
    """The executor of a selection (Ray imported only when chosen)."""
    if selection.kind == "processes":
        from evals.run.executors.processes import ProcessesExecutor

        return ProcessesExecutor(selection.workers)
    if selection.kind == "ray":
        from evals.run.executors.ray import RayExecutor

        return RayExecutor(selection.config)
    from evals.run.executors.inprocess import InProcessExecutor

    return InProcessExecutor()
