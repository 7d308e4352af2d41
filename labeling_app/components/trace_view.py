"""Rendering a case, an answer and a trace as text only.

Everything that came from an agent, a tool, a judge or a reviewer is untrusted and is
shown with ``st.code`` (wrapped, no Markdown; JSON pretty-printed and highlighted as
JSON, which is still text), ``st.text``, ``st.json`` or ``st.dataframe`` (all rendered
as text by Streamlit). Expander and widget labels are Markdown, so their dynamic parts
go through `plain_label`. Nothing here uses ``unsafe_allow_html`` or renders Markdown
of untrusted text.

The trace is a timeline: an overview table (one row per step: kind, name, latency,
tokens, cost, with the latency drawn as a bar), then one collapsible section per step.
Long observations and outputs are folded to their first lines with a "show all"
switch. Steps are read as plain dicts, so a step kind this module does not know (a
blueprint node, or a kind added later) is still shown: its name, its numbers and every
other field.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from evals.schema import Case, Question, ToolFixture, Trace, Verdict
from labeling_app.components.safe import plain_label

FOLD_CHARS = 1500
"""Text longer than this (or than FOLD_LINES lines) is folded behind "show all"."""
FOLD_LINES = 30
PAGE_STEPS = 25
"""Steps shown as sections at once (a long trace is paged: its overview lists all)."""
KIND_TITLES = {
    "model_call": "model call",
    "thought": "thought",
    "tool_call": "tool call",
    "observation": "observation",
    "final_answer": "final answer",
    "error": "error",
    "blueprint_node": "blueprint node",
    "node": "blueprint node",
}
_NAME_FIELDS = ("tool", "node", "node_id", "name", "model", "error_kind", "step")
_SHOWN_ELSEWHERE = {"kind", "usage", "latency_s"}


def text_block(text: object) -> None:
    """Untrusted text, wrapped, never interpreted."""
    st.code("" if text is None else str(text), language=None, wrap_lines=True)


def pretty_json(value: Any) -> str:
    """JSON pretty-printed (non-ASCII kept; anything else as its text)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _parsed(value: Any) -> Any:
    """A string that holds a JSON object or array, parsed; anything else unchanged."""
    if isinstance(value, str) and value[:1] in ("{", "[") and len(value) < 2_000_000:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def folded(value: Any, key: str) -> None:
    """A value as text (JSON pretty-printed and highlighted); when long, only its start
    with a "show all" switch."""
    value = _parsed(value)
    is_json = isinstance(value, dict | list)
    text = pretty_json(value) if is_json else ("" if value is None else str(value))
    language = "json" if is_json else None
    lines = text.count("\n") + 1
    if len(text) <= FOLD_CHARS and lines <= FOLD_LINES:
        st.code(text, language=language, wrap_lines=True)
        return
    show_all = st.toggle(f"show all ({len(text):,} characters, {lines:,} lines)", key=key)
    if show_all:
        st.code(text, language=language, wrap_lines=True)
    else:
        head = "\n".join(text[:FOLD_CHARS].splitlines()[:FOLD_LINES])
        st.code(head + "\n…", language=language, wrap_lines=True)


def json_or_text(value: Any) -> None:
    """A JSON value in the JSON viewer, or a scalar as a text block."""
    if isinstance(value, dict | list):
        st.json(value, expanded=2)
    else:
        text_block(value)


def render_case(case: Case, question: Question | None) -> None:
    """The question, the subject under review and the rubric."""
    st.markdown("**Question**")
    text_block(case.input.question)
    st.markdown("**Subject**")
    st.json(case.input.subject, expanded=True)
    rubric = case.rubric or (question.rubric if question else "")
    if rubric:
        st.markdown("**Rubric**")
        text_block(rubric)


# ------------------------------------------------------------------ steps as dicts


