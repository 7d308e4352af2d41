"""Whole review: one subject's question nodes on one page, in the review DAG's order.

The reviewer starts a review (the queue's claim machinery picks it: overlap, leases and
the control arm work per review), then decides its nodes one after another: each node
shows its question and rubric, the agent's answer and trace (a control review shows
the tool data instead, on every node), and takes helpful / correctness / corrected
answer / comment. Every decision is written in the button's callback, before the page
re-renders (`labeling_app.queues.review_work`); deciding the last node closes the review.
The heartbeat reports activity on the review item; each active gap belongs to the node
current when it started, so handling time is known per node and per review.
"""

from __future__ import annotations

import secrets
from typing import Literal

import streamlit as st

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
from labeling_app.queues.models import QueueItem, ReviewQueue
from labeling_app.queues.review_work import current_node, decide_node, done_nodes
from labeling_app.queues.service import Decision, QueueError, QueueService
from labeling_app.session import config, require_identity, service

CORRECTNESS = {"correct": "Correct", "partly": "Partly", "wrong": "Wrong"}


def flash(kind: str, text: str) -> None:
    """A message shown once, on the next run."""
    st.session_state["wr_flash"] = (kind, text)


def show_flash() -> None:
    kind, text = st.session_state.pop("wr_flash", (None, None))
    if kind == "error":
        st.error(text)
    elif kind:
        st.toast(text)


def key(name: str, item: QueueItem, question_id: str) -> str:
    """Session key of a node's draft field."""
    return f"wr_{name}__{item.item_id}__{question_id}"


def pick_review_queue(svc: QueueService, reviewer: str) -> ReviewQueue | None:
    """The review queue to work on: the one holding the reviewer's review, else chosen."""
    queues = [q for q in svc.queues().values() if any(it.nodes for it in q.items)]
    queues.sort(key=lambda q: q.created_at, reverse=True)
    held = [q.queue_id for q in queues if svc.holding(q.queue_id, reviewer)]
    usable = [q for q in queues if q.queue_id in held or not svc.summary(q.queue_id).closed]
    if not usable:
        st.info(
            "There is no open queue of whole reviews. A lead builds one with "
            "`evals label queue create --run RUN --reviews`."
        )
        return None
    ids = [q.queue_id for q in usable]
    names = {q.queue_id: f"{plain_label(q.name)} · {q.queue_id}" for q in usable}
    chosen = st.session_state.get("wr_queue_choice")
    first = held[0] if held and held[0] in ids else ids[0]
    queue_id = st.selectbox(
        "Queue of whole reviews",
        ids,
        index=ids.index(chosen) if chosen in ids else ids.index(first),
        format_func=names.__getitem__,
        key="wr_queue_select",
    )
    st.session_state["wr_queue_choice"] = queue_id
    return next(q for q in usable if q.queue_id == queue_id)


def on_start(svc: QueueService, queue_id: str, reviewer: str) -> None:
    """Button callback: claim the next review (nothing is claimed by opening the page)."""
    if svc.claim_next(queue_id, reviewer) is None:
        flash("ok", "Nothing left for you in this queue.")


def on_node(svc: QueueService, queue_id: str, item: QueueItem, qid: str, reviewer: str) -> None:
    """Button callback: write the node's decision (and, on the last node, the review's)."""
    ss = st.session_state
    decision = Decision(
        helpful=ss.get(key("helpful", item, qid)),
        correctness=ss.get(key("correctness", item, qid)),
        corrected_answer=ss.get(key("answer", item, qid)),
        comment=ss.get(key("comment", item, qid)),
    )
    try:
        _, review = decide_node(svc, queue_id, item, qid, reviewer, decision)
    except QueueError as exc:
        flash("error", str(exc))
        return
    flash("ok", "Review finished and saved." if review else "Node saved.")


def on_decline(
    svc: QueueService, queue_id: str, item: QueueItem, reviewer: str, act: Literal["skip", "flag"]
) -> None:
    """Button callback: skip or flag the whole review."""
    reason = st.session_state.get(f"wr_reason__{item.item_id}") or None
    try:
        svc.decide(queue_id, item.item_id, reviewer, Decision(action=act, comment=reason))
    except QueueError as exc:
        flash("error", str(exc))
        return
    flash("ok", f"Review {act}ped." if act == "skip" else "Review flagged.")


def on_undo(svc: QueueService, queue_id: str, reviewer: str) -> None:
    """Button callback: retract the last finished review and re-open it."""
    try:
        svc.undo_last(queue_id, reviewer)
    except QueueError as exc:
        flash("error", str(exc))
        return
    flash("ok", "Undone: the review is open again (its nodes start over).")


def set_draft(name: str, value: object) -> None:
    st.session_state[name] = value


