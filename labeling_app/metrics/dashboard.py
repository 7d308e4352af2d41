"""The dashboard's numbers: helpfulness, handling time, agreement, progress.

Inputs are the queues and their records; every number is recomputed from the raw
events with the idle threshold asked for. The helpful rate and handling time are THE
definitions of `evals.analysis.runstats` (the ones gates, comparisons and reports use), over the
counted labels (an undo retracts; the latest submit per queue, item and reviewer counts,
as the store's ``counted_labels`` view):

* helpfulness: per reviewed trial (a trial is helpful when most of its counted ratings
  say so, a tie is not), Wilson 95% interval;
* handling time: active seconds, assisted vs unassisted (control) items of the same
  questions: medians, geometric means, their ratio with a bootstrap interval that
  resamples reviewers (times are right-skewed and reviewers differ), and the reduction
  ``1 - ratio``;
* simulated reviewers (``sim:*``) are left out unless asked for; a table built on them
  has ``simulated`` True;
* agreement on items labelled by more than one reviewer: Fleiss' kappa (items with the
  most common number of ratings), Krippendorff's alpha (all, missing allowed), and
  Cohen's kappa per pair of reviewers who share at least `MIN_PAIR_ITEMS` items.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations
from typing import Any

import pandas as pd

from evals.analysis.rundata import LabelFacts
from evals.analysis.runstats import handling_time as run_handling_time
from evals.analysis.runstats import helpful_by_trial, rate_stat
from evals.schema import Label, ReviewEvent
from evals.stats import cohens_kappa, fleiss_kappa, krippendorff_alpha_nominal
from evals.store.query import SIMULATED_PREFIX, query
from evals.store.workspace import Workspace
from labeling_app.metrics.timing import active_seconds, wall_seconds
from labeling_app.queues.models import ReviewQueue

MIN_PAIR_ITEMS = 5
"""Cohen's kappa is shown for reviewer pairs sharing at least this many items."""

GROUPS = {
    "queue": "queue_id",
    "question": "question_id",
    "model": "model_alias",
    "prompt": "prompt",
    "model and prompt": "model_prompt",
}
"""Dashboard grouping choices -> column."""


def is_simulated(reviewer: str) -> bool:
    """Whether a reviewer id belongs to a simulated reviewer."""
    return reviewer.startswith(SIMULATED_PREFIX)


def effective(labels: Iterable[Label]) -> list[Label]:
    """Submissions, skips and flags that no later 'undo' label retracted."""
    labels = list(labels)
    retracted = {lb.retracts for lb in labels if lb.action == "undo"}
    return [lb for lb in labels if lb.action != "undo" and lb.id not in retracted]


def counted_ids(ws: Workspace, queue_ids: Iterable[str]) -> set[str]:
    """Ids of the counted labels of these queues: the store's ``counted_labels`` view,
    the one definition (an undo retracts; the latest submit per queue, item and
    reviewer counts), so the dashboard counts what gates and reports count."""
    rows = query(
        ws, "SELECT id FROM counted_labels WHERE queue_id IN (SELECT unnest(?))", [list(queue_ids)]
    )
    return {str(r["id"]) for r in rows}


LABEL_COLUMNS = (
    "label_id", "counted", "simulated", "trial_key", "queue_id", "item_id", "reviewer",
    "action", "arm", "question_id", "case_id", "model_alias", "prompt", "model_prompt",
    "helpful", "correctness", "comment", "active_s", "wall_s", "submitted_at",
)  # fmt: skip
"""The columns of label_frame (an empty frame has them too)."""


def label_frame(
    queues: dict[str, ReviewQueue],
    labels: list[Label],
    events: list[ReviewEvent],
    threshold_s: float | None = None,
    *,
    counted: set[str],
) -> pd.DataFrame:
    """One row per effective decision, with its item's attributes and its active time
    recomputed from the raw events (``threshold_s`` None: each queue's own threshold);
    ``counted`` (:func:`counted_ids`) marks the labels the helpful rate and handling time
    count."""
    by_key: dict[tuple[str, str, str], list[ReviewEvent]] = defaultdict(list)
    for e in events:
        by_key[(e.queue_id, e.item_id, e.reviewer)].append(e)
    rows: list[dict[str, Any]] = []
    for lb in effective(labels):
        q = queues.get(lb.queue_id)
        if q is None:
            continue
        evs = by_key.get((lb.queue_id, lb.item_id, lb.reviewer), [])
        rows.append(_label_row(lb, q, evs, threshold_s or q.idle_threshold_s, lb.id in counted))
    return pd.DataFrame(rows, columns=list(LABEL_COLUMNS))


