"""Untrusted text never reaches Markdown or HTML.

Agent answers, tool observations, judge reasons and reviewers' comments are shown with
``st.text`` / ``st.code`` / ``st.json`` only (rendered as text by Streamlit). Widget and
expander labels are Markdown, so anything dynamic put into a label goes through
`plain_label`, which keeps letters, digits and a few harmless characters.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^\w .,:/@+=%#?!'-]", flags=re.UNICODE)


def plain_label(text: object, limit: int = 80) -> str:
    """A label-safe version of any text: no brackets, parentheses, angle brackets,
    backslashes, asterisks or backticks, and no URL a Markdown renderer would link."""
    cleaned = _UNSAFE.sub(" ", str(text)).replace("://", ": //").strip()
    cleaned = re.sub(r"\s+", " ", cleaned)
    return cleaned[:limit] + ("…" if len(cleaned) > limit else "")


def chart_label(text: object, limit: int = 60) -> str:
    """A Plotly-safe label (Plotly renders a subset of HTML in labels, links included)."""
    return str(text).replace("<", "‹").replace(">", "›")[:limit]
