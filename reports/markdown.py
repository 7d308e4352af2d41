"""Markdown: the report's text and tables, and each chart's numbers as a table.

Untrusted text is made inert for Markdown renderers that allow inline HTML: ``<``,
``>`` and ``&`` become entities, and the characters that would break a table cell or
start a link, emphasis, a heading or a list are backslash-escaped. Trial keys are
counted here; the keys themselves are in report.json.
"""

from __future__ import annotations

import re
from typing import Any

from reports.model import Block, ChartBlock, Report, TableBlock, TextBlock, format_number

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_LINE_START = re.compile(r"^(?:([#+\-=])(?=[\s#=]|$)|(\d+)([.)])(?=\s|$))")
"""What starts a heading, list or setext underline: only before a space (or the end),
so numbers such as ``50.0%`` or ``-0.05`` are left as they are."""


def md_escape(value: Any) -> str:
    """Escape a value for a Markdown paragraph or table cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format_number(value)
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)
    return " ".join(text.split())  # newlines would end a table row


def _table(columns: list[str], rows: list[list[Any]]) -> str:
    head = "| " + " | ".join(md_escape(c) for c in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(md_escape(v) for v in row) + " |" for row in rows]
    return "\n".join([head, rule, *body])


def _block(block: Block) -> str:
    if isinstance(block, TextBlock):
        return "\n".join(md_escape(line) for line in block.text.splitlines())
    if isinstance(block, TableBlock):
        columns, rows = list(block.columns), [list(r) for r in block.rows]
        if block.evidence or block.evidence_counts:
            columns.append("trials")
            for i, row in enumerate(rows):
                row.append(block.row_count(i))
        title = f"**{md_escape(block.title)}**\n\n" if block.title else ""
        return title + _table(columns, rows)
    return _chart(block)


def _chart(block: ChartBlock) -> str:
    out = [f"*Figure: {md_escape(block.title)}*"]
    if block.caption:
        out.append(md_escape(block.caption))
    if block.values:
        columns = list(dict.fromkeys(k for v in block.values for k in v))
        out.append(_table(columns, [[v.get(c) for c in columns] for v in block.values]))
    counted = [ev for ev in block.evidence if ev.count is not None]
    if counted:  # tallies or capped samples: each part's count, its keys listed in part
        parts = "; ".join(f"{md_escape(ev.label)}: {ev.count}" for ev in counted[:8])
        more = f"; and {len(counted) - 8} more parts" if len(counted) > 8 else ""
        listed = (
            " (report.json lists the first keys of each part)"
            if any(ev.trial_keys for ev in counted)
            else ""
        )
        out.append(f"Trials behind each part: {parts}{more}{listed}.")
    else:
        total = len({k for ev in block.evidence for k in ev.trial_keys})
        out.append(f"Trials behind this figure: {total} (keys in report.json).")
    return "\n\n".join(out)


def _decision(report: Report) -> list[str]:
    """The decision box, then the caveats: what a reader sees first."""
    parts: list[str] = []
    box = report.decision
    if box is not None:
        parts += [f"## Decision: {box.verdict.upper()}", "", md_escape(box.headline), ""]
        parts += [f"*{md_escape(box.source)}*", ""]
        if box.numbers:
            parts += [_table(["number", "value"], [[n.label, n.value] for n in box.numbers]), ""]
    if report.caveats:
        parts += ["**Caveats**", ""]
        parts += [f"- {md_escape(c.text)}" for c in report.caveats]
        parts.append("")
    return parts


def render_markdown(report: Report) -> str:
    """The report as Markdown."""
    parts = [f"# {md_escape(report.title)}", ""]
    parts += [f"- {md_escape(line)}" for line in report.subtitle]
    parts += [f"- generated {md_escape(report.generated_at)}", ""]
    parts += _decision(report)
    for section in report.sections:
        parts.append(f"## {md_escape(section.title)}")
        parts.append("")
        for block in section.blocks:
            parts += [_block(block), ""]
    if report.glossary:
        parts += ["## Glossary", ""]
        parts += [f"- **{md_escape(t.term)}**: {md_escape(t.meaning)}" for t in report.glossary]
        parts.append("")
    return "\n".join(parts)