def as_dict(trace: Trace | dict[str, Any]) -> dict[str, Any]:
    """A trace as a plain dict (a dict is taken as it is: it may hold unknown kinds)."""
    return trace if isinstance(trace, dict) else trace.model_dump(mode="json")


def step_name(step: dict[str, Any], blind: bool) -> str:
    """What the step is about: a tool, a node, a model (hidden when blind)."""
    for name in _NAME_FIELDS:
        value = step.get(name)
        if isinstance(value, str) and value and not (blind and name == "model"):
            return value
    return ""


def step_numbers(step: dict[str, Any]) -> tuple[float | None, int | None, float | None]:
    """(latency s, tokens, cost USD) of a step, where it has them."""
    latency = step.get("latency_s")
    usage = step.get("usage") if isinstance(step.get("usage"), dict) else None
    tokens = cost = None
    if usage:
        tokens = sum(
            int(usage.get(k) or 0) for k in ("input_tokens", "cached_input_tokens", "output_tokens")
        )
        cost = float(usage.get("cost_usd") or 0.0)
    lat = float(latency) if isinstance(latency, int | float) else None
    return lat, tokens, cost


def _numbers_text(step: dict[str, Any]) -> str:
    latency, tokens, cost = step_numbers(step)
    parts = []
    if latency:
        parts.append(f"{latency:.2f} s")
    if tokens:
        parts.append(f"{tokens:,} tok")
    if cost:
        parts.append(f"${cost:.4f}")
    return " · ".join(parts)


def timeline_frame(steps: list[dict[str, Any]], blind: bool) -> pd.DataFrame:
    """One row per step: number, kind, name, latency, tokens, cost."""
    rows = []
    for i, step in enumerate(steps, start=1):
        latency, tokens, cost = step_numbers(step)
        kind = str(step.get("kind", "?"))
        rows.append(
            {
                "#": i,
                "step": KIND_TITLES.get(kind, kind),
                "name": step_name(step, blind)[:80],
                "latency s": latency,
                # Text, so steps without tokens or cost show blank rather than "None".
                "tokens": f"{tokens:,}" if tokens else "",
                "cost $": f"{cost:.4f}" if cost else "",
            }
        )
    return pd.DataFrame(rows, columns=["#", "step", "name", "latency s", "tokens", "cost $"])


def _step_body(step: dict[str, Any], key: str, blind: bool) -> None:
    kind = step.get("kind")
    if kind == "tool_call":
        if step.get("matched") is False:
            st.caption("no recorded observation matched this call")
        st.markdown("arguments")
        folded(step.get("arguments"), f"{key}_args")
        st.markdown("observation")
        folded(step.get("observation"), f"{key}_obs")
        return
    if kind == "model_call":
        folded(step.get("output") or "", f"{key}_out")
        if step.get("error"):
            st.markdown("error")
            text_block(step["error"])
        if isinstance(step.get("usage"), dict):
            st.code(pretty_json(step["usage"]), language="json")
        return
    if kind in ("thought", "final_answer"):
        folded(step.get("text", ""), f"{key}_text")
        return
    if kind == "error":
        text_block(step.get("message", ""))
        return
    # Any other kind (a blueprint node, a kind added later): every field, as text.
    for i, (name, value) in enumerate(step.items()):
        if name in _SHOWN_ELSEWHERE or (blind and name == "model"):
            continue
        st.markdown(plain_label(name))
        folded(value, f"{key}_f{i}")


def render_step(index: int, step: dict[str, Any], blind: bool, scope: str) -> None:
    """One step of a trace in its own collapsible section."""
    kind = str(step.get("kind", "?"))
    title = KIND_TITLES.get(kind, kind.replace("_", " "))
    name = step_name(step, blind)
    numbers = _numbers_text(step)
    label = f"{index}. {plain_label(title)}"
    label += f": {plain_label(name)}" if name else ""
    label += f" · {numbers}" if numbers else ""
    with st.expander(label, expanded=kind == "error"):
        _step_body(step, f"{scope}_s{index}", blind)


