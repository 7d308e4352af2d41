"""How a queue item is shown on the Review page, one renderer per kind of item.

Today every item is a single trial (or a control item: the case without the agent).
A new kind of item (e.g. a whole review: several question nodes of one subject, each
with its answer and trace) adds a renderer to `RENDERERS` under its kind; the Review
page only calls `render_item` and knows nothing about the layout of an item.

A single item: on the left the question, the subject, the rubric, the agent's answer
and the form, so they are always in view; on the right the trace in a scrolling panel
of its own, so a long trace never pushes the answer or the rubric away.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from evals.schema import Case
from labeling_app.components.rating import FormContext, rating_form
from labeling_app.components.safe import plain_label
from labeling_app.components.trace_view import (
    render_case,
    render_fixtures,
    render_trace,
    render_verdicts,
    text_block,
)
from labeling_app.data import lenient_trace, trial_raw, verdicts

TRACE_PANEL_PX = 780
"""Height of the trace's scrolling panel."""


def item_kind(ctx: FormContext) -> str:
    """The kind of an item ('single' unless the item says otherwise)."""
    kind = getattr(ctx.item, "kind", None)
    return kind if isinstance(kind, str) else "single"


def render_single(ctx: FormContext, show_verdicts: bool) -> None:
    """One trial (or one control item) with its form."""
    svc, q, item = ctx.svc, ctx.queue, ctx.item
    case: Case = q.cases[item.case_id]
    question = q.questions.get(item.question_id)
    found = trial_raw(svc.ws, item.trial_key) if item.trial_key else None
    left, right = st.columns([5, 6], gap="large")
    with left:
        st.markdown(f"#### {plain_label(question.title if question else item.question_id)}")
        render_case(case, question)
        if item.arm == "unassisted":
            st.info(
                "Control item: answer this question yourself, using the tool data "
                "on the right. There is no agent answer for it."
            )
        elif found is None:
            st.error("The trial of this item is missing from the workspace.")
        else:
            meta = (
                ""
                if q.blind
                else f" · model {plain_label(item.model_alias)} · prompt {plain_label(item.prompt)}"
            )
            st.markdown(f"**Agent's answer**{meta}")
            text_block(lenient_trace(found[1]).final_answer or "(the agent gave no answer)")
            if show_verdicts and item.trial_key:
                with st.expander("Judges' verdicts"):
                    render_verdicts(verdicts(svc.ws, item.trial_key))
        rating_form(ctx)
    with right, st.container(height=TRACE_PANEL_PX, border=False):
        if item.arm == "unassisted":
            render_fixtures(case.fixtures)
        elif found is not None:
            render_trace(found[1], blind=q.blind, scope="review")


RENDERERS: dict[str, Callable[[FormContext, bool], None]] = {"single": render_single}
"""Item kind -> how it is shown (with its form)."""


def render_item(ctx: FormContext, show_verdicts: bool) -> None:
    """Show an item of any known kind."""
    renderer = RENDERERS.get(item_kind(ctx))
    if renderer is None:
        st.error(f"This app cannot show items of kind {plain_label(item_kind(ctx))}.")
        return
    renderer(ctx, show_verdicts)
