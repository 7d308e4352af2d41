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
    """The trials: every one (``count`` None), the first of them (a capped sample), or
    none (a tally of a selection that `label` names)."""
    count: int | None = None
    """How many trials in all, when ``trial_keys`` does not list every one; None: it does."""

    @property
    def size(self) -> int:
        """How many trials are behind this part."""
        return len(self.trial_keys) if self.count is None else self.count


class TextBlock(BaseModel):
    """A paragraph of plain text (escaped on rendering)."""

    kind: Literal["text"] = "text"
    text: str


class TableBlock(BaseModel):
    """A table; ``evidence[i]`` holds the trial keys behind row i (or, from a tally,
    ``evidence_counts[i]`` how many trials: the row names their selection)."""

    kind: Literal["table"] = "table"
    title: str = ""
    columns: list[str]
    rows: list[list[Cell]]
    evidence: list[list[str]] = Field(default_factory=list)
    evidence_counts: list[int] = Field(default_factory=list)
    """Trials behind each row, where ``evidence`` does not list every row's keys (a capped
    sample, or no keys: a tally); empty: each row's count is its keys'."""

    def row_count(self, i: int) -> int:
        """How many trials are behind row i."""
        if i < len(self.evidence_counts):
            return self.evidence_counts[i]
        return len(self.evidence[i]) if i < len(self.evidence) else 0


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


class KeyNumber(BaseModel):
    """One number behind a decision, in words a reader can check."""

    label: str
    """What is measured, e.g. 'overall pass rate'."""
    value: str
    """The number with its interval, n and threshold, e.g. '0.75 [0.55, 0.88], n=24'."""


class DecisionBox(BaseModel):
    """The plain-language answer a report opens with: ship, do not ship, or undecided."""

    verdict: Literal["ship", "do not ship", "undecided"]
    """The answer (a gate's 'fail' reads 'do not ship')."""
    headline: str
    """Why, in one or two sentences."""
    source: str
    """What decided: the gate decision id, or the comparison and its margin."""
    numbers: list[KeyNumber] = Field(default_factory=list)
    """The numbers behind the verdict, most decisive first."""


CAVEAT_KINDS = ("missing_cost", "simulated_labels", "too_few_cases", "no_decision", "errors")
"""Caveat kinds the builders emit; other kinds are allowed (one caveat per kind)."""


class Caveat(BaseModel):
    """Why a number in the report may mislead (missing cost, simulated labels, ...)."""

    kind: str
    """Short machine name, one of CAVEAT_KINDS or a new one (e.g. from provenance)."""
    text: str
    """The caveat in one or two plain sentences."""


class GlossaryTerm(BaseModel):
    """A statistic used in the report, explained for a non-statistician."""

    term: str
    """Name as it appears in the report."""
    meaning: str
    """What it is and how to read it."""


class Report(BaseModel):
    """A run summary, a regression or a comparison."""

    kind: Literal["run_summary", "regression", "comparison"]
    title: str
    subtitle: list[str] = Field(default_factory=list)
    """Header lines: runs, dataset, outcome source, settings."""
    generated_at: str = Field(default_factory=lambda: utcnow().isoformat())
    decision: DecisionBox | None = None
    """The decision box every report opens with."""
    caveats: list[Caveat] = Field(default_factory=list)
    """What may make the numbers mislead; shown right under the decision box."""
    glossary: list[GlossaryTerm] = Field(default_factory=list)
    """The statistics this report uses, explained (shown at its end)."""
    sections: list[Section] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
    """The full machine-readable result (e.g. the Comparison), with trial keys."""


def add_caveat(report: Report, kind: str, text: str) -> None:
    """Add a caveat, replacing an earlier one of the same kind (one per kind).

    The seam for provenance flags computed elsewhere (e.g. simulated labels counted in a
    metric): the later, more specific caveat wins over the report's own guess."""
    report.caveats = [c for c in report.caveats if c.kind != kind]
    report.caveats.append(Caveat(kind=kind, text=text))


def report_json(report: Report) -> str:
    """The JSON form: every section's numbers and trial keys, plus the full data."""
    return report.model_dump_json(indent=2)
