"""Who is reviewing: a local roster with salted password hashes, or Streamlit's OIDC.

Roster file (YAML)::

    users:
      - id: alice                 # reviewer id written on every label and event
        name: Alice Example       # shown in the app
        role: reviewer            # reviewer | lead | admin
        password_hash: "scrypt$16384$8$1$<salt hex>$<hash hex>"
      - id: lead@example.com      # an OIDC user: no password, the role comes from here
        role: lead
    oidc_default_role: reviewer   # role of OIDC users not listed (omit: not admitted)

Passwords are hashed with ``hashlib.scrypt`` (n=2**14, r=8, p=1, 16-byte random salt)
and compared in constant time. `evals label roster add` writes entries.

When ``.streamlit/secrets.toml`` has an ``[auth]`` section, the login page offers
Streamlit's OIDC login (``st.login``); the user's e-mail (or subject) is their id and
the roster gives their role.

Roles: ``reviewer`` reviews; ``lead`` also builds queues and sees the dashboard and the
audit page (everyone's labels); ``admin`` can do everything a lead can.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evals.errors import InputError, Problem
from evals.yamlfile import YamlFileError, read_yaml

Role = Literal["reviewer", "lead", "admin"]
ROLES: tuple[Role, ...] = ("reviewer", "lead", "admin")
LEAD_ROLES: frozenset[str] = frozenset({"lead", "admin"})

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class RosterError(InputError):
    """A roster file that cannot be used; the message names the file and the field."""


class RosterUser(BaseModel):
    """One person who may log in."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    id: str = Field(min_length=1)
    """Reviewer id (written on every label and event)."""
    name: str = ""
    """Display name."""
    role: Role = "reviewer"
    """reviewer, lead or admin."""
    password_hash: str | None = None
    """scrypt hash for local login (None: OIDC only)."""


class Roster(BaseModel):
    """The roster file."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    users: list[RosterUser] = Field(default_factory=list)
    """People who may log in."""
    oidc_default_role: Role | None = None
    """Role of OIDC users the roster does not list (None: they are not admitted)."""

    def user(self, user_id: str) -> RosterUser | None:
        """A user by id (case-insensitive, as e-mail addresses are)."""
        wanted = user_id.strip().lower()
        return next((u for u in self.users if u.id.lower() == wanted), None)


@dataclass(frozen=True)
class Identity:
    """The logged-in person."""

    id: str
    name: str
    role: Role
    method: Literal["roster", "oidc"]

    @property
    def is_lead(self) -> bool:
        """Lead or admin: may build queues and see everyone's labels."""
        return self.role in LEAD_ROLES


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A salted scrypt hash in the roster's format."""
    if not password:
        raise ValueError("empty password")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether the password matches the stored hash (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(bytes.fromhex(digest)),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def load_roster(path: str | Path) -> Roster:
    """Read and validate a roster file."""
    path = Path(path)
    try:
        doc = read_yaml(path)  # bounded: no alias bomb, no huge file
    except YamlFileError as exc:
        raise RosterError(problems=[exc.problem]) from None
    try:
        roster = Roster.model_validate(doc.data or {})
    except ValidationError as exc:
        raise RosterError(problems=doc.validation_problems(exc)) from None
    ids = [u.id.lower() for u in roster.users]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        message = f"duplicate id(s) {', '.join(dupes)}"
        raise RosterError(problems=[Problem(str(path), doc.line(["users"]), "users", message)])
    return roster


def save_roster(path: str | Path, roster: Roster, header: str = "") -> None:
    """Write the roster atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(
        roster.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(header + body, encoding="utf-8")
    os.replace(tmp, path)


def add_user(
    path: str | Path, user_id: str, role: Role, password: str | None, name: str = ""
) -> RosterUser:
    """Add or replace a user in a roster file (created when missing)."""
    path = Path(path)
    roster = load_roster(path) if path.exists() else Roster()
    entry = RosterUser(
        id=user_id,
        name=name or user_id,
        role=role,
        password_hash=hash_password(password) if password else None,
    )
    roster.users = [u for u in roster.users if u.id.lower() != user_id.lower()] + [entry]
    save_roster(path, roster)
    return entry


def authenticate(roster: Roster, user_id: str, password: str) -> Identity | None:
    """The identity for a roster login, or None (unknown user or wrong password).

    An unknown user still costs one hash, so timing does not tell which ids exist."""
    user = roster.user(user_id)
    stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
    ok = verify_password(password, stored)
    if not ok or user is None or not user.password_hash:
        return None
    return Identity(user.id, user.name or user.id, user.role, "roster")


def oidc_identity(
    roster: Roster | None, email: str | None, subject: str | None, name: str | None
) -> Identity | None:
    """The identity of an OIDC-logged-in user, or None when the roster does not admit
    them."""
    user_id = (email or subject or "").strip()
    if not user_id:
        return None
    entry = roster.user(user_id) if roster else None
    if entry is not None:
        return Identity(entry.id, entry.name or name or entry.id, entry.role, "oidc")
    default = roster.oidc_default_role if roster else "reviewer"
    if default is None:
        return None
    return Identity(user_id, name or user_id, default, "oidc")


_DUMMY_HASH = hash_password("not a password", salt=b"\0" * 16)
