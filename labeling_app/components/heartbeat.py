"""The page's activity reporter: heartbeats while visible, hidden/visible changes.

A Streamlit components-v2 component (no iframe: its script runs in the app page, so it
sees the page's real ``document.visibilityState`` and input events). While the page is
visible it reports a heartbeat every few seconds carrying ``idle_s``, the seconds since
the last key press, click, scroll or mouse move; when the tab is hidden or shown again it
reports that at once. Nothing is sent while the page is hidden.

Each report carries the last 30 events with a per-page sequence number, so events that
the browser coalesced into one rerun are not lost; the server writes those it has not
written yet (the sequence seen is kept per page load: a duplicate after a lost session
costs a repeated heartbeat, never a missed one). Client times are converted to server
time with the offset measured at sending, so a wrong client clock does not matter.

The component lives in a fragment: a heartbeat reruns only the fragment, never the
page the reviewer is typing in.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import streamlit as st

from evals.schema import utcnow
from labeling_app.queues.service import EventKind, QueueService

_JS = """
export default function (component) {
  const { data, setTriggerValue } = component;
  let hb = window.__evalsHeartbeat;
  if (!hb) {
    hb = window.__evalsHeartbeat = {
      seq: 0, log: [], lastInput: Date.now(),
      page: Date.now().toString(36) + Math.random().toString(36).slice(2, 8),
    };
    const touch = () => { hb.lastInput = Date.now(); };
    for (const name of ["keydown", "pointerdown", "mousemove", "wheel", "scroll",
                        "touchstart"]) {
      document.addEventListener(name, touch, { passive: true, capture: true });
    }
    document.addEventListener("visibilitychange", () => {
      hb.push(document.visibilityState === "visible" ? "visible" : "hidden");
    });
  }
  hb.send = setTriggerValue;
  hb.item = data.item;
  hb.push = (kind) => {
    const now = Date.now();
    hb.seq += 1;
    hb.log.push({ seq: hb.seq, kind: kind, item: hb.item, t: now,
                  idle_s: Math.round((now - hb.lastInput) / 100) / 10 });
    hb.log = hb.log.slice(-30);
    hb.send("beat", { page: hb.page, now: now, events: hb.log });
  };
  if (hb.timer) { clearInterval(hb.timer); }
  hb.timer = setInterval(() => {
    if (document.visibilityState === "visible") { hb.push("heartbeat"); }
  }, data.interval_ms);
  return () => { if (hb.timer) { clearInterval(hb.timer); hb.timer = null; } };
}
"""

_component = st.components.v2.component("evals_heartbeat", js=_JS)

ALLOWED: dict[str, EventKind] = {"heartbeat": "heartbeat", "hidden": "hidden", "visible": "visible"}


def record_beats(
    svc: QueueService,
    queue_id: str,
    item_id: str,
    reviewer: str,
    beat: dict[str, Any],
    seen: dict[str, int],
) -> int:
    """Write the not-yet-written events of one report; returns how many were written.

    ``seen`` maps page id -> last sequence number written (from the session)."""
    page = str(beat.get("page", ""))[:40]
    events = beat.get("events")
    if not page or not isinstance(events, list):
        return 0
    server_now = utcnow()
    client_now = float(beat.get("now") or 0)
    written, touched = 0, False
    lease_s = svc.queue(queue_id).lease_s
    for e in events:
        if not isinstance(e, dict) or e.get("item") != item_id:
            continue
        seq, kind = int(e.get("seq") or 0), ALLOWED.get(str(e.get("kind")))
        if kind is None or seq <= seen.get(page, 0):
            continue
        lag = max(0.0, (client_now - float(e.get("t") or client_now)) / 1000.0)
        raw_idle = e.get("idle_s")
        idle = float(raw_idle) if isinstance(raw_idle, int | float) else None
        data = {"page": page, "seq": seq, "idle_s": idle}
        svc.record_event(
            queue_id,
            item_id,
            reviewer,
            kind,
            at=server_now - timedelta(seconds=lag),
            data=data,
        )
        seen[page] = seq
        written += 1
        touched = touched or idle is None or idle < lease_s
    if touched:  # a page left untouched for a whole lease does not keep the item
        svc.renew(queue_id, item_id, reviewer)
    return written


def mount_heartbeat(
    svc: QueueService, queue_id: str, item_id: str, reviewer: str, interval_s: float
) -> None:
    """Mount the reporter for the item on screen and record what it reports (call it
    inside a fragment: see `heartbeat`)."""
    if st.session_state.get("identity") is None:
        return  # a stale run after logging out records nothing
    result = _component(
        key="evals_heartbeat",
        data={"item": item_id, "interval_ms": int(interval_s * 1000)},
        on_beat_change=lambda: None,
    )
    beat = getattr(result, "beat", None)
    if isinstance(beat, dict):
        seen = st.session_state.setdefault("heartbeat_seen", {})
        record_beats(svc, queue_id, item_id, reviewer, beat, seen)


heartbeat = st.fragment(mount_heartbeat)
"""`mount_heartbeat` in a fragment of its own."""
