"""Login sessions that survive a reload: a signed, expiring token in a cookie.

Streamlit forgets ``st.session_state`` when the browser reloads (a reload opens a new
websocket, hence a new session). So at login the app creates a *login session*: a file
``<workspace>/app/sessions/<sid>.json`` (who, how, until when), and gives the browser a
cookie ``evals_session`` holding ``v1.<sid>.<expires>.<signature>``. On the next page
load the app reads the cookie (``st.context.cookies``), checks the HMAC-SHA256 signature
and the expiry, and that the session file still exists; the person's role is re-read
from the roster each time, so a role change or removal takes effect at once.

* Nothing secret is in a URL: the token travels only in the cookie (``SameSite=Strict``,
  ``path=/``; not ``HttpOnly``: Streamlit offers no server-side Set-Cookie, so a small
  in-page component sets it. The app renders no untrusted text as HTML, which is what
  would let a script read it).
* Logging out deletes the session file, so the token is dead even if a copy was kept.
* Expiry: ``EVALS_SESSION_HOURS`` (default 12) from login; expired files are removed.
* The signing key is ``EVALS_SESSION_KEY`` (hex) or a random key created once in
  ``<workspace>/app/session.key`` (mode 0600), so sessions outlive an app restart.
  The session id alone is unguessable (144 bits); the signature means a session file
  planted or left in the folder is not enough without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

COOKIE = "evals_session"
"""Name of the session cookie."""
DEFAULT_HOURS = 12.0
_SID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class LoginSession:
    """A valid login session."""

    sid: str
    user: str
    method: str
    expires: float


def app_dir(root: Path) -> Path:
    """The app's own folder in the workspace (sessions, drafts, login throttle)."""
    path = root / "app"
    path.mkdir(parents=True, exist_ok=True)
    return path


def session_hours() -> float:
    """Lifetime of a login session, from ``EVALS_SESSION_HOURS``."""
    try:
        return max(float(os.environ.get("EVALS_SESSION_HOURS") or DEFAULT_HOURS), 1 / 3600)
    except ValueError:
        return DEFAULT_HOURS


def signing_key(root: Path) -> bytes:
    """The key tokens are signed with (created once, readable by the owner only)."""
    env = os.environ.get("EVALS_SESSION_KEY")
    if env:
        return bytes.fromhex(env) if re.fullmatch(r"[0-9a-fA-F]{32,}", env) else env.encode()
    path = app_dir(root) / "session.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it meanwhile
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
        fh.flush()
        os.fsync(fh.fileno())
    return bytes.fromhex(path.read_text().strip())


def _sign(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _session_path(root: Path, sid: str) -> Path:
    return app_dir(root) / "sessions" / f"{sid}.json"


def create_session(root: Path, user: str, method: str, now: float | None = None) -> str:
    """Start a login session for ``user``; returns the token for the cookie."""
    now = time.time() if now is None else now
    sid = secrets.token_urlsafe(18)
    expires = int(now + session_hours() * 3600)
    path = _session_path(root, sid)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(
        orjson.dumps({"user": user, "method": method, "created": now, "expires": expires})
    )
    os.replace(tmp, path)
    payload = f"v1.{sid}.{expires}"
    return f"{payload}.{_sign(signing_key(root), payload)}"


def check_token(root: Path, token: str | None, now: float | None = None) -> LoginSession | None:
    """The login session a token stands for, or None (malformed, forged, expired,
    logged out)."""
    if not token or len(token) > 300:
        return None
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != "v1" or not _SID.match(parts[1]):
        return None
    _, sid, expires_text, sig = parts
    if not hmac.compare_digest(_sign(signing_key(root), f"v1.{sid}.{expires_text}"), sig):
        return None
    now = time.time() if now is None else now
    try:
        expires = int(expires_text)
    except ValueError:
        return None
    path = _session_path(root, sid)
    if expires <= now:
        path.unlink(missing_ok=True)
        return None
    try:
        data = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    if int(data.get("expires", 0)) != expires:
        return None
    return LoginSession(sid, str(data["user"]), str(data.get("method", "roster")), expires)


def end_session(root: Path, token: str | None) -> None:
    """Log out: the token's session is deleted (the token is dead from now on)."""
    parts = (token or "").split(".")
    if len(parts) == 4 and _SID.match(parts[1]):
        _session_path(root, parts[1]).unlink(missing_ok=True)


def purge_expired(root: Path, now: float | None = None) -> int:
    """Remove expired session files; returns how many."""
    now = time.time() if now is None else now
    gone = 0
    folder = app_dir(root) / "sessions"
    for path in folder.glob("*.json") if folder.exists() else []:
        try:
            if int(orjson.loads(path.read_bytes()).get("expires", 0)) <= now:
                path.unlink(missing_ok=True)
                gone += 1
        except (OSError, orjson.JSONDecodeError):
            continue
    return gone
