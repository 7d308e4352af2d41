"""Self-contained HTML: plotly.js inline (no CDN, opens with no network), text escaped.

The page carries a Content-Security-Policy that allows no network source at all
(``default-src 'none'``), only the inline script and styles, so a report cannot fetch
anything even if a figure or a string tried to. Every string from the report model is
HTML-escaped; figure JSON goes through plotly's encoder, which escapes ``<``, ``>`` and
``/`` inside strings so no text can close the script element.

Traceability: each chart has a ``<details>`` listing the trial keys behind each of its
parts, and each table row holds its trial keys in ``data-trial-keys`` and in a details
cell (lists longer than :data:`MAX_KEYS_INLINE` are cut in the HTML; report.json has
them all).
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from typing import Any

from reports.model import (
    Block,
    Caveat,
    ChartBlock,
    DecisionBox,
    Evidence,
    GlossaryTerm,
    Report,
    TableBlock,
    TextBlock,
    format_number,
)

MAX_KEYS_INLINE = 2000
"""Trial keys shown per list in the HTML before referring to report.json."""

_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:"
)

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2430}
header{background:#1d2430;color:#fff;padding:18px 28px}
header h1{margin:0 0 6px;font-size:22px} header p{margin:2px 0;opacity:.85}
main{padding:8px 28px 40px;max-width:1200px}
section{margin:26px 0} h2{font-size:18px;border-bottom:1px solid #dde;padding-bottom:4px}
table{border-collapse:collapse;margin:10px 0;font-size:13px;max-width:100%}
th,td{border:1px solid #dde;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f9} td.num{text-align:right;font-variant-numeric:tabular-nums}
td{overflow-wrap:break-word}
td.long{min-width:16em;max-width:42em;white-space:pre-wrap}
td.keys{max-width:14em} td.keys code{font-size:11px}
.box{border:2px solid;border-radius:6px;padding:12px 18px;margin:18px 0;max-width:1000px}
.box h2{border:0;margin:0 0 6px;font-size:20px}
.box.ship{border-color:#1a7f37;background:#eef8f0} .box.ship h2{color:#1a7f37}
.box.no{border-color:#c62828;background:#fdeeee} .box.no h2{color:#c62828}
.box.undecided{border-color:#b7791f;background:#fdf6e7} .box.undecided h2{color:#8a5a00}
.box p{margin:4px 0;font-size:15px} .box p.src{font-size:12px;color:#555}
.box table{background:#fff}
.caveats{border-left:4px solid #b7791f;padding:4px 14px;margin:12px 0;max-width:1000px}
.caveats h3{margin:6px 0;font-size:15px} .caveats li{margin:3px 0}
dl.glossary dt{font-weight:600;margin-top:8px} dl.glossary dd{margin:2px 0 0 18px;max-width:900px}
.chart{width:100%;min-height:360px} figure{margin:12px 0}
figcaption{color:#555;font-size:13px} details{margin:4px 0;font-size:12px}
details code{word-break:break-all;white-space:pre-wrap}
p.text{white-space:pre-wrap;max-width:1000px}
"""


