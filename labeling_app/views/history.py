"""My labels: a reviewer's own submissions, and editing a past one.

Every current label of the person is listed (newest first), with how often it was
edited. Editing writes an undo of the old label, a new label with the changes (same
item and handling time) and an audited ``label_edit`` record with the reason
(`labeling_app.queues.lead.edit_label`); nothing is changed in place.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from evals.schema import Label
from labeling_app.components.safe import plain_label
from labeling_app.components.trace_view import text_block
from labeling_app.queues.lead import edit_label, history
from labeling_app.queues.lead_records import LabelEdit
from labeling_app.queues.service import QueueError, QueueService
from labeling_app.session import require_identity, service

HELPFUL = {"helpful": True, "not helpful": False}
CORRECTNESS = ["(none)", "correct", "partly", "wrong"]


def history_table(labels: list[Label], chains: dict[str, list[LabelEdit]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "submitted": lb.submitted_at,
                "queue": lb.queue_id,
                "item": lb.item_id,
                "case": lb.case_id,
                "arm": lb.arm,
                "helpful": lb.helpful,
                "correctness": lb.correctness,
                "comment": lb.comment,
                "edits": len(chains.get(lb.id, [])),
            }
            for lb in labels
        ]
    )


def edit_form(svc: QueueService, lb: Label, by: str) -> None:
    """Change one label (a reason is required)."""
    key = f"edit_{lb.id}"
    with st.form(key):
        cols = st.columns(2)
        helpful = None
        correctness = None
        if lb.arm == "assisted":
            helpful = cols[0].radio(
                "Helpful",
                list(HELPFUL),
                index=0 if lb.helpful else 1,
                horizontal=True,
                key=f"{key}_h",
            )
            correctness = cols[1].radio(
                "Correctness",
                CORRECTNESS,
                index=CORRECTNESS.index(lb.correctness or "(none)"),
                horizontal=True,
                key=f"{key}_c",
            )
        answer = st.text_area("Answer", value=lb.corrected_answer or "", key=f"{key}_a")
        comment = st.text_area("Comment", value=lb.comment or "", key=f"{key}_m")
        reason = st.text_input("Reason for the edit (required)", key=f"{key}_r")
        saved = st.form_submit_button("Save edit", type="primary")
    if not saved:
        return
    new: dict[str, object] = {"corrected_answer": answer, "comment": comment}
    if lb.arm == "assisted":
        new["helpful"] = HELPFUL[str(helpful)]
        new["correctness"] = None if correctness == "(none)" else correctness
    try:
        edit_label(svc, lb.id, by, new, reason)
    except QueueError as exc:
        st.error(str(exc))
        return
    st.session_state["history_flash"] = "Edit saved (the old label is kept in the audit trail)."
    st.rerun()


def main() -> None:
    ident = require_identity()
    svc = service()
    st.title("My labels")
    message = st.session_state.pop("history_flash", None)
    if message:
        st.success(message)
    labels, chains = history(svc, ident.id)
    if not labels:
        st.info("You have not submitted any label yet.")
        return
    st.dataframe(history_table(labels, chains), hide_index=True, key="history_table")
    names = {
        lb.id: f"{lb.submitted_at:%Y-%m-%d %H:%M} · {lb.item_id} · {lb.case_id}" for lb in labels
    }
    chosen = st.selectbox(
        "Edit a label",
        list(names),
        format_func=lambda k: plain_label(names[k], 200),
        key="hist_pick",
    )
    lb = next(x for x in labels if x.id == chosen)
    for edit in chains.get(lb.id, []):
        changed = ", ".join(sorted(edit.changes))
        st.caption(plain_label(f"edited {edit.at:%Y-%m-%d %H:%M} by {edit.by}: {changed}", 200))
        text_block(edit.reason)
    edit_form(svc, lb, ident.id)


main()
