"""Turning the page's heartbeat reports into timing events."""

from __future__ import annotations

import pytest

from evals.store.workspace import Workspace
from labeling_app.components.heartbeat import record_beats
from labeling_app.queues.service import QueueService


def test_reports_are_written_once_in_server_time(trial_ws: Workspace, queue_factory) -> None:
    q = queue_factory()
    svc = QueueService(trial_ws)
    item = svc.claim_next(q.queue_id, "ann")
    other = q.items[-1].item_id
    seen: dict[str, int] = {}
    log = [
        {"seq": 1, "kind": "heartbeat", "item": item.item_id, "t": 10_000, "idle_s": 1.5},
        {"seq": 2, "kind": "hidden", "item": item.item_id, "t": 12_000, "idle_s": 3.0},
        {"seq": 3, "kind": "heartbeat", "item": other, "t": 13_000, "idle_s": 0},
        {"seq": 4, "kind": "<script>", "item": item.item_id, "t": 13_500},
    ]
    beat = {"page": "p1", "now": 14_000, "events": log}
    assert record_beats(svc, q.queue_id, item.item_id, "ann", beat, seen) == 2
    # The same events again (the browser re-sends its recent log): nothing new.
    log.append({"seq": 5, "kind": "visible", "item": item.item_id, "t": 20_000, "idle_s": 9})
    assert (
        record_beats(
            svc, q.queue_id, item.item_id, "ann", {"page": "p1", "now": 20_000, "events": log}, seen
        )
        == 1
    )
    events = [
        e for e in svc.index.events(q.queue_id, item.item_id, "ann") if e.data.get("page") == "p1"
    ]
    assert [e.kind for e in events] == ["heartbeat", "hidden", "visible"]
    assert events[0].data["idle_s"] == 1.5
    # Client times become server times with the offset measured at sending.
    assert (events[1].at - events[0].at).total_seconds() == pytest.approx(2.0, abs=1e-3)
    assert record_beats(svc, q.queue_id, item.item_id, "ann", {"page": "", "events": []}, seen) == 0


def test_an_untouched_page_does_not_keep_its_claim(trial_ws: Workspace, queue_factory) -> None:
    from datetime import timedelta

    from evals.schema import utcnow

    q = queue_factory(lease_s=60)
    svc = QueueService(trial_ws)
    item = svc.claim_next(q.queue_id, "ann", now=utcnow() - timedelta(seconds=45))
    claims = len(svc.index.claims(q.queue_id))

    def beat(seq: int, idle_s: float) -> dict[str, object]:
        event = {"seq": seq, "kind": "heartbeat", "item": item.item_id, "t": seq, "idle_s": idle_s}
        return {"page": "p", "now": seq, "events": [event]}

    seen: dict[str, int] = {}
    record_beats(svc, q.queue_id, item.item_id, "ann", beat(1, 600.0), seen)
    assert len(svc.index.claims(q.queue_id)) == claims  # recorded, but no renewal
    record_beats(svc, q.queue_id, item.item_id, "ann", beat(2, 2.0), seen)
    renewed = svc.index.claims(q.queue_id)
    assert len(renewed) == claims + 1 and renewed[-1].action == "renew"
