"""Trials (leads): browse every trial, open one, compare two runs on a case, export.

Filters: run, model, prompt, question, the cascade's verdict, the human label (the
item's resolved label: adjudicated, unanimous, single, or split) and reviewer. Picking a
row opens that trial (answer, verdicts, labels, trace). "Compare runs" puts two runs'
trials on the same case side by side. "Export" downloads labels and trials as CSV or
Parquet (the same tables as `evals label export`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from labeling_app.components.safe import plain_label
from labeling_app.components.trace_view import render_trace, render_verdicts, text_block
from labeling_app.data import lenient_trace, trial_raw, verdicts
from labeling_app.queues.export import frame_of, to_bytes, trials_frame
from labeling_app.queues.lead import resolved_items
from labeling_app.queues.service import QueueService
from labeling_app.session import require_identity, service

HUMAN = {
    "helpful": "helpful",
    "not helpful": "not helpful",
    "split": "reviewers disagree",
    "none": "no label",
}
TABLE_COLUMNS = [
    "run_id",
    "case_id",
    "question_id",
    "model_alias",
    "prompt",
    "repetition",
    "status",
    "cascade_verdict",
    "human",
    "reviewers",
    "answer",
    "output_tokens",
    "cost_usd",
    "latency_s",
]


def human_of(source: str, helpful: bool | None) -> str:
    """A trial's human label in words (for the filter and the table)."""
    if source in ("split", "none"):
        return source
    return "helpful" if helpful else "not helpful"


def trial_table(svc: QueueService) -> pd.DataFrame:
    """Every trial with its verdict, its human label and its reviewers."""
    frame = trials_frame(svc)
    if frame.empty:
        return frame
    reviewers: dict[str, list[str]] = {}
    for it in resolved_items(svc).values():
        if it.trial_key:
            names = [lb.reviewer for lb in it.labels]
            if it.adjudication is not None:
                names.append(it.adjudication.by)
            reviewers[it.trial_key] = sorted(set(names))
    frame["human"] = [
        human_of(s, h) for s, h in zip(frame["human_source"], frame["human_helpful"], strict=True)
    ]
    frame["reviewers"] = [", ".join(reviewers.get(k, [])) for k in frame["trial_key"]]
    frame["cascade_verdict"] = frame["cascade_verdict"].fillna("none")
    frame["answer"] = [(a or "")[:160] for a in frame["final_answer"]]
    return frame


@st.cache_data(ttl=10, show_spinner=False, max_entries=4)
def cached_table(root: str) -> pd.DataFrame:
    """The trial table, recomputed at most every 10 s (filters rerun the page often)."""
    return trial_table(service())


def filters(frame: pd.DataFrame) -> pd.DataFrame:
    """The filter widgets; returns the rows they keep."""
    cols = st.columns(4)
    picked: dict[str, list[Any]] = {}
    specs = [
        ("run_id", "Run"),
        ("model_alias", "Model"),
        ("prompt", "Prompt"),
        ("question_id", "Question"),
        ("cascade_verdict", "Verdict"),
        ("human", "Human label"),
    ]
    for i, (col, label) in enumerate(specs):
        options = sorted({str(v) for v in frame[col].dropna()})
        picked[col] = cols[i % 4].multiselect(label, options, key=f"flt_{col}")
    everyone = sorted({r for v in frame["reviewers"] for r in v.split(", ") if r})
    who = cols[2].multiselect("Reviewer", everyone, key="flt_reviewer")
    text = cols[3].text_input("Case or answer contains", key="flt_text").strip().lower()
    keep = pd.Series(True, index=frame.index)
    for col, values in picked.items():
        if values:
            keep &= frame[col].astype(str).isin(values)
    if who:
        keep &= frame["reviewers"].apply(lambda v: any(r in v.split(", ") for r in who))
    if text:
        keep &= frame["case_id"].str.lower().str.contains(text, regex=False) | frame[
            "final_answer"
        ].fillna("").str.lower().str.contains(text, regex=False)
    return frame[keep]


