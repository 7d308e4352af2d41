"""Report sections added by name: `evals report RUN --section NAME`.

A section is a function of a :class:`SectionContext` (the workspace, the run's data and
the report built so far) returning a :class:`~reports.model.Section`, or None to add
nothing. It is registered with ``@report_section("name")`` (evals.registry, kind
``report_section``), installed by another package under the entry-point group
``agent_evals.report_section``, or named as ``package.module:function``. Sections are
added only when asked for, so a report without ``--section`` is the same as before.

Text a section puts in its blocks is escaped by the renderers like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from evals import registry
from evals.analysis.rundata import RunData
from evals.errors import InputError
from evals.store.workspace import Workspace
from reports.model import Report, Section

F = TypeVar("F", bound=Callable[["SectionContext"], Section | None])


@dataclass(frozen=True)
class SectionContext:
    """What a report section may read (new inputs are added as fields with defaults)."""

    ws: Workspace
    """The workspace (read it with evals.store.query)."""
    run: RunData
    """The run the report is about (its trials, labels and verdicts)."""
    report: Report
    """The report built so far (its sections and data)."""


class ReportSectionError(InputError, ValueError):
    """A section that is unknown, fails to load, raises, or returns something else than
    a Section; the message is one line naming the section."""


def report_section(name: str) -> Callable[[F], F]:
    """Decorator: make a section function available as `evals report --section NAME`."""
    return registry.registrar("report_section", name)


def section_names() -> list[str]:
    """Registered and installed section names."""
    return registry.names("report_section")


def build_section(name: str, ctx: SectionContext) -> Section | None:
    """Run one named section; raises ReportSectionError (one line) when it cannot."""
    try:
        fn = registry.lookup("report_section", name)
    except registry.RegistryError as exc:
        raise ReportSectionError(f"report section {name!r}: {exc}") from None
    if not callable(fn):
        raise ReportSectionError(f"report section {name!r} is not a function")
    try:
        section = fn(ctx)
    except Exception as exc:  # the section's bug, reported as such
        raise ReportSectionError(
            f"report section {name!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    if section is not None and not isinstance(section, Section):
        raise ReportSectionError(
            f"report section {name!r} returned {type(section).__name__}, not a reports.Section"
        )
    return section


def add_sections(report: Report, names: Sequence[str], ctx: SectionContext) -> None:
    """Append the named sections to the report, in the order given."""
    for name in names:
        section = build_section(name, ctx)
        if section is not None:
            report.sections.append(section)
