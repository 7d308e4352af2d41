"""The "Whole reviews" section of `evals report RUN`: helpfulness and handling time per
review and per node, from the queues of whole reviews over the run's trials.

The numbers are `labeling_app.metrics.reviews`'s (definitions in docs/whole-reviews.md);
simulated reviewers' labels are left out unless the report was asked to include them,
and then the section says so.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from evals.analysis.rundata import RunData
from evals.store.workspace import Workspace
from labeling_app.metrics.dashboard import counted_ids, is_simulated
from labeling_app.metrics.reviews import review_frames, summary_tables
from labeling_app.queues.records import RecordIndex
from reports.model import Cell, Section, TableBlock, TextBlock

HELP_COLUMNS = ["scope", "n", "helpful", "rate", "low", "high", "ratings"]
TIME_COLUMNS = ["scope", "n_assisted", "n_unassisted", "gmean_assisted_s",
                "gmean_unassisted_s", "ratio", "reduction", "reduction_low",
                "reduction_high", "reviewers"]  # fmt: skip


def whole_review_tables(ws: Workspace, run: RunData) -> dict[str, pd.DataFrame] | None:
    """The four tables over the review queues holding this run's trials (None: none)."""
    keys = {t.key for t in run.trials}
    index = RecordIndex(ws)
    queues = {
        qid: q
        for qid, q in index.queues().items()
        if any(n.trial_key in keys for it in q.items for n in it.nodes or [])
    }
    if not queues:
        return None
    labels = [lb for qid in queues for lb in index.labels(qid)]
    if not run.include_simulated:
        labels = [lb for lb in labels if not is_simulated(lb.reviewer)]
    events = [e for qid in queues for e in index.events(qid)]
    reviews, nodes = review_frames(queues, labels, events, counted=counted_ids(ws, queues))
    return summary_tables(reviews, nodes)


def _cell(value: Any) -> Cell:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str | int) or value is None else str(value)


def _rows(df: pd.DataFrame, columns: list[str]) -> list[list[Cell]]:
    return [[_cell(r.get(c)) for c in columns] for r in df.to_dict("records")]


def whole_review_section(tables: dict[str, pd.DataFrame]) -> Section:
    """The report section: per review, then per node (question)."""
    rh = tables["review_helpfulness"]
    nh = tables["node_helpfulness"].rename(columns={"question_id": "scope"})
    rt = tables["review_time"]
    nt = tables["node_time"].rename(columns={"question_id": "scope"})
    simulated = any(bool(t["simulated"].any()) for t in tables.values() if not t.empty)
    text = (
        "A review is helpful when its reviewer rated every node helpful; a review item is "
        "helpful when most of its reviewers found it so (Wilson 95% interval). Handling "
        "time per review: active seconds of assisted vs control (unassisted) reviews, "
        "ratio of geometric means with a 95% bootstrap interval over reviewers; a node's "
        "time is its share of the review's."
    )
    if simulated:
        text = "SIMULATED: built on simulated reviewers' labels (sim:*). " + text
    blocks = [
        TextBlock(text=text),
        TableBlock(title="Helpfulness per review", columns=HELP_COLUMNS,
                   rows=_rows(rh, HELP_COLUMNS)),
        TableBlock(title="Handling time per review", columns=TIME_COLUMNS,
                   rows=_rows(rt, TIME_COLUMNS)),
        TableBlock(title="Helpfulness per node", columns=HELP_COLUMNS,
                   rows=_rows(nh, HELP_COLUMNS)),
        TableBlock(title="Handling time per node", columns=TIME_COLUMNS,
                   rows=_rows(nt, TIME_COLUMNS)),
    ]  # fmt: skip
    return Section(id="whole_reviews", title="Whole reviews", blocks=list(blocks))


def whole_review_data(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The tables as JSON records (NaN as null) for the report's data."""
    return {
        name: [{k: _cell(v) for k, v in r.items()} for r in df.to_dict("records")]
        for name, df in tables.items()
    }
