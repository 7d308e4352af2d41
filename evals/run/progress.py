"""What `evals run` shows: a live progress bar and the end-of-run summary (computed by
evals.run.summary, whose names are re-exported here)."""

from __future__ import annotations

import time
from types import TracebackType

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from evals.run.summary import (
    CELL_SQL,
    ERRORS_SQL,
    FIRST_ERRORS_SQL,
    MATRIX_FACTS_SQL,
    MAX_SUMMARY_MEMORY_MB,
    SUMMARY_MEMORY_MB,
    CellRow,
    ErrorRow,
    RunSummary,
    register_keys,
    summarise,
)
from evals.tables import print_table

__all__ = [
    "CELL_SQL",
    "ERRORS_SQL",
    "FIRST_ERRORS_SQL",
    "HEARTBEAT_S",
    "MATRIX_FACTS_SQL",
    "MAX_SUMMARY_MEMORY_MB",
    "SUMMARY_MEMORY_MB",
    "CellRow",
    "ErrorRow",
    "RunProgress",
    "RunSummary",
    "register_keys",
    "render_summary",
    "summarise",
]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _table(title: str, columns: tuple[str, ...]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    for i, col in enumerate(columns):
        if i < 2:  # names: keep whole, fold if they must
            table.add_column(col, justify="left", overflow="fold")
        else:  # numbers: never truncated
            width = max(len(line) for line in col.splitlines())
            table.add_column(col, justify="right", no_wrap=True, min_width=width)
    return table


def _compact(n: int | float) -> str:
    for threshold, size, unit in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if n >= threshold:
            return f"{n / size:.1f}{unit}"
    return f"{int(n):,}"


def render_summary(summary: RunSummary, console: Console) -> None:
    """Print the outcome and usage tables per model × prompt, the errors by kind and
    code, and a one-line account of the matrix."""
    outcomes = _table(
        f"run {summary.run_id}: outcomes",
        (
            "model",
            "prompt",
            "trials",
            "ok",
            "errors\ninfra/agent",
            "tool calls\n(unmatched)",
            "latency s\np50/p95",
        ),
    )
    usage = _table(
        "tokens and cost",
        ("model", "prompt", "LLM calls", "tokens in", "(cached)", "tokens out", "cost $"),
    )
    for r in summary.cells:
        outcomes.add_row(
            escape(str(r.model)),
            escape(str(r.prompt)),
            str(r.trials),
            str(r.ok),
            f"{r.infra_errors}/{r.agent_errors}",
            f"{r.tool_calls} ({r.unmatched_tool_calls})",
            f"{_seconds(r.p50_latency_s)}/{_seconds(r.p95_latency_s)}",
        )
        usage.add_row(
            escape(str(r.model)),
            escape(str(r.prompt)),
            _compact(r.llm_calls),
            _compact(r.input_tokens + r.cached_input_tokens),
            _compact(r.cached_input_tokens),
            _compact(r.output_tokens),
            f"{r.cost_usd:.4f}",
        )
    print_table(console, outcomes)
    print_table(console, usage)
    if summary.errors:
        errors = _table("errors by kind", ("kind", "code", "trials"))
        for e in summary.errors:
            errors.add_row(escape(str(e.kind)), escape(str(e.code)), str(e.trials))
        print_table(console, errors)
        for e in summary.errors:  # provider text: printed plain, never as markup
            message = " ".join(str(e.message or "").split())[:300]
            console.print(
                f"first {e.kind}:{e.code} error: {message}", markup=False, highlight=False
            )
    ok, failed = summary.count("ok"), summary.recorded - summary.count("ok")
    missing = f", {summary.missing} not recorded (rerun to finish)" if summary.missing else ""
    console.print(
        f"{summary.total} trials in the matrix: {summary.recorded} recorded, "
        f"{ok} ok, {failed} failed{missing}.",
        markup=False,
        highlight=False,
    )


HEARTBEAT_S = 30.0
"""Without a live bar (--no-progress, CI logs, a pipe), a plain progress line at least
this often: a hung provider must not look like a hung harness."""


class RunProgress:
    """A Rich progress bar: done, failed, trials/s, tokens, cost, ETA; or, when no live
    bar can show (disabled, or not a terminal), a plain line every `heartbeat_s`."""

    def __init__(
        self,
        console: Console,
        total: int,
        already: int,
        enabled: bool,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.enabled = enabled
        self.already = already
        self.total = total
        self.console = console
        self.heartbeat_s = heartbeat_s
        self.plain = not (enabled and console.is_terminal)
        self.start = self.last_line = time.monotonic()
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TextColumn("{task.fields[rate]:.1f} trials/s"),
            TextColumn("{task.fields[tokens]} tok"),
            TextColumn("${task.fields[cost]:.4f}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
            refresh_per_second=4,
        )
        self.task: TaskID = self.progress.add_task(
            "trials", total=total, completed=already, failed=0, rate=0.0, tokens=0, cost=0.0
        )

    def update(self, done: int, failed: int, tokens: int, cost: float) -> None:
        """Show this invocation's totals (done excludes trials finished earlier)."""
        now = time.monotonic()
        elapsed = max(now - self.start, 1e-9)
        if self.plain and now - self.last_line >= self.heartbeat_s:
            self.last_line = now
            self.console.print(
                f"progress: {self.already + done}/{self.total} trials, {failed} failed, "
                f"{done / elapsed:.1f}/s, {elapsed:.0f}s elapsed",
                markup=False,
                highlight=False,
            )
        self.progress.update(
            self.task,
            completed=self.already + done,
            failed=failed,
            rate=done / elapsed,
            tokens=tokens,
            cost=cost,
        )

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()
