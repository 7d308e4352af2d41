"""Review: one item at a time, the trace beside the answer, every decision on disk first.

The item shown is always the reviewer's live claim (re-read from the store on every
run), so a reload or a restart brings the same item back. Decisions are written in the
buttons' callbacks, which run before the page re-renders: when the next item appears,
the previous decision is already in the store (fsync'd).

Keyboard: Y / N helpful or not, 1 / 2 / 3 correct, partly, wrong, Ctrl+Enter submit,
S skip, U undo the last decision.
"""

from __future__ import annotations

import secrets

import streamlit as st

from evals.schema import Case
from labeling_app.components.heartbeat import heartbeat
from labeling_app.components.safe import plain_label
from labeling_app.components.trace_view import (
    render_case,
    render_fixtures,
    render_trace,
    render_verdicts,
    text_block,
)
from labeling_app.data import trial, verdicts
from labeling_app.models import QueueItem, ReviewQueue
from labeling_app.queue import Decision, QueueError, QueueService
from labeling_app.session import config, require_identity, service

CORRECTNESS = {"correct": ("Correct", "1"), "partly": ("Partly", "2"), "wrong": ("Wrong", "3")}


def flash(kind: str, text: str) -> None:
    """A message shown once, on the next run."""
    st.session_state["flash"] = (kind, text)


def show_flash() -> None:
    kind, text = st.session_state.pop("flash", (None, None))
    if kind == "error":
        st.error(text)
    elif kind:
        st.toast(text)


def pick_queue(svc: QueueService, reviewer: str) -> ReviewQueue | None:
    """The queue to work on: the one holding the reviewer's claim, else the chosen one."""
    queues = sorted(svc.queues().values(), key=lambda q: q.created_at, reverse=True)
    queues = [q for q in queues if not any(it.nodes for it in q.items)]  # (whole reviews:
    # their own page, labeling_app/views/whole_review.py)
    closed = {q.queue_id: svc.summary(q.queue_id).closed for q in queues}
    holding = {q.queue_id: svc.holding(q.queue_id, reviewer) for q in queues}
    usable = [q for q in queues if not closed[q.queue_id] or holding[q.queue_id]]
    if not usable:
        st.info(
            "There is no open review queue yet. A lead builds one on the Queues page "
            "or with `evals label queue create`."
        )
        return None
    held = [q.queue_id for q in usable if holding[q.queue_id]]
    ids = [q.queue_id for q in usable]
    names = {q.queue_id: f"{plain_label(q.name)} · {q.queue_id}" for q in usable}
    chosen = st.session_state.get("queue_choice")
    index = ids.index(chosen) if chosen in ids else ids.index(held[0]) if held else 0
    queue_id = st.selectbox(
        "Queue", ids, index=index, format_func=names.__getitem__, key="queue_select"
    )
    st.session_state["queue_choice"] = queue_id
    return next(q for q in usable if q.queue_id == queue_id)


def draft_key(name: str, item: QueueItem) -> str:
    return f"{name}__{item.item_id}"


def set_draft(key: str, value: object) -> None:
    st.session_state[key] = value


def on_decide(
    svc: QueueService, queue_id: str, item: QueueItem, reviewer: str, action: str
) -> None:
    """Button callback: write the decision before the page re-renders."""
    ss = st.session_state
    reason = ss.get(draft_key("reason", item)) or None
    decision = Decision(
        action=action,  # type: ignore[arg-type]
        helpful=ss.get(draft_key("helpful", item)),
        correctness=ss.get(draft_key("correctness", item)),
        corrected_answer=ss.get(draft_key("answer", item)),
        comment=reason if action != "submit" else ss.get(draft_key("comment", item)),
    )
    try:
        label = svc.decide(queue_id, item.item_id, reviewer, decision)
    except QueueError as exc:
        flash("error", str(exc))
        return
    flash("ok", f"Saved ({label.action}).")


def on_undo(svc: QueueService, queue_id: str, reviewer: str) -> None:
    """Button callback: retract the last decision and re-open its item."""
    try:
        _, reopened = svc.undo_last(queue_id, reviewer)
    except QueueError as exc:
        flash("error", str(exc))
        return
    flash(
        "ok",
        "Undone: the item is open again."
        if reopened
        else "Undone; that item is now with other reviewers.",
    )


