"""The dashboard's "Whole reviews" section: helpfulness and handling time per review
and per node (the numbers of `labeling_app.metrics.reviews`, recomputed from the raw
events with the dashboard's idle threshold)."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from evals.schema import Label, ReviewEvent
from labeling_app.metrics.reviews import review_frames, summary_tables
from labeling_app.queues.models import ReviewQueue


def _pct(x: Any) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _pct_columns(*names: str) -> dict[str, Any]:
    return {n: st.column_config.NumberColumn(n, format="percent") for n in names}


def render_whole_reviews(
    queues: dict[str, ReviewQueue],
    labels: list[Label],
    events: list[ReviewEvent],
    threshold_s: float,
    counted: set[str],
) -> None:
    """The section (nothing when no chosen queue holds whole reviews)."""
    if not any(it.nodes for q in queues.values() for it in q.items):
        return
    st.subheader("Whole reviews")
    reviews, nodes = review_frames(queues, labels, events, threshold_s, counted=counted)
    if reviews.empty:
        st.info("No whole review finished yet.")
        return
    tables = summary_tables(reviews, nodes)
    sim = " · SIMULATED" if bool(reviews["simulated"].any()) else ""
    cols = st.columns(2)
    rh = tables["review_helpfulness"]
    if not rh.empty:
        row = rh.iloc[0]
        cols[0].metric(
            "Helpful reviews (every node helpful)" + sim,
            _pct(row["rate"]),
            help=f"Wilson 95% interval {_pct(row['low'])} – {_pct(row['high'])}, "
            f"n = {row['n']} reviews",
        )
    rt = tables["review_time"]
    if not rt.empty:
        row = rt.iloc[0]
        cols[1].metric(
            "Handling time per review: reduction" + sim,
            _pct(row["reduction"]),
            help=f"95% interval {_pct(row['reduction_low'])} – {_pct(row['reduction_high'])} "
            f"(bootstrap over reviewers); {row['n_assisted']} assisted and "
            f"{row['n_unassisted']} control reviews; idle threshold {threshold_s:.0f} s",
        )
    st.markdown("**Per review**")
    st.dataframe(
        rh.merge(rt.drop(columns="simulated"), on="scope", how="outer"),
        hide_index=True,
        column_config=_pct_columns("rate", "low", "high", "reduction", "reduction_low",
                                   "reduction_high"),
    )  # fmt: skip
    st.markdown("**Per node (question), in the reviews' DAG order**")
    table = tables["node_helpfulness"].merge(
        tables["node_time"], on="question_id", how="outer", suffixes=("", "_time")
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config=_pct_columns("rate", "low", "high", "reduction", "reduction_low",
                                   "reduction_high"),
    )  # fmt: skip