def step_page(n: int, scope: str) -> tuple[int, int]:
    """Which steps to show as sections: all of a short trace; of a long one, the page
    of PAGE_STEPS the reader picks (rendering hundreds of sections makes every rerun of
    the page slow)."""
    if n <= PAGE_STEPS:
        return 0, n
    pages = [(i, min(i + PAGE_STEPS, n)) for i in range(0, n, PAGE_STEPS)]
    chosen = st.selectbox(
        "Steps shown",
        pages,
        format_func=lambda p: f"steps {p[0] + 1} to {p[1]} of {n}",
        key=f"{scope}_page",
    )
    return chosen if chosen is not None else pages[0]


def render_trace(trace: Trace | dict[str, Any], blind: bool, scope: str = "trace") -> None:
    """The timeline (overview and every step), the trial's error, then the
    conversation. Blind: model names and the system prompt (which names the prompt
    version) hidden. ``scope`` keeps widget keys apart when two traces are on a page."""
    data = as_dict(trace)
    steps = [s for s in data.get("steps") or [] if isinstance(s, dict)]
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    tools = sum(s.get("kind") == "tool_call" for s in steps)
    total = step_numbers({"latency_s": data.get("latency_s"), "usage": usage})
    summary = f"**Trace** · {len(steps)} steps · {tools} tool calls"
    if total[0]:
        summary += f" · {total[0]:.2f} s"
    if total[1]:
        summary += f" · {total[1]:,} tokens"
    if total[2]:
        summary += f" · ${total[2]:.4f}"
    st.markdown(summary)
    if steps:
        frame = timeline_frame(steps, blind)
        top = max([v for v in frame["latency s"] if v is not None and v == v] or [1.0])
        st.dataframe(
            frame,
            hide_index=True,
            height=min(38 + 35 * len(frame), 260),
            key=f"{scope}_timeline",
            column_config={
                "latency s": st.column_config.ProgressColumn(
                    "latency", min_value=0.0, max_value=max(top, 1e-9), format="%.2f s"
                ),
            },
        )
    first, last = step_page(len(steps), scope)
    for i, step in enumerate(steps[first:last], start=first + 1):
        render_step(i, step, blind, scope)
    error = data.get("error")
    if isinstance(error, dict):
        st.markdown("**Trial error**")
        text_block(f"{error.get('kind')}:{error.get('code')}: {error.get('message')}")
    messages = [
        m
        for m in data.get("messages") or []
        if isinstance(m, dict) and not (blind and m.get("role") == "system")
    ]
    with st.expander(f"conversation ({len(messages)} messages)"):
        for i, m in enumerate(messages):
            st.markdown(f"_{plain_label(m.get('role', '?'))}_")
            folded(m.get("content") or "", f"{scope}_m{i}")
            if m.get("tool_calls"):
                st.code(pretty_json(m["tool_calls"]), language="json", wrap_lines=True)


def render_fixtures(fixtures: list[ToolFixture]) -> None:
    """The case's recorded tool data (for control items: what the agent would have seen)."""
    st.markdown(f"**Tool data** · {len(fixtures)} recorded results")
    for i, fx in enumerate(fixtures, start=1):
        with st.expander(f"{i}. {plain_label(fx.tool)}"):
            st.markdown("arguments")
            st.json(fx.arguments, expanded=True)
            st.markdown("result")
            folded(fx.observation, f"fixture_{i}")


def render_verdicts(verdicts: list[Verdict]) -> None:
    """Judges' verdicts, each with its reason as text."""
    for v in verdicts:
        score = "" if v.score is None else f" · score {v.score:.2f}"
        with st.expander(f"{plain_label(v.judge)}: {v.label}{score}"):
            text_block(v.reason or "(no reason given)")
            if v.error:
                st.markdown("error")
                text_block(v.error)