def node_controls(svc: QueueService, q: ReviewQueue, item: QueueItem, qid: str, who: str) -> None:
    """Helpful, correctness, answer, comment and the node's submit button."""
    ss = st.session_state
    if item.arm == "assisted":
        hk, ck = key("helpful", item, qid), key("correctness", item, qid)
        st.markdown("**Was the agent's answer to this node helpful?** (required)")
        cols = st.columns(2)
        for col, value, text in ((cols[0], True, "Helpful"), (cols[1], False, "Not helpful")):
            col.button(text, key=f"wr_helpful_{value}", on_click=set_draft, args=(hk, value),
                       type="primary" if ss.get(hk) is value else "secondary",
                       width="stretch")  # fmt: skip
        thirds = st.columns(3)
        for col, (rating, text) in zip(thirds, CORRECTNESS.items(), strict=True):
            col.button(text, key=f"wr_{rating}", on_click=set_draft, args=(ck, rating),
                       type="primary" if ss.get(ck) == rating else "secondary",
                       width="stretch")  # fmt: skip
        st.text_area("Corrected answer (optional)", key=key("answer", item, qid), height=90)
    else:
        st.text_area("Your answer (required)", key=key("answer", item, qid), height=140)
    st.text_area("Comment (optional)", key=key("comment", item, qid), height=68)
    last = qid == (item.nodes or [])[-1].question_id
    st.button(
        "Submit node and finish the review" if last else "Submit node",
        key="wr_submit",
        type="primary",
        icon=":material/send:",
        on_click=on_node,
        args=(svc, q.queue_id, item, qid, who),
    )


def show_node(svc: QueueService, q: ReviewQueue, item: QueueItem, qid: str, who: str) -> None:
    """The current node: question, rubric, answer, controls on the left; trace right."""
    node = item.node_item(qid)
    case, question = q.cases[node.case_id], q.questions.get(qid)
    found = trial(svc.ws, node.trial_key) if node.trial_key else None
    left, right = st.columns([5, 6], gap="large")
    with left:
        st.markdown(f"#### {plain_label(question.title if question else qid)}")
        render_case(case, question)
        if item.arm == "unassisted":
            st.info("Control review: answer this node yourself from the tool data.")
        elif found is None:
            st.error("The trial of this node is missing from the workspace.")
        else:
            st.markdown("**Agent's answer**")
            text_block(found[1].final_answer or "(the agent gave no answer)")
            if svc.summary(q.queue_id).show_verdicts and node.trial_key:
                with st.expander("Judges' verdicts"):
                    render_verdicts(verdicts(svc.ws, node.trial_key))
        node_controls(svc, q, item, qid, who)
    with right:
        if item.arm == "unassisted":
            render_fixtures(case.fixtures)
        elif found is not None:
            render_trace(found[1], blind=q.blind)


def show_review(svc: QueueService, q: ReviewQueue, item: QueueItem, who: str) -> None:
    """The review's nodes: finished ones folded, the current one open, the rest listed."""
    nodes = item.nodes or []
    done = done_nodes(svc, q.queue_id, item, who)
    current = current_node(svc, q.queue_id, item, who)
    kind = "control review (no agent answers)" if item.arm == "unassisted" else "agent answers"
    review = plain_label(item.review_id)
    st.caption(f"Review {review} · {len(nodes)} nodes · {kind} · item {item.item_id}")
    st.progress(len(done) / len(nodes), text=f"Node {min(len(done) + 1, len(nodes))} of "
                f"{len(nodes)}")  # fmt: skip
    for i, n in enumerate(nodes, start=1):
        title = plain_label(q.questions[n.question_id].title if n.question_id in q.questions
                            else n.question_id)  # fmt: skip
        if n.question_id in done:
            lb = done[n.question_id]
            verdict = (
                "" if lb.helpful is None else (" · helpful" if lb.helpful else " · not helpful")
            )
            with st.expander(f"{i}. {title} · done{verdict}"):
                text_block(lb.corrected_answer or lb.comment or "(no answer or comment)")
        elif n.question_id == current:
            st.markdown(f"### {i}. {title}")
            show_node(svc, q, item, n.question_id, who)
        else:
            st.caption(f"{i}. {title} · after the nodes above")
    with st.expander("Skip or flag this whole review"):
        st.text_input("Reason (required to flag)", key=f"wr_reason__{item.item_id}")
        cols = st.columns(2)
        args = (svc, q.queue_id, item, who)
        cols[0].button("Skip review", key="wr_skip", on_click=on_decline, args=(*args, "skip"))
        cols[1].button("Flag review", key="wr_flag", on_click=on_decline, args=(*args, "flag"))


def main() -> None:
    ident = require_identity()
    svc = service()
    st.title("Whole review")
    show_flash()
    q = pick_review_queue(svc, ident.id)
    if q is None:
        return
    done, left = svc.progress(q.queue_id, ident.id)
    st.progress(done / (done + left) if done + left else 1.0,
                text=f"Your reviews: {done} done · {left} left")  # fmt: skip
    item = svc.holding(q.queue_id, ident.id)
    if item is None or item.nodes is None:
        cols = st.columns(2)
        cols[0].button("Start the next review", key="wr_start", type="primary",
                       on_click=on_start, args=(svc, q.queue_id, ident.id))  # fmt: skip
        cols[1].button("Undo my last review", key="wr_undo", on_click=on_undo,
                       args=(svc, q.queue_id, ident.id))  # fmt: skip
        return
    session = st.session_state.setdefault("session_id", secrets.token_hex(6))
    node = current_node(svc, q.queue_id, item, ident.id)
    if st.session_state.get("wr_shown") != item.item_id:
        svc.record_event(q.queue_id, item.item_id, ident.id, "shown",
                         data={"session": session, "node": node})  # fmt: skip
        st.session_state["wr_shown"] = item.item_id
    show_review(svc, q, item, ident.id)
    heartbeat(svc, q.queue_id, item.item_id, ident.id, config().heartbeat_s)


main()