def trial_detail(svc: QueueService, key: str, scope: str) -> None:
    """One trial: its answer, verdicts, human labels and trace."""
    found = trial_raw(svc.ws, key)
    if found is None:
        st.error("Trial not found.")
        return
    row, raw = found
    parts = [row["run_id"], row["case_id"], row["model_alias"], row["prompt"]]
    st.caption(" · ".join(plain_label(p) for p in [*parts, f"rep {row['repetition']}", key]))
    st.markdown("**Answer**")
    text_block(lenient_trace(raw).final_answer or "(no answer)")
    with st.expander("Verdicts"):
        render_verdicts(verdicts(svc.ws, key))
    labels = [
        it
        for it in resolved_items(svc).values()
        if it.trial_key == key and (it.labels or it.adjudication)
    ]
    with st.expander(f"Human labels ({sum(len(it.labels) for it in labels)})"):
        rows = [
            {
                "reviewer": lb.reviewer,
                "helpful": lb.helpful,
                "correctness": lb.correctness,
                "comment": lb.comment,
                "queue": lb.queue_id,
            }
            for it in labels
            for lb in it.labels
        ]
        rows += [
            {
                "reviewer": f"{it.adjudication.by} (adjudicated)",
                "helpful": it.adjudication.helpful,
                "correctness": it.adjudication.correctness,
                "comment": it.adjudication.reason,
                "queue": it.queue_id,
            }
            for it in labels
            if it.adjudication is not None
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, key=f"{scope}_labels")
    render_trace(raw, blind=False, scope=scope)


def browse(svc: QueueService, frame: pd.DataFrame) -> None:
    shown = filters(frame)
    st.caption(f"{len(shown)} of {len(frame)} trials · pick a row (or a trial below) to open it")
    event = st.dataframe(
        shown[TABLE_COLUMNS],
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="trials_table",
        height=320,
    )
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    picked = str(shown.iloc[rows[0]]["trial_key"]) if rows and rows[0] < len(shown) else None
    first = shown.head(500)
    names = {
        r["trial_key"]: f"{r['run_id']} · {r['case_id']} · {r['model_alias']} · {r['prompt']} · "
        f"rep {r['repetition']}"
        for _, r in first.iterrows()
    }
    chosen = st.selectbox(
        "Open a trial",
        list(names),
        index=None,
        format_func=lambda k: plain_label(names[k], 200),
        key="trials_open",
        placeholder="a trial of the table (the first 500)",
    )
    key = picked or chosen
    if key:
        st.subheader("Trial")
        trial_detail(svc, key, "open")


def _side(svc: QueueService, frame: pd.DataFrame, run: str, case: str, side: str) -> None:
    rows = frame[(frame["run_id"] == run) & (frame["case_id"] == case)]
    keys = list(rows["trial_key"])
    names = {
        r["trial_key"]: f"{r['model_alias']} · {r['prompt']} · rep {r['repetition']} · "
        f"{r['cascade_verdict']} · {r['human']}"
        for _, r in rows.iterrows()
    }
    key = st.selectbox(
        "Trial", keys, format_func=lambda k: plain_label(names[k], 200), key=f"cmp_pick_{side}"
    )
    if key:
        trial_detail(svc, key, f"cmp_{side}")


def compare(svc: QueueService, frame: pd.DataFrame) -> None:
    runs = sorted(frame["run_id"].unique())
    if len(runs) < 2:
        st.info("Comparing needs two runs in the workspace.")
        return
    cols = st.columns(3)
    run_a = cols[0].selectbox("Run A", runs, key="cmp_run_a")
    run_b = cols[1].selectbox("Run B", runs, index=1, key="cmp_run_b")
    shared = sorted(
        set(frame[frame["run_id"] == run_a]["case_id"])
        & set(frame[frame["run_id"] == run_b]["case_id"])
    )
    if not shared:
        st.warning("These runs have no case in common.")
        return
    case = cols[2].selectbox("Case", shared, key="cmp_case")
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader(f"A · {plain_label(run_a)}")
        _side(svc, frame, run_a, case, "a")
    with right:
        st.subheader(f"B · {plain_label(run_b)}")
        _side(svc, frame, run_b, case, "b")


def exports(svc: QueueService) -> None:
    st.write("Labels (every record, with its status and the item's resolved label) and trials.")
    cols = st.columns(4)
    for i, (what, fmt) in enumerate(
        [("labels", "csv"), ("labels", "parquet"), ("trials", "csv"), ("trials", "parquet")]
    ):
        cols[i].download_button(
            f"{what} · {fmt.upper()}",
            # mypy cannot infer a lambda's default-bound arguments (bound per button).
            data=lambda w=what, f=fmt: to_bytes(frame_of(svc, w), f),  # type: ignore[misc]
            file_name=f"{what}.{fmt}",
            mime="text/csv" if fmt == "csv" else "application/vnd.apache.parquet",
            key=f"dl_{what}_{fmt}",
            icon=":material/download:",
            on_click="ignore",
        )


def main() -> None:
    require_identity(lead=True)
    svc = service()
    st.title("Trials")
    frame = cached_table(str(svc.ws.root))
    if frame.empty:
        st.info("No trials in this workspace yet.")
        return
    tab_browse, tab_compare, tab_export = st.tabs(["Browse", "Compare runs", "Export"])
    with tab_browse:
        browse(svc, frame)
    with tab_compare:
        compare(svc, frame)
    with tab_export:
        exports(svc)


main()
