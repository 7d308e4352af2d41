"""Export of labels and trials to CSV and Parquet (the app's download buttons and
`evals label export`).

* **labels**: every label record (submissions, skips, flags, undos, edits), with
  ``effective`` (it counts: not undone, not replaced by an edit, the latest of its
  reviewer on the item), ``edited_by``/``edit_reason`` when it replaced an earlier
  label, the item's attributes (question, run, model, prompt) and the item's resolved
  label (``resolved_*``: adjudicated by a lead, unanimous, single or split; see
  `labeling_app.queues.lead`).
* **trials**: one row per trial (the ``trials`` view's columns, nested ones left out),
  with the cascade's final verdict and the trial's resolved human label.

CSV is for spreadsheets: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return gets a leading ``'`` so a spreadsheet shows it as text instead of
running it as a formula (agent answers are untrusted). Parquet keeps every value as is.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Literal

import pandas as pd

from evals.store.query import query
from labeling_app.queues.lead import resolved_items
from labeling_app.queues.service import QueueService

Format = Literal["csv", "parquet"]
WHAT = ("labels", "trials")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_TRIALS_SQL = """
WITH v AS (
  SELECT trial_key, label, reason FROM verdicts WHERE judge = 'cascade'
  QUALIFY row_number() OVER (PARTITION BY trial_key ORDER BY created_at DESC, recorded_at DESC) = 1)
SELECT t.key AS trial_key, t.run_id, t.dataset, t.case_id, t.question_id, t.model_alias,
       t.model_name, t.prompt, t.repetition, t.status, t.error_kind, t.error_code,
       t.final_answer, t.input_tokens, t.cached_input_tokens, t.output_tokens, t.cost_usd,
       t.llm_calls, t.latency_s, t.tool_calls, t.unmatched_tool_calls,
       t.imported_outcome, t.started_at, t.finished_at,
       v.label AS cascade_verdict, v.reason AS cascade_reason
FROM trials t LEFT JOIN v ON v.trial_key = t.key
ORDER BY t.run_id, t.question_id, t.case_id, t.model_alias, t.prompt, t.repetition
"""


def labels_frame(svc: QueueService) -> pd.DataFrame:
    """Every label record with its status, its item and its item's resolution."""
    labels = svc.index.labels()
    resolved = resolved_items(svc)
    live = {lb.id for it in resolved.values() for lb in it.labels}
    edits = {e.new_label: e for e in svc.index.records("label_edit")}
    items = {(q.queue_id, it.item_id): it for q in svc.queues().values() for it in q.items}
    rows = []
    for lb in labels:
        item = items.get((lb.queue_id, lb.item_id))
        res = resolved.get((lb.queue_id, lb.item_id))
        edit = edits.get(lb.id)
        row = lb.model_dump(mode="python")
        row.update(
            effective=lb.id in live,
            edited_by=edit.by if edit else None,
            edit_reason=edit.reason if edit else None,
            question_id=item.question_id if item else None,
            run_id=item.run_id if item else None,
            model_alias=item.model_alias if item else None,
            prompt=item.prompt if item else None,
            resolved_source=res.source if res else "none",
            resolved_helpful=res.helpful if res else None,
            resolved_correctness=res.correctness if res else None,
            adjudicated_by=res.adjudication.by if res and res.adjudication else None,
            adjudication_reason=res.adjudication.reason if res and res.adjudication else None,
        )
        rows.append(row)
    return pd.DataFrame(rows)


def trials_frame(svc: QueueService) -> pd.DataFrame:
    """One row per trial with its cascade verdict and resolved human label."""
    frame = pd.DataFrame(query(svc.ws, _TRIALS_SQL))
    if frame.empty:
        return frame
    by_trial: dict[str, tuple[str, bool | None, int]] = {}
    for it in resolved_items(svc).values():
        if it.trial_key:
            by_trial[it.trial_key] = (it.source, it.helpful, len(it.labels))
    frame["human_source"] = [by_trial.get(k, ("none", None, 0))[0] for k in frame["trial_key"]]
    frame["human_helpful"] = [by_trial.get(k, ("none", None, 0))[1] for k in frame["trial_key"]]
    frame["human_labels"] = [by_trial.get(k, ("none", None, 0))[2] for k in frame["trial_key"]]
    return frame


def _csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = [
                f"'{v}" if isinstance(v, str) and v.startswith(_FORMULA_START) else v
                for v in out[col]
            ]
    return out


def to_bytes(frame: pd.DataFrame, fmt: Format) -> bytes:
    """A frame as CSV (spreadsheet-safe) or Parquet bytes."""
    if fmt == "csv":
        return _csv_safe(frame).to_csv(index=False).encode("utf-8")
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def frame_of(svc: QueueService, what: str) -> pd.DataFrame:
    """The 'labels' or 'trials' table."""
    if what == "labels":
        return labels_frame(svc)
    if what == "trials":
        return trials_frame(svc)
    raise ValueError(f"unknown table {what!r} (labels or trials)")


def export(svc: QueueService, what: str, fmt: Format, out_dir: Path) -> tuple[Path, int]:
    """Write one table to ``out_dir/<what>.<fmt>``; returns the path and the row count."""
    frame = frame_of(svc, what)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{what}.{fmt}"
    tmp = path.with_suffix(f".{fmt}.tmp")
    tmp.write_bytes(to_bytes(frame, fmt))
    tmp.replace(path)
    return path, len(frame)
