"""Queues (leads): build a queue, see each queue's state, show verdicts, close it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from evals.dataset.golden import GoldenSetError
from evals.store.query import query
from labeling_app.auth.roster import Identity
from labeling_app.components.safe import plain_label
from labeling_app.queues.build import QueueBuildError, create_queue, dataset_path_for
from labeling_app.queues.review_items import create_review_queue
from labeling_app.queues.service import QueueService
from labeling_app.session import require_identity, service


def queue_table(svc: QueueService) -> pd.DataFrame:
    rows = []
    for q in sorted(svc.queues().values(), key=lambda q: q.created_at, reverse=True):
        st_ = svc.summary(q.queue_id)
        rows.append(
            {
                "queue": q.queue_id,
                "name": q.name,
                "source": q.source,
                "items": len(q.items),
                "control": sum(it.arm == "unassisted" for it in q.items),
                "overlap k": q.overlap,
                "submitted": st_.submitted,
                "still needed": st_.needed,
                "held now": st_.held,
                "blind": q.blind,
                "verdicts shown": st_.show_verdicts,
                "closed": st_.closed,
                "created by": q.created_by,
                "created at": q.created_at,
            }
        )
    return pd.DataFrame(rows)


def settings_section(svc: QueueService, ident: Identity) -> None:
    queues = svc.queues()
    if not queues:
        return
    st.subheader("Change a queue")
    qid = st.selectbox(
        "Queue",
        sorted(queues),
        key="settings_queue",
        format_func=lambda q: f"{plain_label(queues[q].name)} · {q}",
    )
    state = svc.summary(qid)
    cols = st.columns(2)
    show = cols[0].toggle(
        "Show judges' verdicts to reviewers", value=state.show_verdicts, key=f"show_{qid}"
    )
    closed = cols[1].toggle(
        "Closed (hand out no new items)", value=state.closed, key=f"closed_{qid}"
    )
    if (show, closed) != (state.show_verdicts, state.closed) and st.button(
        "Save settings", key="save_settings", type="primary"
    ):
        svc.change_settings(qid, ident.id, show_verdicts=show, closed=closed)
        st.rerun()


def create_section(svc: QueueService, ident: Identity) -> None:
    st.subheader("Build a queue")
    runs = query(svc.ws, "SELECT run_id, dataset, started_at FROM runs ORDER BY started_at DESC")
    run_ids = [r["run_id"] for r in runs]
    with st.form("create_queue"):
        name = st.text_input("Name", value="review", key="cq_name")
        source = st.radio(
            "Items",
            ["survivors", "sample"],
            horizontal=True,
            key="cq_source",
            format_func={
                "survivors": "survivors of the judge cascade",
                "sample": "a sample of all trials",
            }.__getitem__,
        )
        chosen = st.multiselect(
            "Runs (sample: none = every run)", run_ids, default=run_ids[:1], key="cq_runs"
        )
        cols = st.columns(4)
        size = cols[0].number_input("Sample size (0 = all)", 0, 100_000, 0, key="cq_size")
        overlap = cols[1].number_input("Overlap k", 1, 10, 2, key="cq_overlap")
        control = cols[2].number_input("Control share", 0.0, 0.9, 0.2, step=0.05, key="cq_control")
        seed = cols[3].number_input("Seed", 0, 10**9, 0, key="cq_seed")
        cols = st.columns(4)
        blind = cols[0].checkbox("Blind (hide model and prompt)", True, key="cq_blind")
        shuffle = cols[1].checkbox("Random order", True, key="cq_shuffle")
        verdicts = cols[2].checkbox("Show judges' verdicts", False, key="cq_verdicts")
        lease = cols[3].number_input("Lease (minutes)", 1, 24 * 60, 20, key="cq_lease")
        idle = st.number_input("Idle threshold (seconds)", 5, 3600, 60, key="cq_idle")
        dataset = st.text_input("Golden set folder (empty: from the run)", key="cq_dataset")
        reviews = st.checkbox(
            "Whole reviews: one item per review of a review run, its questions in DAG "
            "order (sample size, overlap and control share then count reviews)",
            False,
            key="cq_reviews",
        )
        submitted = st.form_submit_button("Build queue", type="primary")
    if not submitted:
        return
    try:
        path = dataset_path_for(svc.ws, chosen, dataset or None)
        build = create_review_queue if reviews else create_queue  # the same arguments
        queue = build(
            svc.ws,
            source=source,
            run_ids=chosen,
            dataset=path,
            sample_size=int(size) or None,
            seed=int(seed),
            name=name or "review",
            created_by=ident.id,
            overlap=int(overlap),
            blind=blind,
            shuffle=shuffle,
            control_share=float(control),
            lease_s=float(lease) * 60,
            idle_threshold_s=float(idle),
            show_verdicts=verdicts,
        )
    except (QueueBuildError, GoldenSetError, OSError) as exc:
        st.error(str(exc).splitlines()[0])
        return
    unit = "reviews" if reviews else "items"
    st.success(f"Built queue {queue.queue_id} with {len(queue.items)} {unit}.")


def main() -> None:
    ident = require_identity(lead=True)
    svc = service()
    st.title("Queues")
    table = queue_table(svc)
    if table.empty:
        st.info("No queues yet.")
    else:
        st.dataframe(table, hide_index=True)
    settings_section(svc, ident)
    create_section(svc, ident)


main()
