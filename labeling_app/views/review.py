"""Review: one item at a time, the trace beside the answer, every decision on disk first.

Opening the page claims nothing: the reviewer presses "Start reviewing" (a lead
looking around is never assigned items by visiting). From then on the item shown is
the reviewer's live claim (re-read from the store on every run), so a reload or a
restart brings the same item back, in the same queue (the choice is kept server-side),
with the draft as it was typed (`labeling_app.queues.drafts`). Decisions are written in the
buttons' callbacks, which run before the page re-renders: when the next item appears,
the previous decision is already in the store (fsync'd).

How an item looks is up to `labeling_app.components.item_view` (one renderer per kind
of item).

Keyboard: Y / N helpful or not, 1 / 2 / 3 correct, partly, wrong, Ctrl+Enter submit,
S skip, U undo the last decision.
"""

from __future__ import annotations

import secrets
from typing import Any

import streamlit as st

from labeling_app.components.autosave import mount_autosave
from labeling_app.components.heartbeat import mount_heartbeat
from labeling_app.components.item_view import render_item
from labeling_app.components.rating import FormContext, flash, text_fields
from labeling_app.components.safe import plain_label
from labeling_app.components.slots import top_slot
from labeling_app.queues.drafts import load_choice, save_choice, save_draft
from labeling_app.queues.models import QueueItem, ReviewQueue
from labeling_app.queues.service import QueueError, QueueService
from labeling_app.session import config, require_identity, service


def show_flash() -> None:
    kind, text = st.session_state.pop("flash", (None, None))
    if kind == "error":
        st.error(text)
    elif kind:
        st.toast(text)


def pick_queue(svc: QueueService, reviewer: str) -> ReviewQueue | None:
    """The queue to work on: the one holding the reviewer's claim, else the one they
    chose last (remembered server-side), else the newest."""
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
    chosen = st.session_state.get("queue_select") or load_choice(svc.ws.root, reviewer)
    index = ids.index(chosen) if chosen in ids else ids.index(held[0]) if held else 0
    if st.session_state.get("queue_select") not in ids:
        st.session_state["queue_select"] = ids[index]
    queue_id = st.selectbox("Queue", ids, format_func=names.__getitem__, key="queue_select")
    save_choice(svc.ws.root, reviewer, queue_id)
    return next(q for q in usable if q.queue_id == queue_id)


def on_undo(svc: QueueService, queue_id: str, reviewer: str) -> None:
    """Button callback: retract the last decision and re-open its item."""
    try:
        _, reopened = svc.undo_last(queue_id, reviewer)
    except QueueError as exc:
        flash("error", str(exc))
        return
    st.session_state[f"started__{queue_id}"] = True
    flash(
        "ok",
        "Undone: the item is open again."
        if reopened
        else "Undone; that item is now with other reviewers.",
    )


def undo_button(svc: QueueService, queue_id: str, reviewer: str) -> None:
    st.button(
        "Undo my last decision",
        key="btn_undo",
        shortcut="U",
        on_click=on_undo,
        args=(svc, queue_id, reviewer),
    )


def start(queue_id: str) -> None:
    """Button callback: from now on this session takes items from the queue."""
    st.session_state[f"started__{queue_id}"] = True


def main() -> None:
    ident = require_identity()
    svc = service()
    st.title("Review")
    show_flash()
    q = pick_queue(svc, ident.id)
    if q is None:
        return
    item = svc.holding(q.queue_id, ident.id)
    if item is not None:  # holding one (e.g. after a reload): they are reviewing
        st.session_state[f"started__{q.queue_id}"] = True
    elif st.session_state.get(f"started__{q.queue_id}"):
        item = svc.claim_next(q.queue_id, ident.id)
    done, left = svc.progress(q.queue_id, ident.id)
    st.progress(
        done / (done + left) if done + left else 1.0,
        text=f"Your progress: {done} done · {left} left",
    )
    if item is None:
        if left and not st.session_state.get(f"started__{q.queue_id}"):
            st.write(f"{left} items are waiting for you in this queue.")
            st.button(
                "Start reviewing",
                key="btn_start",
                type="primary",
                icon=":material/play_arrow:",
                on_click=start,
                args=(q.queue_id,),
            )
        else:
            st.success("Nothing left for you in this queue. Thank you!")
        undo_button(svc, q.queue_id, ident.id)
        return
    session = st.session_state.setdefault("session_id", secrets.token_hex(6))
    if st.session_state.get("shown_item") != item.item_id:
        svc.record_event(q.queue_id, item.item_id, ident.id, "shown", data={"session": session})
        st.session_state["shown_item"] = item.item_id
    kind = "control item" if item.arm == "unassisted" else "agent answer"
    st.caption(f"Item {item.item_id} · {kind}")
    ctx = FormContext(svc, q, item, ident.id)
    render_item(ctx, svc.summary(q.queue_id).show_verdicts)
    undo_button(svc, q.queue_id, ident.id)
    with top_slot():
        reporters(svc, q.queue_id, item, ident.id)


@st.fragment
def reporters(svc: QueueService, queue_id: str, item: QueueItem, reviewer: str) -> None:
    """The page's background reporters (activity heartbeats, the draft's autosave), in
    one fragment in the top slot (`labeling_app.components.slots`)."""
    root = svc.ws.root

    def save(item_id: str, fields: dict[str, Any]) -> None:
        save_draft(root, reviewer, item_id, fields)

    mount_heartbeat(svc, queue_id, item.item_id, reviewer, config().heartbeat_s)
    mount_autosave(item.item_id, text_fields(item), save)


main()