def rating_controls(svc: QueueService, q: ReviewQueue, item: QueueItem, reviewer: str) -> None:
    """Helpful yes/no, correctness, corrected answer, comment, submit / skip / flag."""
    ss = st.session_state
    hk, ck = draft_key("helpful", item), draft_key("correctness", item)
    if item.arm == "assisted":
        st.markdown("**Was the agent's answer helpful?** (required)")
        cols = st.columns(2)
        cols[0].button(
            "Helpful",
            key="btn_yes",
            shortcut="Y",
            icon=":material/thumb_up:",
            type="primary" if ss.get(hk) is True else "secondary",
            on_click=set_draft,
            args=(hk, True),
            width="stretch",
        )
        cols[1].button(
            "Not helpful",
            key="btn_no",
            shortcut="N",
            icon=":material/thumb_down:",
            type="primary" if ss.get(hk) is False else "secondary",
            on_click=set_draft,
            args=(hk, False),
            width="stretch",
        )
        st.markdown("**Is it correct?**")
        thirds = st.columns(3)
        for col, (value, (label, key)) in zip(thirds, CORRECTNESS.items(), strict=True):
            col.button(
                label,
                key=f"btn_{value}",
                shortcut=key,
                width="stretch",
                type="primary" if ss.get(ck) == value else "secondary",
                on_click=set_draft,
                args=(ck, value),
            )
        st.text_area("Corrected answer (optional)", key=draft_key("answer", item), height=100)
    else:
        st.text_area("Your answer (required)", key=draft_key("answer", item), height=160)
    st.text_area("Comment (optional)", key=draft_key("comment", item), height=68)
    args = (svc, q.queue_id, item, reviewer)
    st.button(
        "Submit",
        key="btn_submit",
        type="primary",
        shortcut="Ctrl+Enter",
        icon=":material/send:",
        on_click=on_decide,
        args=(*args, "submit"),
    )
    with st.expander("Skip or flag this item"):
        st.text_input("Reason (required to flag)", key=draft_key("reason", item))
        cols = st.columns(2)
        cols[0].button(
            "Skip",
            key="btn_skip",
            shortcut="S",
            on_click=on_decide,
            args=(*args, "skip"),
            width="stretch",
        )
        cols[1].button(
            "Flag",
            key="btn_flag",
            icon=":material/flag:",
            on_click=on_decide,
            args=(*args, "flag"),
            width="stretch",
        )


def show_item(
    svc: QueueService, q: ReviewQueue, item: QueueItem, reviewer: str, show_verdicts: bool
) -> None:
    """The case, the answer and its trace side by side (or the tool data, for controls)."""
    case: Case = q.cases[item.case_id]
    question = q.questions.get(item.question_id)
    found = trial(svc.ws, item.trial_key) if item.trial_key else None
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
            text_block(found[1].final_answer or "(the agent gave no answer)")
            if show_verdicts and item.trial_key:
                with st.expander("Judges' verdicts"):
                    render_verdicts(verdicts(svc.ws, item.trial_key))
        rating_controls(svc, q, item, reviewer)
    with right:
        if item.arm == "unassisted":
            render_fixtures(case.fixtures)
        elif found is not None:
            render_trace(found[1], blind=q.blind)


def main() -> None:
    ident = require_identity()
    svc = service()
    st.title("Review")
    show_flash()
    q = pick_queue(svc, ident.id)
    if q is None:
        return
    item = svc.claim_next(q.queue_id, ident.id)
    done, left = svc.progress(q.queue_id, ident.id)
    st.progress(
        done / (done + left) if done + left else 1.0,
        text=f"Your progress: {done} done · {left} left",
    )
    if item is None:
        st.success("Nothing left for you in this queue. Thank you!")
        st.button(
            "Undo my last decision",
            key="btn_undo",
            shortcut="U",
            on_click=on_undo,
            args=(svc, q.queue_id, ident.id),
        )
        return
    session = st.session_state.setdefault("session_id", secrets.token_hex(6))
    if st.session_state.get("shown_item") != item.item_id:
        svc.record_event(q.queue_id, item.item_id, ident.id, "shown", data={"session": session})
        st.session_state["shown_item"] = item.item_id
    kind = "control item" if item.arm == "unassisted" else "agent answer"
    st.caption(f"Item {item.item_id} · {kind}")
    show_item(svc, q, item, ident.id, svc.summary(q.queue_id).show_verdicts)
    st.button(
        "Undo my last decision",
        key="btn_undo",
        shortcut="U",
        on_click=on_undo,
        args=(svc, q.queue_id, ident.id),
    )
    heartbeat(svc, q.queue_id, item.item_id, ident.id, config().heartbeat_s)


main()