def esc(value: Any) -> str:
    """HTML-escape any value's string form (quotes included: safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The plotly.js bundle shipped with the plotly package (about 4.8 MB)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return format_number(value)
    return esc(value)


def _keys(keys: list[str]) -> str:
    shown = " ".join(keys[:MAX_KEYS_INLINE])
    more = (
        f" … and {len(keys) - MAX_KEYS_INLINE} more (see report.json)"
        if len(keys) > MAX_KEYS_INLINE
        else ""
    )
    return f"<code>{esc(shown)}</code>{esc(more)}"


LONG_TEXT = 60
"""Text cells longer than this get a minimum width (so a reason or an answer is not
squeezed to one word per line beside a wide neighbour) and keep their line breaks."""


def _cell(value: Any) -> str:
    if isinstance(value, int | float):
        return f'<td class="num">{_fmt(value)}</td>'
    if isinstance(value, str) and len(value) > LONG_TEXT:
        return f'<td class="long">{_fmt(value)}</td>'
    return f"<td>{_fmt(value)}</td>"


def _table(block: TableBlock) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in block.columns)
    if block.evidence or block.evidence_counts:
        head += "<th>trials</th>"
    body = []
    for i, row in enumerate(block.rows):
        cells = "".join(_cell(v) for v in row)
        attr = ""
        keys = block.evidence[i] if i < len(block.evidence) else []
        if keys:
            n, shown = block.row_count(i), len(keys)
            summary = str(n) if shown >= n else f"first {shown} of {n}"
            attr = f' data-trial-keys="{esc(" ".join(keys[:MAX_KEYS_INLINE]))}"'
            cells += (
                f'<td class="keys"><details><summary>{summary}</summary>{_keys(keys)}'
                "</details></td>"
            )
        elif block.evidence_counts:  # a tally: the row names its trials, counted
            cells += f'<td class="num">{block.row_count(i)}</td>'
        elif block.evidence:
            cells += "<td>0</td>"
        body.append(f"<tr{attr}>{cells}</tr>")
    title = f"<h3>{esc(block.title)}</h3>" if block.title else ""
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _how_many(ev: Evidence) -> str:
    n = len(ev.trial_keys)
    if ev.count is None:
        return str(n)
    return f"first {n} of {ev.count}" if n else str(ev.count)


def _chart(block: ChartBlock) -> str:
    import plotly.io as pio

    fig_json = pio.to_json(block.figure, validate=False)
    total = len({k for ev in block.evidence if ev.count is None for k in ev.trial_keys}) + sum(
        ev.count for ev in block.evidence if ev.count is not None
    )
    items = "".join(
        f"<li><b>{esc(ev.label)}</b> ({_how_many(ev)}): {_keys(ev.trial_keys)}</li>"
        for ev in block.evidence
    )
    config = json.dumps({"displaylogo": False, "responsive": True})
    element = esc(f"chart-{block.id}")  # prefixed: section ids must not collide
    caption = f"<figcaption>{esc(block.caption)}</figcaption>" if block.caption else ""
    return (
        f'<figure data-chart="{esc(block.id)}" data-trial-count="{total}">'
        f'<div class="chart" id="{element}"></div>{caption}'
        f"<details><summary>Trials behind this figure ({total})</summary><ul>{items}</ul>"
        f"</details></figure>"
        f"<script>(function(){{var f={fig_json};"
        f'Plotly.newPlot("{element}",f.data,f.layout,{config});}})();</script>'
    )


def _block(block: Block) -> str:
    if isinstance(block, TextBlock):
        return f'<p class="text">{esc(block.text)}</p>'
    if isinstance(block, TableBlock):
        return _table(block)
    return _chart(block)


_BOX_CLASS = {"ship": "ship", "do not ship": "no", "undecided": "undecided"}


def _decision(box: DecisionBox | None) -> str:
    if box is None:
        return ""
    rows = "".join(f"<tr><th>{esc(n.label)}</th><td>{esc(n.value)}</td></tr>" for n in box.numbers)
    numbers = f"<table>{rows}</table>" if rows else ""
    return (
        f'<section id="decision" class="box {_BOX_CLASS[box.verdict]}" '
        f'data-verdict="{esc(box.verdict)}"><h2>Decision: {esc(box.verdict.upper())}</h2>'
        f'<p class="headline">{esc(box.headline)}</p><p class="src">{esc(box.source)}</p>'
        f"{numbers}</section>"
    )


def _caveats(caveats: list[Caveat]) -> str:
    if not caveats:
        return ""
    items = "".join(f'<li data-kind="{esc(c.kind)}">{esc(c.text)}</li>' for c in caveats)
    return f'<aside class="caveats" id="caveats"><h3>Caveats</h3><ul>{items}</ul></aside>'


def _glossary(terms: list[GlossaryTerm]) -> str:
    if not terms:
        return ""
    items = "".join(f"<dt>{esc(t.term)}</dt><dd>{esc(t.meaning)}</dd>" for t in terms)
    return f'<section id="glossary"><h2>Glossary</h2><dl class="glossary">{items}</dl></section>'


def render_html(report: Report) -> str:
    """The whole report as one self-contained HTML page."""
    sub = "".join(f"<p>{esc(line)}</p>" for line in report.subtitle)
    links = [(s.id, s.title) for s in report.sections]
    links += [("glossary", "Glossary")] if report.glossary else []
    nav = " · ".join(f'<a href="#{esc(i)}">{esc(t)}</a>' for i, t in links)
    sections = "".join(
        f'<section id="{esc(s.id)}"><h2>{esc(s.title)}</h2>'
        f"{''.join(_block(b) for b in s.blocks)}</section>"
        for s in report.sections
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(report.title)}</title><style>{_STYLE}</style>"
        f'<script type="text/javascript">{plotly_js()}</script></head><body>'
        f'<header data-report-kind="{esc(report.kind)}"><h1>{esc(report.title)}</h1>{sub}'
        f"<p>generated {esc(report.generated_at)}</p></header>"
        f"<main>{_decision(report.decision)}{_caveats(report.caveats)}<nav>{nav}</nav>"
        f"{sections}{_glossary(report.glossary)}</main></body></html>\n"
    )
