"""Login sessions (signed, expiring, revocable tokens), the login throttle and drafts."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from labeling_app.auth.throttle import (
    CLIENT_LIMIT,
    FAILED,
    LOCKOUT_S,
    USER_LIMIT,
    LoginThrottle,
)
from labeling_app.auth.tokens import check_token, create_session, end_session, purge_expired
from labeling_app.queues.drafts import (
    discard_draft,
    load_choice,
    load_draft,
    save_choice,
    save_draft,
)


def test_a_token_stands_for_its_session_until_logout(tmp_path: Path) -> None:
    token = create_session(tmp_path, "alice", "roster", now=1000.0)
    found = check_token(tmp_path, token, now=1001.0)
    assert found is not None and (found.user, found.method) == ("alice", "roster")
    assert "alice" not in token  # the token names no one; the server-side file does
    end_session(tmp_path, token)
    assert check_token(tmp_path, token, now=1002.0) is None


def test_a_token_expires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALS_SESSION_HOURS", "1")
    token = create_session(tmp_path, "alice", "roster", now=1000.0)
    assert check_token(tmp_path, token, now=1000.0 + 3599) is not None
    assert check_token(tmp_path, token, now=1000.0 + 3601) is None
    assert not list((tmp_path / "app" / "sessions").glob("*.json"))  # removed at expiry


def test_forged_or_altered_tokens_are_refused(tmp_path: Path) -> None:
    token = create_session(tmp_path, "alice", "roster", now=1000.0)
    version, sid, expires, sig = token.split(".")
    longer = f"{version}.{sid}.{int(expires) + 10**6}.{sig}"  # a later expiry, same signature
    assert check_token(tmp_path, longer, now=1001.0) is None
    other_key = create_session(tmp_path / "elsewhere", "alice", "roster", now=1000.0)
    assert check_token(tmp_path, other_key, now=1001.0) is None  # signed with another key
    for bad in ("", "v1", "v1.x.y.z", f"v1.../../x.{expires}.{sig}", "a" * 400):
        assert check_token(tmp_path, bad, now=1001.0) is None


def test_the_signing_key_is_private_and_stable(tmp_path: Path) -> None:
    token = create_session(tmp_path, "bob", "roster", now=1000.0)
    key = tmp_path / "app" / "session.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert check_token(tmp_path, token, now=1001.0) is not None  # the same key is re-read


def test_purge_removes_only_expired_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALS_SESSION_HOURS", "1")
    old = create_session(tmp_path, "a", "roster", now=0.0)
    new = create_session(tmp_path, "b", "roster", now=5000.0)
    assert purge_expired(tmp_path, now=5001.0) == 1
    assert check_token(tmp_path, new, now=5001.0) is not None
    assert check_token(tmp_path, old, now=5001.0) is None


class Clock:
    def __init__(self) -> None:
        self.t = 10_000.0

    def __call__(self) -> float:
        return self.t


def test_throttle_locks_a_user_across_clients_and_sessions(tmp_path: Path) -> None:
    clock = Clock()
    checks: list[str] = []

    def wrong() -> None:
        checks.append("wrong")
        return None

    for i in range(USER_LIMIT):  # five guesses from five different browsers
        outcome = LoginThrottle(tmp_path, now=clock).attempt("alice", f"10.0.0.{i}", wrong)
        assert outcome.result is None
        assert outcome.message == (FAILED if i < USER_LIMIT - 1 else outcome.message)
    assert "try again" in str(outcome.message)
    ran = len(checks)
    # Locked: even the right password is refused, and the password is not even checked.
    locked = LoginThrottle(tmp_path, now=clock).attempt("Alice", "10.9.9.9", lambda: "ok")
    assert locked.result is None and "try again" in str(locked.message)
    assert len(checks) == ran
    # Another user from the same clients is not affected.
    assert LoginThrottle(tmp_path, now=clock).attempt("bob", "10.0.0.1", lambda: "ok").result
    clock.t += LOCKOUT_S + 1
    assert LoginThrottle(tmp_path, now=clock).attempt("alice", "10.0.0.1", lambda: "ok").result


def test_unknown_and_known_users_are_throttled_alike(tmp_path: Path) -> None:
    clock = Clock()
    messages: dict[str, list[str | None]] = {}
    for user in ("alice", "nobody-by-that-name"):
        messages[user] = [
            LoginThrottle(tmp_path, now=clock).attempt(user, "10.1.1.1", lambda: None).message
            for _ in range(USER_LIMIT + 1)
        ]
    assert messages["alice"] == messages["nobody-by-that-name"]


def test_throttle_locks_a_client_guessing_many_users(tmp_path: Path) -> None:
    clock = Clock()
    for i in range(CLIENT_LIMIT):
        LoginThrottle(tmp_path, now=clock).attempt(f"user{i}", "10.2.2.2", lambda: None)
    locked = LoginThrottle(tmp_path, now=clock).attempt("carol", "10.2.2.2", lambda: "ok")
    assert locked.result is None and "try again" in str(locked.message)
    other = LoginThrottle(tmp_path, now=clock).attempt("carol", "10.3.3.3", lambda: "ok")
    assert other.result == "ok"
    stored = (tmp_path / "app" / "login_throttle.json").read_text()
    assert "user1" not in stored and "10.2.2.2" not in stored  # only hashes are kept


def test_drafts_are_saved_merged_and_discarded(tmp_path: Path) -> None:
    assert load_draft(tmp_path, "alice", "q-1-0001") == {}
    save_draft(tmp_path, "alice", "q-1-0001", {"helpful": True})
    save_draft(tmp_path, "alice", "q-1-0001", {"comment": "half typed", "bogus": 1})
    assert load_draft(tmp_path, "alice", "q-1-0001") == {"helpful": True, "comment": "half typed"}
    assert load_draft(tmp_path, "bob", "q-1-0001") == {}  # per user
    save_draft(tmp_path, "alice", "q-1-0001", {"helpful": "yes", "correctness": "nonsense"})
    assert load_draft(tmp_path, "alice", "q-1-0001") == {
        "helpful": None,
        "comment": "half typed",
        "correctness": None,
    }
    discard_draft(tmp_path, "alice", "q-1-0001")
    assert load_draft(tmp_path, "alice", "q-1-0001") == {}
    with pytest.raises(ValueError):
        save_draft(tmp_path, "alice", "../../etc/passwd", {"comment": "x"})


def test_the_queue_choice_is_remembered_per_user(tmp_path: Path) -> None:
    assert load_choice(tmp_path, "alice") is None
    save_choice(tmp_path, "alice", "q-2")
    assert load_choice(tmp_path, "alice") == "q-2" and load_choice(tmp_path, "bob") is None
