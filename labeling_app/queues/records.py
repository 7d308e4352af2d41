"""An incremental, in-process index of the records the labeling app reads.

The app re-reads claims, labels and timing events on every claim, heartbeat and page
view. Parsing every segment each time would grow with the workspace, so this index
remembers, per segment file, how far it has read and the records parsed so far, and
reads only what was appended since. Only complete lines (ending in a newline) are
consumed: a line being written by another process is picked up on the next refresh.

A JSONL segment compacted to Parquet meanwhile is re-read once from its Parquet file
(same records, same order). Records that do not validate against their model are
skipped with a warning (they are reported by `evals audit verify`, not fixed here), and
so are records that are not as written (hash or canonical bytes: evals.store.record_sql), so
the queue counts what the SQL views count.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from evals.schema import Label, ReviewEvent
from evals.store.workspace import Envelope, Workspace, read_segment
from labeling_app.queues.lead_records import Adjudication, LabelEdit
from labeling_app.queues.models import Claim, QueueSetting, ReviewQueue

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

KIND_MODELS: dict[str, type[BaseModel]] = {
    "queue": ReviewQueue,
    "queue_setting": QueueSetting,
    "claim": Claim,
    "label": Label,
    "event": ReviewEvent,
    "adjudication": Adjudication,
    "label_edit": LabelEdit,
}
"""Record kinds the app indexes and the model each is parsed into."""


@dataclass
class _Segment(Generic[M]):
    offset: int = 0
    lines: int = 0
    """Lines consumed (to name a skipped one by file:line)."""
    parquet: bool = False
    records: list[M] = field(default_factory=list)


def _verified(path: Path, line: int, raw: bytes) -> Any:
    """The body of a JSONL line whose record is as written (canonical bytes, matching
    hash: what the SQL views read too, evals.store.record_sql), else None with a warning."""
    try:
        env = orjson.loads(raw)
        found = Envelope(path, line, env["seq"], env["ts"], env["prev"], env["hash"],
                         env["body"], env.get("seal"), raw=raw)
    except (orjson.JSONDecodeError, KeyError, TypeError):
        log.warning("%s:%d: unreadable line skipped", path, line)
        return None
    if not found.verifies():
        log.warning("%s:%d: edited or forged record skipped (run `evals audit verify`)",
                    path, line)
        return None
    return found.body


def _parse(model: type[M], body: Any, where: str) -> M | None:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        log.warning("%s: record skipped (%s)", where, exc.errors()[0].get("msg", exc))
        return None


class RecordIndex:
    """Records of the app's kinds, read incrementally from the workspace's segments."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._segments: dict[str, dict[str, _Segment[Any]]] = {}
        self._lock = threading.Lock()

    def records(self, kind: str) -> list[Any]:
        """Every record of a kind, parsed, in segment order then file order."""
        model = KIND_MODELS[kind]
        with self._lock:
            known = self._segments.setdefault(kind, {})
            for path in self.ws.segments(kind):
                self._refresh_segment(known, path, model)
            return [rec for stem in sorted(known) for rec in known[stem].records]

    def since(self, kind: str, cursor: dict[str, int]) -> list[tuple[str, int, Any]] | None:
        """Records of a kind appended since ``cursor`` (segment stem -> records already
        consumed), as (stem, index in segment, record); advances the cursor in place.

        A segment compacted to Parquet keeps its stem and its records in order, so the
        cursor stays valid across compaction. None when a segment now holds fewer
        records than the cursor says were consumed (the caller must rebuild)."""
        model = KIND_MODELS[kind]
        with self._lock:
            known = self._segments.setdefault(kind, {})
            for path in self.ws.segments(kind):
                self._refresh_segment(known, path, model)
            found: list[tuple[str, int, Any]] = []
            for stem in sorted(known):
                records = known[stem].records
                start = cursor.get(stem, 0)
                if len(records) < start:
                    return None
                found.extend((stem, i, records[i]) for i in range(start, len(records)))
                cursor[stem] = len(records)
            return found

    def _refresh_segment(
        self, known: dict[str, _Segment[Any]], path: Path, model: type[BaseModel]
    ) -> None:
        stem = path.stem
        seg = known.get(stem)
        if seg is not None and seg.parquet:
            return
        if path.suffix == ".parquet":
            known[stem] = self._read_parquet(path, model)
            return
        if seg is None:
            seg = known[stem] = _Segment()
        try:
            with open(path, "rb") as fh:
                fh.seek(seg.offset)
                data = fh.read()
        except FileNotFoundError:  # compacted since the listing
            parquet = path.with_suffix(".parquet")
            if parquet.exists():
                known[stem] = self._read_parquet(parquet, model)
            return
        end = data.rfind(b"\n")
        if end < 0:
            return
        for raw in data[:end].split(b"\n"):
            seg.lines += 1
            if not raw:
                continue
            body = _verified(path, seg.lines, raw)
            if body is not None:
                rec = _parse(model, body, str(path))
                if rec is not None:
                    seg.records.append(rec)
        seg.offset += end + 1

    @staticmethod
    def _read_parquet(path: Path, model: type[BaseModel]) -> _Segment[Any]:
        seg: _Segment[Any] = _Segment(parquet=True)
        for env in read_segment(path):
            if isinstance(env, Envelope) and env.body is not None:
                if not env.verifies():
                    log.warning("%s:%d: edited or forged record skipped (run `evals audit "
                                "verify`)", path, env.line)
                    continue
                rec = _parse(model, env.body, f"{path}:{env.line}")
                if rec is not None:
                    seg.records.append(rec)
        return seg

    # ------------------------------------------------------------ typed accessors

    def queues(self) -> dict[str, ReviewQueue]:
        """Queues by id (the first record of an id wins, as in the SQL views)."""
        out: dict[str, ReviewQueue] = {}
        for q in self.records("queue"):
            out.setdefault(q.queue_id, q)
        return out

    def settings(self, queue_id: str) -> list[QueueSetting]:
        """Setting changes of a queue, oldest first."""
        found = [s for s in self.records("queue_setting") if s.queue_id == queue_id]
        return sorted(found, key=lambda s: s.at)

    def claims(self, queue_id: str) -> list[Claim]:
        """Claim records of a queue, oldest first."""
        found = [c for c in self.records("claim") if c.queue_id == queue_id]
        return sorted(found, key=lambda c: c.at)

    def labels(self, queue_id: str | None = None) -> list[Label]:
        """Labels (of one queue, or all), oldest first."""
        found = [lb for lb in self.records("label") if queue_id in (None, lb.queue_id)]
        return sorted(found, key=lambda lb: lb.submitted_at)

    def events(
        self,
        queue_id: str | None = None,
        item_id: str | None = None,
        reviewer: str | None = None,
    ) -> list[ReviewEvent]:
        """Timing events, filtered, oldest first."""
        found = [
            e
            for e in self.records("event")
            if queue_id in (None, e.queue_id)
            and item_id in (None, e.item_id)
            and reviewer in (None, e.reviewer)
        ]
        return sorted(found, key=lambda e: e.at)
