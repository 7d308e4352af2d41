"""Report builders: run summary, regression and comparison, in HTML, Markdown and JSON.

HTML reports are self-contained (plotly.js inline, no network needed to open them);
every figure lists the trial keys behind it. Extra sections are registered by name
(reports.sections) and added with `evals report RUN --section NAME`.
"""

from reports.comparison import build_comparison_report
from reports.html import render_html
from reports.markdown import render_markdown
from reports.model import ChartBlock, Evidence, Report, Section, TableBlock, TextBlock, report_json
from reports.output import FORMATS, parse_formats, write_report
from reports.sections import ReportSectionError, SectionContext, report_section
from reports.summary import build_run_summary, load_decisions, load_examples

__all__ = [
    "FORMATS",
    "ChartBlock",
    "Evidence",
    "Report",
    "ReportSectionError",
    "Section",
    "SectionContext",
    "TableBlock",
    "TextBlock",
    "build_comparison_report",
    "build_run_summary",
    "load_decisions",
    "load_examples",
    "parse_formats",
    "render_html",
    "render_markdown",
    "report_json",
    "report_section",
    "write_report",
]
