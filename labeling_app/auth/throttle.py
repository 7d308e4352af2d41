"""Login throttling per user and per client, shared by every session and app process.

Failed logins are counted in ``<workspace>/app/login_throttle.json`` (read and written
under the workspace lock ``login-throttle``, so every browser session and every app
process serving the workspace sees the same counts):

* per user id typed (lower-cased, hashed: a password typed into the user field is never
  stored): ``USER_LIMIT`` failures within ``WINDOW_S`` lock that id for ``LOCKOUT_S``;
* per client (the IP address Streamlit reports): ``CLIENT_LIMIT`` failures within the
  window lock every login from it for ``LOCKOUT_S``.

While locked, even the right password is refused. Known and unknown user ids are
treated exactly alike (counted, locked, same message), and every refused attempt takes
the same time (`pad`), so neither the answer nor its timing tells which ids exist.
A successful login clears its user's count (not the client's).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import orjson

from evals.store.workspace import Workspace
from labeling_app.auth.tokens import app_dir

WINDOW_S = 15 * 60.0
"""Failures older than this are forgotten."""
USER_LIMIT = 5
"""Failures per user id within the window before it is locked."""
CLIENT_LIMIT = 20
"""Failures per client within the window before it is locked."""
LOCKOUT_S = 15 * 60.0
"""How long a lock lasts (from the failure that set it)."""
REFUSAL_S = 1.0
"""Every refused attempt takes at least this long (same for every reason)."""

FAILED = "Unknown user or wrong password."
LOCKED = "Too many failed logins for this user or from this browser: try again in {minutes} min."

T = TypeVar("T")


@dataclass(frozen=True)
class Attempt:
    """The outcome of one login attempt."""

    result: object | None
    """What the check returned (None: refused)."""
    message: str | None
    """Why it was refused (None when admitted)."""


def _key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]}"


class LoginThrottle:
    """Counts failed logins in the workspace; see the module docstring."""

    def __init__(self, root: Path, now: Callable[[], float] = time.time) -> None:
        self.root = root
        self.now = now
        self.path = app_dir(root) / "login_throttle.json"

    def _load(self) -> dict[str, list[float]]:
        try:
            data = orjson.loads(self.path.read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return {}
        return {k: [float(t) for t in v] for k, v in data.items() if isinstance(v, list)}

    def _save(self, data: dict[str, list[float]]) -> None:
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(orjson.dumps(data))
        os.replace(tmp, self.path)

    def _locked_until(self, data: dict[str, list[float]], key: str, limit: int) -> float:
        fails = data.get(key, [])
        return fails[-1] + LOCKOUT_S if len(fails) >= limit else 0.0

    def attempt(self, user: str, client: str, check: Callable[[], T | None]) -> Attempt:
        """Run ``check`` (the password check) unless the user or client is locked, and
        count a failure. The check runs outside the lock; its time is hidden by `pad`."""
        keys = ((_key("user", user), USER_LIMIT), (_key("client", client), CLIENT_LIMIT))
        ws = Workspace(self.root)
        with ws.lock("login-throttle"):
            data = self._prune(self._load())
            until = max(self._locked_until(data, k, n) for k, n in keys)
        now = self.now()
        result = None if until > now else check()
        with ws.lock("login-throttle"):
            data = self._prune(self._load())
            if result is not None:
                data.pop(keys[0][0], None)
            else:
                for k, _ in keys:
                    data.setdefault(k, []).append(now)
                until = max(until, *(self._locked_until(data, k, n) for k, n in keys))
            self._save(data)
        if result is not None:
            return Attempt(result, None)
        if until > now:
            minutes = max(1, round((until - now) / 60))
            return Attempt(None, LOCKED.format(minutes=minutes))
        return Attempt(None, FAILED)

    def _prune(self, data: dict[str, list[float]]) -> dict[str, list[float]]:
        horizon = self.now() - max(WINDOW_S, LOCKOUT_S)
        kept = {k: [t for t in v if t > horizon][-CLIENT_LIMIT:] for k, v in data.items()}
        return {k: v for k, v in kept.items() if v}


def pad(started: float, floor: float | None = None) -> None:
    """Sleep until ``floor`` (default REFUSAL_S) seconds have passed since ``started``
    (monotonic clock)."""
    left = (REFUSAL_S if floor is None else floor) - (time.monotonic() - started)
    if left > 0:
        time.sleep(left)
