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

from reports.model import Block, ChartBlock, Report, TableBlock, TextBlock, format_number

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
table{border-collapse:collapse;margin:10px 0;font-size:13px}
th,td{border:1px solid #dde;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f9} td.num{text-align:right;font-variant-numeric:tabular-nums}
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


def _table(block: TableBlock) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in block.columns)
    has_ev = bool(block.evidence)
    if has_ev:
        head += "<th>trials</th>"
    body = []
    for i, row in enumerate(block.rows):
        cells = "".join(
            f'<td class="num">{_fmt(v)}</td>'
            if isinstance(v, int | float)
            else f"<td>{_fmt(v)}</td>"
            for v in row
        )
        attr = ""
        if has_ev:
            keys = block.evidence[i] if i < len(block.evidence) else []
            attr = f' data-trial-keys="{esc(" ".join(keys[:MAX_KEYS_INLINE]))}"'
            cells += (
                f"<td><details><summary>{len(keys)}</summary>{_keys(keys)}</details></td>"
                if keys
                else "<td>0</td>"
            )
        body.append(f"<tr{attr}>{cells}</tr>")
    title = f"<h3>{esc(block.title)}</h3>" if block.title else ""
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _chart(block: ChartBlock) -> str:
    import plotly.io as pio

    fig_json = pio.to_json(block.figure, validate=False)
    total = len({k for ev in block.evidence for k in ev.trial_keys})
    items = "".join(
        f"<li><b>{esc(ev.label)}</b> ({len(ev.trial_keys)}): {_keys(ev.trial_keys)}</li>"
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


def render_html(report: Report) -> str:
    """The whole report as one self-contained HTML page."""
    sub = "".join(f"<p>{esc(line)}</p>" for line in report.subtitle)
    nav = " · ".join(f'<a href="#{esc(s.id)}">{esc(s.title)}</a>' for s in report.sections)
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
        f"<main><nav>{nav}</nav>{sections}</main></body></html>\n"
    )
