"""The review form of one item: helpful, correctness, answer, comment, submit/skip/flag.

Its content is a draft until decided: every change is saved server-side at once
(`labeling_app.queues.drafts`; buttons in their callbacks, text fields as they are typed
through the autosave component and again when they lose focus), and restored when the
item is shown in a new session (after a reload). Decisions are written in the buttons'
callbacks, which run before the page re-renders, and the draft is then discarded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import streamlit as st

from labeling_app.queues.drafts import discard_draft, load_draft, save_draft
from labeling_app.queues.models import QueueItem, ReviewQueue
from labeling_app.queues.service import Decision, QueueError, QueueService

CORRECTNESS = {"correct": ("Correct", "1"), "partly": ("Partly", "2"), "wrong": ("Wrong", "3")}


@dataclass(frozen=True)
class FormContext:
    """Where a form's decisions and drafts go."""

    svc: QueueService
    queue: ReviewQueue
    item: QueueItem
    reviewer: str

    @property
    def root(self) -> Path:
        """The workspace folder (drafts live there)."""
        return self.svc.ws.root


def flash(kind: str, text: str) -> None:
    """A message shown once, on the next run."""
    st.session_state["flash"] = (kind, text)


def draft_key(name: str, item: QueueItem) -> str:
    """Widget key of a form field of an item (a new item gets fresh widgets)."""
    return f"{name}__{item.item_id}"


def text_fields(item: QueueItem) -> dict[str, str]:
    """Widget key -> draft field, for the autosave component."""
    return {draft_key(f, item): f for f in ("answer", "comment", "reason")}


def restore_draft(ctx: FormContext) -> None:
    """Put the saved draft into the form's widgets, once per session and item."""
    marker = f"draft_loaded__{ctx.item.item_id}"
    if st.session_state.get(marker):
        return
    st.session_state[marker] = True
    for field, value in load_draft(ctx.root, ctx.reviewer, ctx.item.item_id).items():
        if value is not None:
            st.session_state[draft_key(field, ctx.item)] = value


def save_field(ctx: FormContext, field: str, value: object) -> None:
    """Callback: remember a choice in the session and in the saved draft."""
    st.session_state[draft_key(field, ctx.item)] = value
    save_draft(ctx.root, ctx.reviewer, ctx.item.item_id, {field: value})


def save_text(ctx: FormContext, field: str) -> None:
    """Callback of a text field (on losing focus): save its text as the draft."""
    value = st.session_state.get(draft_key(field, ctx.item))
    save_draft(ctx.root, ctx.reviewer, ctx.item.item_id, {field: value or ""})


def on_decide(ctx: FormContext, action: Literal["submit", "skip", "flag"]) -> None:
    """Button callback: write the decision before the page re-renders."""
    ss, item = st.session_state, ctx.item
    reason = ss.get(draft_key("reason", item)) or None
    decision = Decision(
        action=action,
        helpful=ss.get(draft_key("helpful", item)),
        correctness=ss.get(draft_key("correctness", item)),
        corrected_answer=ss.get(draft_key("answer", item)),
        comment=reason if action != "submit" else ss.get(draft_key("comment", item)),
    )
    try:
        label = ctx.svc.decide(ctx.queue.queue_id, item.item_id, ctx.reviewer, decision)
    except QueueError as exc:
        flash("error", str(exc))
        return
    discard_draft(ctx.root, ctx.reviewer, item.item_id)
    flash("ok", f"Saved ({label.action}).")


def _choice_buttons(ctx: FormContext) -> None:
    ss, item = st.session_state, ctx.item
    hk, ck = draft_key("helpful", item), draft_key("correctness", item)
    st.markdown("**Was the agent's answer helpful?** (required)")
    cols = st.columns(2)
    for col, (value, text, key, short, icon) in zip(
        cols,
        [
            (True, "Helpful", "btn_yes", "Y", ":material/thumb_up:"),
            (False, "Not helpful", "btn_no", "N", ":material/thumb_down:"),
        ],
        strict=True,
    ):
        col.button(
            text,
            key=key,
            shortcut=short,
            icon=icon,
            type="primary" if ss.get(hk) is value else "secondary",
            on_click=save_field,
            args=(ctx, "helpful", value),
            width="stretch",
        )
    st.markdown("**Is it correct?**")
    thirds = st.columns(3)
    for col, (grade, (text, short)) in zip(thirds, CORRECTNESS.items(), strict=True):
        col.button(
            text,
            key=f"btn_{grade}",
            shortcut=short,
            width="stretch",
            type="primary" if ss.get(ck) == grade else "secondary",
            on_click=save_field,
            args=(ctx, "correctness", grade),
        )


def rating_form(ctx: FormContext) -> None:
    """Helpful yes/no, correctness, corrected answer, comment, submit / skip / flag."""
    restore_draft(ctx)
    item = ctx.item

    def area(field: str, label: str, height: int) -> None:
        st.text_area(
            label, key=draft_key(field, item), height=height, on_change=save_text, args=(ctx, field)
        )

    if item.arm == "assisted":
        _choice_buttons(ctx)
        area("answer", "Corrected answer (optional)", 100)
    else:
        area("answer", "Your answer (required)", 160)
    area("comment", "Comment (optional)", 68)
    st.button(
        "Submit",
        key="btn_submit",
        type="primary",
        shortcut="Ctrl+Enter",
        icon=":material/send:",
        on_click=on_decide,
        args=(ctx, "submit"),
    )
    with st.expander("Skip or flag this item"):
        st.text_input(
            "Reason (required to flag)",
            key=draft_key("reason", item),
            on_change=save_text,
            args=(ctx, "reason"),
        )
        cols = st.columns(2)
        cols[0].button(
            "Skip",
            key="btn_skip",
            shortcut="S",
            on_click=on_decide,
            args=(ctx, "skip"),
            width="stretch",
        )
        cols[1].button(
            "Flag",
            key="btn_flag",
            icon=":material/flag:",
            on_click=on_decide,
            args=(ctx, "flag"),
            width="stretch",
        )