def _label_row(
    lb: Label, q: ReviewQueue, evs: list[ReviewEvent], threshold_s: float, counted: bool
) -> dict[str, Any]:
    """A decision's row: its item's attributes and its active and wall time from the
    reviewer's events on the item up to the decision."""
    item = q.item(lb.item_id)
    closing = ReviewEvent(
        id="x",
        queue_id=lb.queue_id,
        item_id=lb.item_id,
        reviewer=lb.reviewer,
        kind=lb.action,
        at=lb.submitted_at,
    )
    until = [e for e in evs if e.at <= lb.submitted_at] + [closing]
    return {
        "label_id": lb.id,
        "counted": counted,
        "simulated": is_simulated(lb.reviewer),
        "trial_key": item.trial_key,
        "queue_id": lb.queue_id,
        "item_id": lb.item_id,
        "reviewer": lb.reviewer,
        "action": lb.action,
        "arm": item.arm,
        "question_id": item.question_id,
        "case_id": item.case_id,
        "model_alias": item.model_alias or "(control)",
        "prompt": item.prompt or "(control)",
        "model_prompt": f"{item.model_alias}/{item.prompt}" if item.model_alias else "(control)",
        "helpful": lb.helpful,
        "correctness": lb.correctness,
        "comment": lb.comment,
        "active_s": active_seconds(until, threshold_s),
        "wall_s": wall_seconds(until),
        "submitted_at": lb.submitted_at,
    }


