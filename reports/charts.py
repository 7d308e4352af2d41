"""The report charts as plotly figure dicts, with the numbers and trials behind them.

Figures are plain dicts (no ``plotly.graph_objects`` import: it is slow and not
needed to serialize). Each builder returns a :class:`reports.model.ChartBlock`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evals.analysis.compare import PairedOutcomes
from evals.analysis.runstats import ArmStats, Funnel, HandlingTime, RateStat
from reports.model import ChartBlock, Evidence, TextBlock, cost_cell

PALETTE = ["#3366cc", "#dc7633", "#28a745", "#8e44ad", "#c0392b", "#17a2b8"]



def _count(keys: list[str], total: int) -> int | None:
    """Evidence.count: the total when the keys are a capped sample, else None."""
    return total if len(keys) < total else None

def _layout(title: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": {"text": title},
        "template": "none",
        "height": 380,
        "margin": {"l": 70, "r": 30, "t": 50, "b": 60},
        "legend": {"orientation": "h"},
    }
    base.update(extra)
    return base


def funnel_chart(chart_id: str, funnels: Sequence[tuple[str, Funnel]]) -> ChartBlock:
    """Candidates -> judge fails -> survivors -> reviewed -> rated helpful, per cell."""
    steps = [
        ("candidates", "candidates"),
        ("judge fails", "judge_fails"),
        ("survivors", "survivors"),
        ("reviewed", "reviewed"),
        ("rated helpful", "helpful"),
    ]
    data, values, evidence = [], [], []
    for i, (name, f) in enumerate(funnels):
        counts = [getattr(f, attr) for _, attr in steps]
        trace: dict[str, Any] = {
            "name": name,
            "y": [s for s, _ in steps],
            "x": counts,
            "marker": {"color": PALETTE[i % len(PALETTE)]},
        }
        # One cell: a funnel. Several: grouped horizontal bars (funnels of several
        # series overlap into something unreadable).
        if len(funnels) == 1:
            trace.update(type="funnel", textinfo="value+percent initial")
        else:
            trace.update(type="bar", orientation="h", text=counts, textposition="outside")
        data.append(trace)
        for (label, attr), count in zip(steps, counts, strict=True):
            values.append({"series": name, "step": label, "trials": count})
            keys = f.trial_keys.get(attr)
            evidence.append(
                Evidence(label=f"{name}: {label}", trial_keys=keys or [],
                         count=None if keys is not None else count)
            )
    return ChartBlock(
        id=chart_id,
        title="Review funnel",
        values=values,
        evidence=evidence,
        figure={
            "data": data,
            "layout": _layout(
                "Review funnel",
                barmode="group",
                yaxis={"autorange": "reversed"},
                height=max(380, 120 + 22 * len(steps) * len(funnels)),
            ),
        },
        caption="Judge fails are removed before review; survivors passed or "
        "abstained in the cascade; unjudged trials are neither.",
    )


def rate_chart(
    chart_id: str,
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[str, RateStat]]]],
    y_title: str = "rate",
) -> ChartBlock:
    """Grouped bars of rates with their Wilson intervals as error bars."""
    data, values, evidence = [], [], []
    for i, (name, points) in enumerate(series):
        xs = [x for x, _ in points]
        ys = [s.rate for _, s in points]
        data.append(
            {
                "type": "bar",
                "name": name,
                "x": xs,
                "y": ys,
                "marker": {"color": PALETTE[i % len(PALETTE)]},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        s.high - (s.rate or 0) if s.rate is not None else 0 for _, s in points
                    ],
                    "arrayminus": [
                        (s.rate or 0) - s.low if s.rate is not None else 0 for _, s in points
                    ],
                },
                "hovertemplate": "%{x}: %{y:.3f}<extra>" + name + "</extra>",
            }
        )
        for x, s in points:
            values.append(
                {
                    "series": name,
                    "x": x,
                    "k": s.k,
                    "n": s.n,
                    "rate": s.rate,
                    "low": s.low,
                    "high": s.high,
                }
            )
            evidence.append(
                Evidence(
                    label=f"{name}: {x}",
                    trial_keys=s.trial_keys,
                    count=_count(s.trial_keys, s.n),
                )
            )
    layout = _layout(title, barmode="group", yaxis={"range": [0, 1.05], "title": y_title})
    return ChartBlock(
        id=chart_id,
        title=title,
        values=values,
        evidence=evidence,
        figure={"data": data, "layout": layout},
        caption="Error bars: Wilson 95% intervals.",
    )


def rates_or_note(
    chart_id: str,
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[str, RateStat]]]],
    y_title: str = "rate",
    empty: str = "no data yet",
) -> ChartBlock | TextBlock:
    """The rate chart, or one line saying why there is none (an empty chart says nothing)."""
    if all(s.n == 0 for _, points in series for _, s in points):
        return TextBlock(text=f"{title}: {empty}.")
    return rate_chart(chart_id, title, series, y_title)


def handling_chart(chart_id: str, ht: HandlingTime) -> ChartBlock:
    """Active handling time per label, assisted against unassisted (log scale)."""
    data = [
        {
            "type": "box",
            "name": "assisted",
            "y": ht.assisted_s,
            "boxpoints": "all",
            "marker": {"color": PALETTE[0]},
        },
        {
            "type": "box",
            "name": "unassisted",
            "y": ht.unassisted_s,
            "boxpoints": "all",
            "marker": {"color": PALETTE[1]},
        },
    ]
    layout = _layout(
        "Handling time: assisted vs unassisted", yaxis={"type": "log", "title": "active seconds"}
    )
    interval = (
        "no interval (fewer than 2 reviewers)"
        if ht.low is None or ht.high is None
        else f"{ht.confidence:.0%} interval [{ht.low:.3f}, {ht.high:.3f}]"
    )
    return ChartBlock(
        id=chart_id,
        title="Handling time",
        figure={"data": data, "layout": layout},
        values=[
            {
                "arm": "assisted",
                "n": ht.n_assisted,
                "geomean_s": ht.geomean_assisted_s,
                "median_s": ht.median_assisted_s,
            },
            {
                "arm": "unassisted",
                "n": ht.n_unassisted,
                "geomean_s": ht.geomean_unassisted_s,
                "median_s": ht.median_unassisted_s,
            },
        ],
        evidence=[Evidence(label="assisted labels' trials", trial_keys=ht.trial_keys)],
        caption=f"Ratio of geometric means {ht.ratio:.3f} (reduction {ht.reduction:.1%}), "
        f"{interval}, bootstrap clustered by reviewer; {ht.reviewers} reviewers; idle "
        f"threshold {', '.join(f'{t:g}s' for t in ht.idle_threshold_s) or 'n/a'}.",
    )


def cost_latency_charts(prefix: str, arms: Sequence[tuple[str, ArmStats]]) -> list[ChartBlock]:
    """Mean cost per trial, and latency p50/p95, per model (or arm)."""
    names = [n for n, _ in arms]
    evidence = [
        Evidence(label=n, trial_keys=a.trial_keys, count=_count(a.trial_keys, a.trials))
        for n, a in arms
    ]
    cost = [a.cost_per_trial_usd for _, a in arms]
    p50 = [a.latency_p50_s for _, a in arms]
    p95 = [a.latency_p95_s for _, a in arms]
    cost_fig = {
        "data": [
            {
                "type": "bar",
                "x": names,
                "y": cost,
                "name": "cost per trial",
                "marker": {"color": PALETTE[0]},
            }
        ],
        "layout": _layout("Cost per trial (USD)", yaxis={"title": "USD"}),
    }
    lat_fig = {
        "data": [
            {"type": "bar", "x": names, "y": p50, "name": "p50", "marker": {"color": PALETTE[0]}},
            {"type": "bar", "x": names, "y": p95, "name": "p95", "marker": {"color": PALETTE[1]}},
        ],
        "layout": _layout("Latency per trial (s)", barmode="group", yaxis={"title": "seconds"}),
    }
    return [
        ChartBlock(
            id=f"{prefix}-cost",
            title="Cost per trial",
            figure=cost_fig,
            evidence=evidence,
            caption=(
                "No bar: the source recorded no price (unknown, not free)."
                if any(c is None for c in cost)
                else ""
            ),
            values=[
                {
                    "model": n,
                    "cost_per_trial_usd": cost_cell(c, a.trials, a.cost_unknown_trials),
                    "cost_total_usd": cost_cell(a.cost_total_usd, a.trials, a.cost_unknown_trials),
                }
                for (n, a), c in zip(arms, cost, strict=True)
            ],
        ),
        ChartBlock(
            id=f"{prefix}-latency",
            title="Latency",
            figure=lat_fig,
            evidence=evidence,
            values=[
                {"model": n, "p50_s": x, "p95_s": y}
                for n, x, y in zip(names, p50, p95, strict=True)
            ],
        ),
    ]


def matrix_chart(chart_id: str, paired: PairedOutcomes, what: str = "outcome") -> ChartBlock:
    """The paired 2x2 table: concordant cells and the two discordant ones."""
    z = [[paired.both_fail, paired.candidate_only], [paired.baseline_only, paired.both_pass]]
    x = ["candidate fail", "candidate pass"]
    y = ["baseline fail", "baseline pass"]
    data = [
        {
            "type": "heatmap",
            "z": z,
            "x": x,
            "y": y,
            "colorscale": [[0, "#f3f5f9"], [1, "#7aa0e0"]],
            "showscale": False,
            "text": [[str(v) for v in row] for row in z],
            "texttemplate": "%{text}",
            "hovertemplate": "%{y}, %{x}: %{z}<extra></extra>",
        }
    ]
    names = {
        "both_pass": "both pass",
        "baseline_only": "baseline only (b10)",
        "candidate_only": "candidate only (b01)",
        "both_fail": "both fail",
    }
    return ChartBlock(
        id=chart_id,
        title=f"Paired {what} matrix",
        figure={
            "data": data,
            "layout": _layout(
                f"Paired {what} matrix ({paired.n} pairs)",
                height=340,
                margin={"l": 110, "r": 30, "t": 50, "b": 50},
            ),
        },
        values=[{"cell": names[c], "pairs": getattr(paired, c)} for c in names],
        evidence=[
            Evidence(
                label=names[c],
                trial_keys=paired.cells.get(c, []),
                count=_count(paired.cells.get(c, []), paired.cell_trials.get(c, 0)),
            )
            for c in names
        ],
        caption=f"Discordant pairs drive McNemar's test: exact p = {paired.mcnemar_p:.4g}.",
    )


def forest_chart(
    chart_id: str, rows: Sequence[tuple[str, PairedOutcomes]], margins: Sequence[float]
) -> ChartBlock:
    """Paired differences with intervals per question, against the margins."""
    rows = [(n, p) for n, p in rows if p.diff is not None]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "candidate - baseline",
            "x": [p.diff for _, p in rows],
            "y": [n for n, _ in rows],
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": [p.high - (p.diff or 0) for _, p in rows],
                "arrayminus": [(p.diff or 0) - p.low for _, p in rows],
            },
            "marker": {"color": PALETTE[0], "size": 9},
        }
    ]
    shapes = [
        {
            "type": "line",
            "x0": x,
            "x1": x,
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "line": {"dash": "dot" if x else "solid", "color": "#c0392b" if x else "#555"},
        }
        for x in [0.0, *[-m for m in margins]]
    ]
    layout = _layout(
        "Difference in pass rate (candidate - baseline)",
        shapes=shapes,
        height=max(300, 60 + 40 * len(rows)),
        xaxis={"range": [-1, 1], "title": "difference", "zeroline": False},
        yaxis={"autorange": "reversed"},
    )
    return ChartBlock(
        id=chart_id,
        title="Paired differences",
        figure={"data": data, "layout": layout},
        values=[
            {"scope": n, "pairs": p.n, "diff": p.diff, "low": p.low, "high": p.high}
            for n, p in rows
        ],
        evidence=[
            Evidence(
                label=n,
                trial_keys=[k for ks in p.cells.values() for k in ks],
                count=_count(
                    [k for ks in p.cells.values() for k in ks], sum(p.cell_trials.values())
                ),
            )
            for n, p in rows
        ],
        caption="Dotted lines: minus each non-inferiority margin; an interval entirely right "
        "of a line shows non-inferiority at that margin.",
    )
