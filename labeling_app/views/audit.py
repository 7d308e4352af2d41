"""Audit (leads): any trial's full trace, every verdict with its reason, every label
with its reviewer and time, and the raw timing events behind the handling times."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from evals.schema import Label
from labeling_app.components.safe import plain_label
from labeling_app.components.trace_view import render_trace, render_verdicts, text_block
from labeling_app.data import lenient_trace, trial_index, trial_raw, verdicts
from labeling_app.metrics.dashboard import effective
from labeling_app.queues.service import QueueService
from labeling_app.session import require_identity, service


def pick_trial(root: str) -> str | None:
    rows = trial_index(root)
    if not rows:
        st.info("No trials in this workspace yet.")
        return None
    typed = st.text_input(
        "Trial key (or part of a case id, run id or model)", key="audit_search"
    ).strip()
    matches = [
        r
        for r in rows
        if not typed
        or typed in r.key
        or any(typed in str(c or "") for c in (r.case_id, r.run_id, r.model_alias))
    ]
    if not matches:
        st.warning("No trial matches.")
        return None
    shown = matches[:500]
    labels = {
        r.key: f"{r.run_id} · {r.case_id} · {r.model_alias} · "
        f"{r.prompt} · rep {r.repetition} · {r.key}"
        for r in shown
    }
    return st.selectbox(
        f"Trial ({len(matches)} match)",
        [r.key for r in shown],
        format_func=lambda k: plain_label(labels[k], 200),
        key="audit_pick",
    )


def main() -> None:
    require_identity(lead=True)
    svc = service()
    st.title("Audit")
    key = pick_trial(str(svc.ws.root))
    if key is None:
        return
    found = trial_raw(svc.ws, key)
    if found is None:
        st.error("Trial not found.")
        return
    row, raw = found
    trace = lenient_trace(raw)
    st.json({k: str(v) if v is not None else None for k, v in row.items()}, expanded=False)
    left, right = st.columns([1, 1], gap="large")
    with left:
        st.subheader("Final answer")
        text_block(trace.final_answer or "(no answer)")
        st.subheader("Verdicts")
        found_verdicts = verdicts(svc.ws, key)
        if not found_verdicts:
            st.info("No verdicts on this trial.")
        render_verdicts(found_verdicts)
        st.subheader("Labels")
        labels = [lb for lb in svc.index.labels() if lb.trial_key == key]
        _labels_table(svc, labels)
        corrections(svc, key, {lb.id for lb in labels})
    with right:
        render_trace(raw, blind=False, scope="audit")


def _labels_table(svc: QueueService, labels: list[Label]) -> None:
    """Every label on the trial (undone ones marked retracted) and their raw timing
    events; a note when there is none."""
    if not labels:
        st.info("No reviewer has labelled this trial.")
        return
    live = {lb.id for lb in effective(labels)}
    rows = [
        {
            "reviewer": lb.reviewer,
            "action": lb.action,
            "helpful": lb.helpful,
            "correctness": lb.correctness,
            "corrected answer": lb.corrected_answer,
            "comment": lb.comment,
            "submitted at": lb.submitted_at,
            "active s": lb.active_seconds,
            "retracted": lb.action != "undo" and lb.id not in live,
            "queue": lb.queue_id,
            "label id": lb.id,
        }
        for lb in labels
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    events = [e for lb in labels for e in svc.index.events(lb.queue_id, lb.item_id, lb.reviewer)]
    with st.expander(f"raw timing events ({len(events)})"):
        timing = [
            {"reviewer": e.reviewer, "kind": e.kind, "at": e.at, "idle s": e.data.get("idle_s")}
            for e in sorted({e.id: e for e in events}.values(), key=lambda e: e.at)
        ]
        st.dataframe(pd.DataFrame(timing), hide_index=True)


def corrections(svc: QueueService, trial_key: str, label_ids: set[str]) -> None:
    """Edits of this trial's labels and a lead's adjudications of it (appended records)."""
    edits = [e for e in svc.index.records("label_edit") if e.new_label in label_ids]
    adjs = [a for a in svc.index.records("adjudication") if a.trial_key == trial_key]
    if not edits and not adjs:
        return
    st.subheader("Edits and adjudications")
    rows = [
        {
            "what": "edit",
            "by": e.by,
            "at": e.at,
            "reviewer": e.reviewer,
            "reason": e.reason,
            "changes": str(e.changes),
            "record": e.id,
        }
        for e in edits
    ] + [
        {
            "what": "adjudication",
            "by": a.by,
            "at": a.at,
            "reviewer": "",
            "reason": a.reason,
            "changes": f"helpful={a.helpful}, correctness={a.correctness}",
            "record": a.id,
        }
        for a in adjs
    ]
    st.dataframe(pd.DataFrame(rows).sort_values("at"), hide_index=True, key="audit_corrections")


main()