def _gm(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else math.nan


def _facts(part: pd.DataFrame) -> list[LabelFacts]:
    """The frame's rows as the LabelFacts evals.analysis.runstats computes from."""
    out = []
    for r in part.to_dict("records"):
        helpful = r["helpful"]
        out.append(
            LabelFacts(
                id=str(r["label_id"]),
                queue_id=str(r["queue_id"]),
                item_id=str(r["item_id"]),
                trial_key=None if r["trial_key"] is None else str(r["trial_key"]),
                case_id=str(r["case_id"]),
                reviewer=str(r["reviewer"]),
                arm=str(r["arm"]),
                helpful=None if helpful is None or pd.isna(helpful) else bool(helpful),
                correctness=r["correctness"],
                active_seconds=float(r["active_s"]),
                idle_threshold_s=None,
                simulated=bool(r["simulated"]),
            )
        )
    return out


def _counted(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["counted"].astype(bool)]


def helpfulness(df: pd.DataFrame, by: str) -> pd.DataFrame:
    """Helpful rate per group over reviewed trials, with its Wilson 95% interval
    (evals.analysis.runstats.helpful_stat: a trial is helpful when most counted ratings say so)."""
    sub = _counted(df)
    sub = sub[(sub["arm"] == "assisted") & sub["helpful"].notna()]
    rows = []
    for group, part in sub.groupby(by, sort=True):
        facts = _facts(part)
        trials = helpful_by_trial(facts)
        stat = rate_stat(sum(trials.values()), len(trials), sorted(trials))
        rows.append(
            {
                by: group,
                "n": stat.n,
                "helpful": stat.k,
                "rate": stat.rate,
                "low": stat.low,
                "high": stat.high,
                "ratings": len(part),
                "simulated": any(f.simulated for f in facts),
            }
        )
    return pd.DataFrame(rows, columns=[by, "n", "helpful", "rate", "low", "high", "ratings",
                                       "simulated"])  # fmt: skip


def handling_time(df: pd.DataFrame, by: str, seed: int = 0) -> pd.DataFrame:
    """Assisted vs unassisted active time per group: medians, geometric means, their
    ratio with a reviewer-clustered bootstrap interval, and the reduction
    (evals.analysis.runstats.handling_time over the counted labels).

    Groups by model or prompt compare their assisted items with the control items of
    the same questions (control items have no model or prompt)."""
    sub = _counted(df)
    sub = sub[sub["active_s"] > 0]
    assisted, control = sub[sub["arm"] == "assisted"], sub[sub["arm"] == "unassisted"]
    rows = []
    for group, part in assisted.groupby(by, sort=True):
        if by in ("question_id", "queue_id"):
            ctrl = control[control[by] == group]
        else:
            ctrl = control[control["question_id"].isin(set(part["question_id"]))]
        ta, tu = list(part["active_s"]), list(ctrl["active_s"])
        row: dict[str, Any] = {
            by: group,
            "n_assisted": len(ta),
            "n_unassisted": len(tu),
            "median_assisted_s": statistics.median(ta),
            "median_unassisted_s": statistics.median(tu) if tu else math.nan,
            "gmean_assisted_s": _gm(ta),
            "gmean_unassisted_s": _gm(tu),
            "ratio": math.nan,
            "reduction": math.nan,
            "reduction_low": math.nan,
            "reduction_high": math.nan,
            "reviewers": part["reviewer"].nunique(),
            "simulated": bool(part["simulated"].any() or ctrl["simulated"].any()),
        }
        ht = run_handling_time(_facts(part), _facts(ctrl), seed=seed)
        if ht is not None:
            row.update(
                ratio=ht.ratio,
                reduction=ht.reduction,
                reduction_low=math.nan if ht.high is None else 1.0 - ht.high,
                reduction_high=math.nan if ht.low is None else 1.0 - ht.low,
            )
        rows.append(row)
    return pd.DataFrame(rows)


def agreement(df: pd.DataFrame, field: str) -> dict[str, Any]:
    """Agreement between reviewers on ``field`` ('helpful' or 'correctness') over items
    with more than one submission."""
    sub = df[(df["action"] == "submit") & df[field].notna()]
    units = {
        item: dict(zip(part["reviewer"], part[field], strict=True))
        for item, part in sub.groupby("item_id")
        if len(part) > 1
    }
    out: dict[str, Any] = {
        "field": field,
        "items": len(units),
        "fleiss": math.nan,
        "fleiss_items": 0,
        "krippendorff": math.nan,
        "pairs": [],
    }
    if not units:
        return out
    out["krippendorff"] = krippendorff_alpha_nominal([list(u.values()) for u in units.values()])
    sizes = [len(u) for u in units.values()]
    m = max(set(sizes), key=sizes.count)
    cats = sorted({str(v) for u in units.values() for v in u.values()})
    table = [
        [sum(1 for v in u.values() if str(v) == c) for c in cats]
        for u in units.values()
        if len(u) == m
    ]
    out["fleiss_items"] = len(table)
    out["fleiss"] = fleiss_kappa(table) if table else math.nan
    reviewers = sorted({r for u in units.values() for r in u})
    for a, b in combinations(reviewers, 2):
        shared = [(u[a], u[b]) for u in units.values() if a in u and b in u]
        if len(shared) >= MIN_PAIR_ITEMS:
            ra, rb = zip(*shared, strict=True)
            out["pairs"].append(
                {
                    "pair": f"{a} / {b}",
                    "items": len(shared),
                    "cohen": cohens_kappa(list(ra), list(rb)),
                }
            )
    return out


def progress(df: pd.DataFrame, open_claims: dict[str, int]) -> pd.DataFrame:
    """Per reviewer: submissions, skips, flags, median active time, items held now."""
    reviewers = sorted(set(df["reviewer"]) | set(open_claims))
    rows = []
    for r in reviewers:
        mine = df[df["reviewer"] == r]
        subs = mine[mine["action"] == "submit"]
        rows.append(
            {
                "reviewer": r,
                "submitted": len(subs),
                "control": int((subs["arm"] == "unassisted").sum()),
                "skipped": int((mine["action"] == "skip").sum()),
                "flagged": int((mine["action"] == "flag").sum()),
                "median_active_s": float(subs["active_s"].median()) if len(subs) else math.nan,
                "holding": open_claims.get(r, 0),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "reviewer",
            "submitted",
            "control",
            "skipped",
            "flagged",
            "median_active_s",
            "holding",
        ],
    )
