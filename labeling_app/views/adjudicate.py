"""Disagreements (leads): items whose reviewers disagree, and the lead's decision.

Each open disagreement shows the agent's answer, every reviewer's label and comment,
and a form: the lead's helpful / correctness and a reason (required). Saving appends an
``adjudication`` record (`labeling_app.queues.lead`): the lead's label wins as the item's
resolved label, recorded as adjudicated, by whom and why; the reviewers' labels stay.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from labeling_app.components.safe import plain_label
from labeling_app.components.trace_view import text_block
from labeling_app.data import lenient_trace, trial_raw
from labeling_app.queues.lead import ItemLabels, adjudicate, disagreements
from labeling_app.queues.service import QueueError, QueueService
from labeling_app.session import require_identity, service

HELPFUL = {"helpful": True, "not helpful": False}
CORRECTNESS = ["(none)", "correct", "partly", "wrong"]


def _labels_table(it: ItemLabels) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "reviewer": lb.reviewer,
                "helpful": lb.helpful,
                "correctness": lb.correctness,
                "comment": lb.comment,
                "corrected answer": lb.corrected_answer,
                "active s": lb.active_seconds,
            }
            for lb in it.labels
        ]
    )


def settle_form(svc: QueueService, it: ItemLabels, lead: str) -> None:
    """The lead's decision on one item."""
    key = f"adj_{it.queue_id}_{it.item_id}"
    with st.form(key):
        cols = st.columns(2)
        helpful = cols[0].radio("Lead's label", list(HELPFUL), horizontal=True, key=f"{key}_h")
        correctness = cols[1].radio("Correctness", CORRECTNESS, horizontal=True, key=f"{key}_c")
        reason = st.text_input("Reason (required)", key=f"{key}_r")
        saved = st.form_submit_button("Adjudicate", type="primary")
    if not saved:
        return
    try:
        adjudicate(
            svc,
            it.queue_id,
            it.item_id,
            lead,
            HELPFUL[helpful],
            # st.radio returns str; its options are CORRECTNESS (Correctness values).
            None if correctness == "(none)" else correctness,  # type: ignore[arg-type]
            reason,
        )
    except QueueError as exc:
        st.error(str(exc))
        return
    st.session_state["adj_flash"] = f"Adjudicated {it.item_id}."
    st.rerun()


def show_item(svc: QueueService, it: ItemLabels, lead: str) -> None:
    q = svc.queue(it.queue_id)
    question = q.questions.get(q.cases[it.case_id].question_id) if it.case_id in q.cases else None
    st.markdown(f"**{plain_label(question.title if question else it.case_id)}**")
    st.caption(plain_label(f"{it.queue_id} · {it.item_id} · case {it.case_id}", 200))
    found = trial_raw(svc.ws, it.trial_key) if it.trial_key else None
    st.markdown("Agent's answer")
    text_block(lenient_trace(found[1]).final_answer if found else "(trial missing)")
    st.markdown("Reviewers' labels")
    st.dataframe(_labels_table(it), hide_index=True, key=f"tbl_{it.item_id}")
    if it.adjudication is not None:
        adj = it.adjudication
        verdict = "helpful" if adj.helpful else "not helpful"
        st.success(
            f"Adjudicated by {plain_label(adj.by)}: {verdict}"
            + (f", {adj.correctness}" if adj.correctness else "")
        )
        st.markdown("Reason")
        text_block(adj.reason)
    settle_form(svc, it, lead)


def main() -> None:
    ident = require_identity(lead=True)
    svc = service()
    st.title("Disagreements")
    message = st.session_state.pop("adj_flash", None)
    if message:
        st.success(message)
    settled = st.toggle("Show settled ones too", key="adj_settled")
    items = disagreements(svc, include_settled=settled)
    if not items:
        st.info("No open disagreement: every item's reviewers agree (or a lead has decided).")
        return
    st.caption(f"{len(items)} item(s) · the lead's label wins and is recorded with the reason")
    names = {
        f"{it.queue_id}/{it.item_id}": f"{it.item_id} · {it.case_id} · "
        f"{len(it.labels)} labels" + (" · settled" if it.adjudication else "")
        for it in items
    }
    chosen = st.selectbox(
        "Item", list(names), format_func=lambda k: plain_label(names[k], 200), key="adj_item"
    )
    it = next(x for x in items if f"{x.queue_id}/{x.item_id}" == chosen)
    show_item(svc, it, ident.id)


main()
