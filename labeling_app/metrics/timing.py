"""Handling time: active seconds recomputed from the raw timing events.

The app records, per reviewer and item, when the item was claimed and shown, a
heartbeat every few seconds while the page is visible (each carrying ``idle_s``: the
seconds since the reviewer last pressed a key, clicked, scrolled or moved the mouse),
``hidden``/``visible`` when the tab is hidden or shown again, and the final
``submit``/``skip``/``flag``. Active time is the sum of the gaps between consecutive
events, except:

* gaps longer than the idle threshold (the reviewer was away, the browser was closed);
* gaps that start at ``hidden`` (the page was not visible) or at a closing event
  (``submit``, ``skip``, ``flag``, ``release``: the reviewer was on another item until
  an ``undo`` re-opened this one);
* heartbeats whose ``idle_s`` exceeds the threshold are not activity: the page was
  visible but nobody touched it, so they do not bridge the gap around them.

The raw events are kept, so a lead can change the threshold later and every number is
recomputed from the same events (the dashboard does exactly that).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import pairwise

from evals.schema import ReviewEvent

DEFAULT_IDLE_THRESHOLD_S = 60.0
"""Gaps between events longer than this are idle time (configurable per queue)."""

BREAK_KINDS = frozenset({"hidden", "submit", "skip", "flag", "release"})
"""A gap starting at one of these is never active time."""


def _is_activity(event: ReviewEvent, threshold_s: float) -> bool:
    if event.kind != "heartbeat":
        return True
    idle = event.data.get("idle_s")
    return not (isinstance(idle, int | float) and idle > threshold_s)


def active_seconds(
    events: Iterable[ReviewEvent],
    threshold_s: float = DEFAULT_IDLE_THRESHOLD_S,
    until: datetime | None = None,
) -> float:
    """Active handling time of one reviewer on one item from its raw events.

    ``until`` ignores events after that moment (e.g. the submission the time belongs
    to, when the item was re-opened by an undo and submitted again later)."""
    if threshold_s <= 0:
        raise ValueError("idle threshold must be > 0 seconds")
    timeline = sorted(
        (e for e in events if (until is None or e.at <= until) and _is_activity(e, threshold_s)),
        key=lambda e: e.at,
    )
    total = 0.0
    for before, after in pairwise(timeline):
        if before.kind in BREAK_KINDS:
            continue
        gap = (after.at - before.at).total_seconds()
        if 0 < gap <= threshold_s:
            total += gap
    return total


def wall_seconds(events: Iterable[ReviewEvent]) -> float:
    """First to last event: the elapsed time active time is carved out of."""
    stamps = [e.at for e in events]
    return (max(stamps) - min(stamps)).total_seconds() if stamps else 0.0
