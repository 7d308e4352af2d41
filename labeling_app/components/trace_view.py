"""Rendering a case, an answer and a trace as text only.

Everything that came from an agent, a tool, a judge or a reviewer is untrusted and is
shown with ``st.code`` (wrapped, no Markdown), ``st.text`` or ``st.json`` (a JSON viewer
that shows strings as text). Expander labels are Markdown, so their dynamic parts go
through `plain_label`. Nothing here uses ``unsafe_allow_html`` or renders Markdown of
untrusted text.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from evals.schema import (
    Case,
    ErrorStep,
    FinalAnswerStep,
    ModelCallStep,
    Question,
    ThoughtStep,
    ToolCallStep,
    ToolFixture,
    Trace,
    Verdict,
)
from labeling_app.components.safe import plain_label


def text_block(text: object) -> None:
    """Untrusted text, wrapped, never interpreted."""
    st.code("" if text is None else str(text), language=None, wrap_lines=True)


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


def render_step(index: int, step: Any, blind: bool) -> None:
    """One step of a trace in its own collapsible section."""
    if isinstance(step, ToolCallStep):
        note = "" if step.matched else " (no recorded observation)"
        with st.expander(f"{index}. tool call: {plain_label(step.tool)}{note}"):
            st.markdown("arguments")
            st.json(step.arguments, expanded=True)
            st.markdown("observation")
            json_or_text(step.observation)
    elif isinstance(step, ThoughtStep):
        with st.expander(f"{index}. thought"):
            text_block(step.text)
    elif isinstance(step, ModelCallStep):
        who = "" if blind else f": {plain_label(step.model)}"
        with st.expander(f"{index}. model call{who}"):
            text_block(step.output or "")
            if step.error:
                st.markdown("error")
                text_block(step.error)
            st.json(step.usage.model_dump(mode="json"), expanded=False)
    elif isinstance(step, FinalAnswerStep):
        with st.expander(f"{index}. final answer"):
            text_block(step.text)
    elif isinstance(step, ErrorStep):
        with st.expander(f"{index}. error: {plain_label(step.error_kind)}"):
            text_block(step.message)


def render_trace(trace: Trace, blind: bool) -> None:
    """Every step (tool calls with arguments and observations), then the conversation.
    Blind: model names and the system prompt (which names the prompt version) hidden."""
    st.markdown(f"**Trace** · {len(trace.steps)} steps · {len(trace.tool_calls())} tool calls")
    for i, step in enumerate(trace.steps, start=1):
        render_step(i, step, blind)
    if trace.error is not None:
        st.markdown("**Trial error**")
        text_block(f"{trace.error.kind}:{trace.error.code}: {trace.error.message}")
    messages = [m for m in trace.messages if not (blind and m.role == "system")]
    with st.expander(f"conversation ({len(messages)} messages)"):
        for m in messages:
            st.markdown(f"_{plain_label(m.role)}_")
            text_block(m.content or "")
            if m.tool_calls:
                st.json(m.tool_calls, expanded=False)


def render_fixtures(fixtures: list[ToolFixture]) -> None:
    """The case's recorded tool data (for control items: what the agent would have seen)."""
    st.markdown(f"**Tool data** · {len(fixtures)} recorded results")
    for i, fx in enumerate(fixtures, start=1):
        with st.expander(f"{i}. {plain_label(fx.tool)}"):
            st.markdown("arguments")
            st.json(fx.arguments, expanded=True)
            st.markdown("result")
            json_or_text(fx.observation)


def render_verdicts(verdicts: list[Verdict]) -> None:
    """Judges' verdicts, each with its reason as text."""
    for v in verdicts:
        score = "" if v.score is None else f" · score {v.score:.2f}"
        with st.expander(f"{plain_label(v.judge)}: {v.label}{score}"):
            text_block(v.reason or "(no reason given)")
            if v.error:
                st.markdown("error")
                text_block(v.error)
