"""Writing a report to disk: report.html, report.md and report.json in one folder.

Each file is written to a temporary name and renamed into place, so a reader (or a CI
artifact upload) never sees a half-written report.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from reports.html import render_html
from reports.markdown import render_markdown
from reports.model import Report, report_json

FORMATS = ("html", "md", "json")
"""Formats a report can be written in."""


def parse_formats(text: str) -> list[str]:
    """'html,md' -> ['html', 'md']; raises ValueError naming an unknown format."""
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(
            f"unknown report format {', '.join(unknown) or text!r}; "
            f"choose from {', '.join(FORMATS)}"
        )
    return formats


def write_report(
    report: Report, out_dir: Path, formats: Iterable[str] = FORMATS
) -> dict[str, Path]:
    """Render and write the report; returns the path per format."""
    out_dir.mkdir(parents=True, exist_ok=True)
    renderers = {"html": render_html, "md": render_markdown, "json": report_json}
    written: dict[str, Path] = {}
    for fmt in formats:
        path = out_dir / f"report.{fmt}"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(renderers[fmt](report), encoding="utf-8")
        os.replace(tmp, path)
        written[fmt] = path
    return written
