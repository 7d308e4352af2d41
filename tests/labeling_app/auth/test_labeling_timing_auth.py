"""Handling time from raw events, and the roster's password hashing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evals.schema import ReviewEvent
from labeling_app.auth.roster import (
    RosterError,
    add_user,
    authenticate,
    hash_password,
    load_roster,
    oidc_identity,
    verify_password,
)
from labeling_app.metrics.timing import active_seconds, wall_seconds


def ev(clock, kind: str, t: float, **data: Any) -> ReviewEvent:
    return ReviewEvent(
        id=f"e{t}",
        queue_id="q",
        item_id="i",
        reviewer="r",
        kind=kind,  # type: ignore[arg-type]
        at=clock(t),
        data=data,
    )


def test_active_time_leaves_out_idle_gaps_and_hidden_time(clock) -> None:
    events = [ev(clock, "claim", 0), ev(clock, "shown", 1)]
    events += [ev(clock, "heartbeat", t, idle_s=2) for t in (16, 31, 46)]
    events += [ev(clock, "hidden", 50), ev(clock, "visible", 400)]  # 350 s away: not counted
    events += [ev(clock, "heartbeat", 415, idle_s=1)]
    events += [ev(clock, "heartbeat", 600, idle_s=1)]  # 185 s without events: idle
    events += [ev(clock, "submit", 610)]
    assert active_seconds(events, 60) == pytest.approx(50 + 15 + 10)
    # The raw events are kept, so another threshold gives another (larger) number.
    assert active_seconds(events, 200) == pytest.approx(50 + 15 + 185 + 10)
    assert wall_seconds(events) == pytest.approx(610)
    assert active_seconds(list(reversed(events)), 60) == pytest.approx(75)


def test_heartbeats_of_an_untouched_page_are_not_activity(clock) -> None:
    events = [ev(clock, "shown", 0)]
    events += [ev(clock, "heartbeat", 15 * k, idle_s=15 * k) for k in range(1, 9)]
    events += [ev(clock, "submit", 125)]
    # Idle for more than 60 s from the 4th heartbeat on: those do not bridge the gap.
    assert active_seconds(events, 60) == pytest.approx(60)
    assert active_seconds(events, 300) == pytest.approx(125)


def test_until_and_gaps_after_a_closing_event(clock) -> None:
    events = [
        ev(clock, "shown", 0),
        ev(clock, "submit", 20),
        ev(clock, "undo", 50),
        ev(clock, "heartbeat", 60, idle_s=0),
        ev(clock, "submit", 70),
    ]
    assert active_seconds(events, 60) == pytest.approx(20 + 20)
    assert active_seconds(events, 60, until=clock(20)) == pytest.approx(20)
    with pytest.raises(ValueError):
        active_seconds(events, 0)


def test_password_hashes_are_salted_and_verified() -> None:
    a, b = hash_password("s3cret"), hash_password("s3cret")
    assert a != b and a.startswith("scrypt$")
    assert verify_password("s3cret", a) and not verify_password("wrong", a)
    assert not verify_password("s3cret", "garbage")


def test_roster_login_roles_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "roster.yaml"
    add_user(path, "ann", "reviewer", "pw-ann", name="Ann")
    add_user(path, "lee", "lead", "pw-lee")
    add_user(path, "sso@example.com", "admin", None)
    roster = load_roster(path)
    assert "pw-ann" not in path.read_text()
    who = authenticate(roster, "ANN", "pw-ann")
    assert who is not None and who.id == "ann" and who.role == "reviewer" and not who.is_lead
    assert authenticate(roster, "ann", "pw-lee") is None
    assert authenticate(roster, "nobody", "x") is None
    assert authenticate(roster, "sso@example.com", "") is None  # no password: OIDC only
    assert authenticate(roster, "lee", "pw-lee").is_lead
    sso = oidc_identity(roster, "sso@example.com", "sub", "Sam")
    assert sso is not None and sso.role == "admin" and sso.method == "oidc"
    assert oidc_identity(roster, "stranger@example.com", None, None) is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("users:\n  - id: x\n    role: boss\n")
    with pytest.raises(RosterError, match=r"bad.yaml:3: users.0.role"):
        load_roster(bad)


def test_demo_roster_logs_in(repo_root: Path) -> None:
    roster = load_roster(repo_root / "labeling_app" / "demo_roster.yaml")
    assert authenticate(roster, "lead", "lead-demo").role == "lead"
    assert authenticate(roster, "alice", "alice-demo").role == "reviewer"
