"""What a report is, independent of its format: sections of text, tables and charts.

Builders (:mod:`reports.summary`, :mod:`reports.comparison`) produce a :class:`Report`;
renderers turn it into HTML (:mod:`reports.html`), Markdown (:mod:`reports.markdown`)
or JSON (:func:`report_json`). Every table row and every chart carries the trial keys
behind its numbers (``evidence``), so any figure can be traced to its trials.

Text in a report may come from agents, tool observations or judges: it is stored here
as plain strings and escaped by each renderer, never interpreted.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from evals.schema import utcnow

Cell = str | int | float | None


def format_number(value: float) -> str:
    """A float cell as text: whole numbers and anything from 1000 up without decimals
    (token counts, never ``1.235e+04``), others to 4 significant digits."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value.is_integer() or abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.4g}"


def per_trial_int(value: float | None) -> int | None:
    """A per-trial mean of counts (tokens) shown as a whole number."""
    return None if value is None else round(value)


def cost_cell(value: float | None, trials: int, unknown: int) -> Cell:
    """A cost: 'unknown' when the source recorded no price (never $0), with the number
    of unpriced trials left out when only some are."""
    if value is None:
        return "unknown" if trials else None
    return f"{format_number(value)} ({unknown} unknown)" if unknown else value


class Evidence(BaseModel):
    """Trials behind one part of a figure (a bar, a cell, a funnel step)."""

    label: str
    """Which part of the figure."""
    trial_keys: list[str] = Field(default_factory=list)
    """The trials."""


class TextBlock(BaseModel):
    """A paragraph of plain text (escaped on rendering)."""

    kind: Literal["text"] = "text"
    text: str


class TableBlock(BaseModel):
    """A table; ``evidence[i]`` holds the trial keys behind row i."""

    kind: Literal["table"] = "table"
    title: str = ""
    columns: list[str]
    rows: list[list[Cell]]
    evidence: list[list[str]] = Field(default_factory=list)


class ChartBlock(BaseModel):
    """A plotly chart, the numbers it plots, and the trials behind each part."""

    kind: Literal["chart"] = "chart"
    id: str
    """Stable element id within the report."""
    title: str
    figure: dict[str, Any] = Field(default_factory=dict, exclude=True)
    """Plotly figure (data + layout), rendered in HTML only."""
    values: list[dict[str, Any]] = Field(default_factory=list)
    """The plotted numbers, one record per bar / point / cell."""
    evidence: list[Evidence] = Field(default_factory=list)
    caption: str = ""


Block = TextBlock | TableBlock | ChartBlock


class Section(BaseModel):
    """A titled part of the report."""

    id: str
    title: str
    blocks: list[Block] = Field(default_factory=list)


class Report(BaseModel):
    """A run summary, a regression or a comparison."""

    kind: Literal["run_summary", "regression", "comparison"]
    title: str
    subtitle: list[str] = Field(default_factory=list)
    """Header lines: runs, dataset, outcome source, settings."""
    generated_at: str = Field(default_factory=lambda: utcnow().isoformat())
    sections: list[Section] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
    """The full machine-readable result (e.g. the Comparison), with trial keys."""


def report_json(report: Report) -> str:
    """The JSON form: every section's numbers and trial keys, plus the full data."""
    return report.model_dump_json(indent=2)
