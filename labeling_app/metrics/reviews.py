"""Whole-review numbers: helpfulness and handling time per node and per review.

One row per counted review label (a reviewer's finished pass over a whole review: the
store's ``counted_labels``, so an undo retracts and the latest submit counts) and one
per node of it (the node labels of that pass). Times are recomputed from the raw events
with the threshold asked for, as on the dashboard: the review's active time is
`labeling_app.metrics.timing.active_seconds` of its timeline, a node's is its share of it
(`labeling_app.queues.review_items.node_seconds`); the nodes' times add up to the review's.

Definitions (docs/whole-reviews.md):

* **a review is helpful** to a reviewer when they rated every one of its nodes helpful;
  a review item (one subject answered by one model and prompt) is helpful when most of
  its reviewers found it so (a tie is not), as a trial is for single items; the rate
  over review items has a Wilson 95% interval (`evals.analysis.runstats.rate_stat`);
* **a node is helpful** as a single item's trial is (`evals.analysis.runstats.helpful_by_trial`
  over the node labels, grouped by question);
* **handling time per review**: assisted vs control (unassisted) reviews, ratio of
  geometric means of active seconds with a bootstrap interval that resamples reviewers,
  reduction ``1 - ratio`` (`evals.analysis.runstats.handling_time`, the per-item definition);
  per node the same over node times, by question.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import pandas as pd

from evals.analysis.rundata import LabelFacts
from evals.analysis.runstats import handling_time, helpful_by_trial, rate_stat
from evals.schema import Label, ReviewEvent
from labeling_app.metrics.timing import active_seconds
from labeling_app.queues.models import ReviewQueue
from labeling_app.queues.review_items import node_seconds, nodes_done

REVIEW_COLUMNS = ["label_id", "queue_id", "item_id", "review_id", "reviewer", "arm",
                  "model_alias", "prompt", "helpful", "nodes", "active_s", "simulated"]  # fmt: skip
NODE_COLUMNS = ["label_id", "queue_id", "item_id", "review_id", "question_id", "case_id",
                "trial_key", "reviewer", "arm", "helpful", "correctness", "active_s",
                "simulated"]  # fmt: skip


def review_frames(
    queues: dict[str, ReviewQueue],
    labels: list[Label],
    events: list[ReviewEvent],
    threshold_s: float | None = None,
    *,
    counted: set[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(reviews, nodes): a row per counted review label and per node of that pass."""
    by_key: dict[tuple[str, str, str], list[ReviewEvent]] = defaultdict(list)
    for e in events:
        by_key[(e.queue_id, e.item_id, e.reviewer)].append(e)
    reviews: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    for lb in labels:
        q = queues.get(lb.queue_id)
        if q is None or lb.id not in counted or lb.action != "submit":
            continue
        try:
            item = q.item(lb.item_id)
        except KeyError:
            continue
        if item.nodes is None:
            continue
        threshold = threshold_s or q.idle_threshold_s
        closing = ReviewEvent(id="x", queue_id=lb.queue_id, item_id=lb.item_id,
                              reviewer=lb.reviewer, kind="submit", at=lb.submitted_at)  # fmt: skip
        timeline = [e for e in by_key.get((lb.queue_id, lb.item_id, lb.reviewer), [])
                    if e.at <= lb.submitted_at] + [closing]  # fmt: skip
        per_node = node_seconds(timeline, item.nodes[0].question_id, threshold)
        earlier = [x for x in labels if x.id != lb.id and x.submitted_at <= lb.submitted_at
                   and x.queue_id == lb.queue_id]  # fmt: skip
        done = nodes_done(earlier, item, lb.reviewer)
        if set(done) != {n.question_id for n in item.nodes}:
            continue  # (a review label always follows its nodes; this guards odd stores)
        simulated = lb.reviewer.startswith("sim:")
        for n in item.nodes:
            nl = done[n.question_id]
            nodes.append(
                {"label_id": nl.id, "queue_id": lb.queue_id, "item_id": lb.item_id,
                 "review_id": item.review_id, "question_id": n.question_id,
                 "case_id": n.case_id, "trial_key": n.trial_key, "reviewer": lb.reviewer,
                 "arm": item.arm, "helpful": nl.helpful, "correctness": nl.correctness,
                 "active_s": per_node.get(n.question_id, 0.0), "simulated": simulated}
            )  # fmt: skip
        reviews.append(
            {"label_id": lb.id, "queue_id": lb.queue_id, "item_id": lb.item_id,
             "review_id": item.review_id, "reviewer": lb.reviewer, "arm": item.arm,
             "model_alias": item.model_alias or "(control)", "prompt": item.prompt or "(control)",
             "helpful": all(done[n.question_id].helpful for n in item.nodes)
             if item.arm == "assisted" else None,
             "nodes": len(item.nodes), "active_s": active_seconds(timeline, threshold),
             "simulated": simulated}
        )  # fmt: skip
    return pd.DataFrame(reviews, columns=REVIEW_COLUMNS), pd.DataFrame(nodes, columns=NODE_COLUMNS)


