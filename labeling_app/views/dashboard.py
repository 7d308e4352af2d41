"""Dashboard (leads): helpfulness, handling time, agreement and progress per reviewer.

Every number is recomputed from the store on each run, with the idle threshold chosen
here (the raw timing events are kept, so changing it re-derives every active time).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from labeling_app.components.review_stats import render_whole_reviews
from labeling_app.components.safe import chart_label, plain_label
from labeling_app.metrics import dashboard as metrics
from labeling_app.session import require_identity, service


def pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def helpful_section(df: pd.DataFrame, by: str) -> None:
    st.subheader("Helpfulness")
    table = metrics.helpfulness(df, by)
    if table.empty:
        st.info("No assisted submissions yet.")
        return
    overall = metrics.helpfulness(df.assign(all="all"), "all").iloc[0]
    st.metric(
        "Helpful (reviewed trials)" + (" · SIMULATED" if overall["simulated"] else ""),
        pct(overall["rate"]),
        help=f"Wilson 95% interval {pct(overall['low'])} – {pct(overall['high'])}, "
        f"n = {overall['n']}",
    )
    labels = [chart_label(g) for g in table[by]]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=table["rate"],
            error_y=dict(
                type="data",
                symmetric=False,
                array=table["high"] - table["rate"],
                arrayminus=table["rate"] - table["low"],
            ),
            hovertext=[f"n={n}" for n in table["n"]],
        )
    )
    fig.update_layout(
        yaxis=dict(range=[0, 1], tickformat=".0%", title="helpful"),
        height=320,
        margin=dict(t=20, b=20),
    )
    st.plotly_chart(fig, key="chart_helpful")
    st.dataframe(table, hide_index=True, column_config=_pct_columns("rate", "low", "high"))


def time_section(df: pd.DataFrame, by: str, threshold: float) -> None:
    st.subheader("Handling time (active)")
    sub = df[(df["action"] == "submit") & (df["active_s"] > 0)]
    if sub.empty:
        st.info("No timed submissions yet.")
        return
    overall = metrics.handling_time(df.assign(all="all"), "all")
    if not overall.empty:
        row = overall.iloc[0]
        cols = st.columns(3)
        cols[0].metric("Median assisted", f"{row['median_assisted_s']:.0f} s")
        cols[1].metric(
            "Median unassisted",
            f"{row['median_unassisted_s']:.0f} s" if row["n_unassisted"] else "–",
        )
        cols[2].metric(
            "Reduction (geometric means)" + (" · SIMULATED" if row["simulated"] else ""),
            pct(row["reduction"]),
            help=f"95% interval {pct(row['reduction_low'])} – "
            f"{pct(row['reduction_high'])} (bootstrap over reviewers); "
            f"n = {row['n_assisted']} assisted, {row['n_unassisted']} "
            f"unassisted; idle threshold {threshold:.0f} s",
        )
    fig = go.Figure()
    for arm in ("assisted", "unassisted"):
        part = sub[sub["arm"] == arm]
        fig.add_trace(
            go.Box(
                x=[chart_label(g) for g in part[by]], y=part["active_s"], name=arm, boxpoints="all"
            )
        )
    fig.update_layout(
        boxmode="group",
        yaxis=dict(title="active seconds", rangemode="tozero"),
        height=340,
        margin=dict(t=20, b=20),
    )
    st.plotly_chart(fig, key="chart_time")
    table = metrics.handling_time(df, by)
    st.dataframe(
        table,
        hide_index=True,
        column_config=_pct_columns("reduction", "reduction_low", "reduction_high"),
    )


def agreement_section(df: pd.DataFrame) -> None:
    st.subheader("Agreement between reviewers")
    results = [metrics.agreement(df, f) for f in ("helpful", "correctness")]
    if not any(r["items"] for r in results):
        st.info("No item has more than one submission yet (overlap k > 1 gives these).")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {k: r[k] for k in ("field", "items", "fleiss", "fleiss_items", "krippendorff")}
                for r in results
            ]
        ),
        hide_index=True,
    )
    pairs = [dict(p, field=r["field"]) for r in results for p in r["pairs"]]
    if pairs:
        st.markdown(f"Cohen's kappa per reviewer pair (≥ {metrics.MIN_PAIR_ITEMS} shared items)")
        st.dataframe(pd.DataFrame(pairs), hide_index=True)


def progress_section(df: pd.DataFrame, holding: dict[str, int]) -> None:
    st.subheader("Progress per reviewer")
    table = metrics.progress(df, holding)
    if table.empty:
        st.info("Nobody has reviewed anything yet.")
        return
    fig = go.Figure(
        [
            go.Bar(name=col, x=[chart_label(r) for r in table["reviewer"]], y=table[col])
            for col in ("submitted", "skipped", "flagged")
        ]
    )
    fig.update_layout(barmode="stack", height=300, margin=dict(t=20, b=20))
    st.plotly_chart(fig, key="chart_progress")
    st.dataframe(table, hide_index=True)
    flags = df[df["action"] == "flag"][["item_id", "reviewer", "comment", "submitted_at"]]
    if not flags.empty:
        st.markdown("**Flagged items**")
        st.dataframe(flags, hide_index=True)


def _pct_columns(*names: str) -> dict[str, Any]:
    return {n: st.column_config.NumberColumn(n, format="percent") for n in names}


def main() -> None:
    require_identity(lead=True)
    svc = service()
    st.title("Dashboard")
    queues = svc.queues()
    if not queues:
        st.info("No review queues yet.")
        return
    ids = sorted(queues, key=lambda q: queues[q].created_at, reverse=True)
    cols = st.columns([3, 2, 2])
    chosen = cols[0].multiselect(
        "Queues",
        ids,
        default=ids[:1],
        key="dash_queues",
        format_func=lambda q: f"{plain_label(queues[q].name)} · {q}",
    )
    group = cols[1].selectbox("Group by", list(metrics.GROUPS), index=1, key="dash_group")
    default_t = queues[chosen[0]].idle_threshold_s if chosen else 60.0
    threshold = cols[2].number_input(
        "Idle threshold (s)", 5.0, 3600.0, float(default_t), step=5.0, key="dash_threshold"
    )
    include_sim = st.checkbox(
        "Include simulated reviewers (ids starting with sim:)", value=False, key="dash_sim"
    )
    selected = {q: queues[q] for q in chosen}
    labels = [lb for q in chosen for lb in svc.index.labels(q)]
    events = [e for q in chosen for e in svc.index.events(q)]
    if not include_sim:
        labels = [lb for lb in labels if not metrics.is_simulated(lb.reviewer)]
    counted = metrics.counted_ids(svc.ws, chosen)
    df = metrics.label_frame(selected, labels, events, threshold, counted=counted)
    if include_sim and bool(df["simulated"].any()):
        st.warning(
            "SIMULATED: these numbers include simulated reviewers' labels (sim:...), "
            "demo data, not measurements of people."
        )
    holding: dict[str, int] = {}
    summaries = [svc.summary(q) for q in chosen]
    for summary in summaries:
        for r, n in summary.holding.items():
            holding[r] = holding.get(r, 0) + n
    needed = sum(summary.needed for summary in summaries)
    st.caption(f"{len(df)} decisions · {needed} submissions still needed for overlap k")
    by = metrics.GROUPS[group]
    helpful_section(df, by)
    time_section(df, by, threshold)
    agreement_section(df)
    progress_section(df, holding)
    render_whole_reviews(selected, labels, events, threshold, counted)


main()