def _facts(df: pd.DataFrame, unit: str) -> list[LabelFacts]:
    """Rows as LabelFacts; ``unit`` is the column that plays the trial (what is rated)."""
    return [
        LabelFacts(
            id=str(r["label_id"]),
            queue_id=str(r["queue_id"]),
            item_id=str(r["item_id"]),
            trial_key=None if r[unit] is None else str(r[unit]),
            case_id=str(r.get("case_id") or r["item_id"]),
            reviewer=str(r["reviewer"]),
            arm=str(r["arm"]),
            helpful=None if r["helpful"] is None or pd.isna(r["helpful"]) else bool(r["helpful"]),
            correctness=r.get("correctness"),
            active_seconds=float(r["active_s"]),
            idle_threshold_s=None,
            simulated=bool(r["simulated"]),
        )
        for r in df.to_dict("records")
    ]


def helpfulness(df: pd.DataFrame, by: str, unit: str) -> pd.DataFrame:
    """Helpful rate per group with its Wilson 95% interval; ``unit``: 'item_id' (review
    items, from review rows) or 'trial_key' (node trials, from node rows)."""
    sub = df[(df["arm"] == "assisted") & df["helpful"].notna()]
    rows = []
    for group, part in sub.groupby(by, sort=False):
        units = helpful_by_trial(_facts(part, unit))
        stat = rate_stat(sum(units.values()), len(units), sorted(units))
        rows.append({by: group, "n": stat.n, "helpful": stat.k, "rate": stat.rate,
                     "low": stat.low, "high": stat.high, "ratings": len(part),
                     "simulated": bool(part["simulated"].any())})  # fmt: skip
    return pd.DataFrame(rows, columns=[by, "n", "helpful", "rate", "low", "high", "ratings",
                                       "simulated"])  # fmt: skip


def reduction(df: pd.DataFrame, by: str, seed: int = 0) -> pd.DataFrame:
    """Assisted vs unassisted active time per group: geometric means, ratio, reduction
    and its 95% interval (bootstrap over reviewers)."""
    rows = []
    for group, part in df.groupby(by, sort=False):
        a, u = part[part["arm"] == "assisted"], part[part["arm"] == "unassisted"]
        ht = handling_time(_facts(a, "item_id"), _facts(u, "item_id"), seed=seed)
        row: dict[str, Any] = {by: group, "n_assisted": len(a), "n_unassisted": len(u),
                               "gmean_assisted_s": math.nan, "gmean_unassisted_s": math.nan,
                               "ratio": math.nan, "reduction": math.nan,
                               "reduction_low": math.nan, "reduction_high": math.nan,
                               "reviewers": part["reviewer"].nunique(),
                               "simulated": bool(part["simulated"].any())}  # fmt: skip
        if ht is not None:
            row.update(
                gmean_assisted_s=ht.geomean_assisted_s, gmean_unassisted_s=ht.geomean_unassisted_s,
                ratio=ht.ratio, reduction=ht.reduction,
                reduction_low=math.nan if ht.high is None else 1.0 - ht.high,
                reduction_high=math.nan if ht.low is None else 1.0 - ht.low,
            )  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def summary_tables(
    reviews: pd.DataFrame, nodes: pd.DataFrame, seed: int = 0
) -> dict[str, pd.DataFrame]:
    """The four tables the dashboard and the report show. The per-review tables start
    with all reviews, then (with several) one row per model / prompt: its assisted
    reviews, against every control review (a control has no model or prompt)."""
    everything = reviews.assign(scope="all reviews")
    assisted = reviews[reviews["arm"] == "assisted"]
    cells = assisted.assign(scope=assisted["model_alias"] + " / " + assisted["prompt"])
    control = reviews[reviews["arm"] == "unassisted"]
    helpful = [helpfulness(everything, "scope", "item_id")]
    time = [reduction(everything, "scope", seed)]
    if cells["scope"].nunique() > 1:
        helpful.append(helpfulness(cells.sort_values("scope"), "scope", "item_id"))
        for cell, part in cells.groupby("scope", sort=True):
            time.append(reduction(pd.concat([part, control.assign(scope=cell)]), "scope", seed))
    return {
        "review_helpfulness": pd.concat(helpful, ignore_index=True),
        "node_helpfulness": helpfulness(nodes, "question_id", "trial_key"),
        "review_time": pd.concat(time, ignore_index=True),
        "node_time": reduction(nodes, "question_id", seed),
    }
