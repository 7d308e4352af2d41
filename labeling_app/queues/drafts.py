"""Drafts and the chosen queue, kept server-side per user so a reload loses nothing.

A draft is what a reviewer has entered on an item but not yet submitted: helpful,
correctness, corrected answer, comment, skip/flag reason. It is saved as it is typed
(the page's autosave component sends the text a moment after each keystroke pause; the
buttons' callbacks save their choice at once) to
``<workspace>/app/users/<user hash>/drafts/<item id>.json``, replaced atomically on each
save, and deleted when the item is decided (submit, skip or flag). Drafts are work in
progress, not records: they are not part of the append-only audit trail.

``<workspace>/app/users/<user hash>/state.json`` remembers the queue the person works
on, so a reload opens the same queue even when no item is held.

With the queue state in PostgreSQL (several app replicas), the queue service registers a
`DraftBackend` for the workspace (`use_backend`) and drafts and choices live there
instead, so a reviewer sent to another replica finds them (`labeling_app.queues.pg`).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, Protocol

import orjson

from evals.schema import utcnow
from labeling_app.auth.tokens import app_dir

FIELDS = ("helpful", "correctness", "answer", "comment", "reason")
"""Fields a draft may hold."""
TEXT_FIELDS = ("answer", "comment", "reason")
MAX_TEXT = 50_000
"""Characters kept per text field (a draft is no place for a file)."""
_ITEM = re.compile(r"^[A-Za-z0-9_.:-]{1,120}$")


class DraftBackend(Protocol):
    """Where drafts and choices live when not in the workspace's folder."""

    def load(self, user_key: str, item_id: str) -> dict[str, Any]:
        """The stored fields of a draft ({} when none)."""

    def store(self, user_key: str, item_id: str, fields: dict[str, Any]) -> None:
        """Replace a draft's fields."""

    def discard(self, user_key: str, item_id: str) -> None:
        """Delete a draft."""

    def load_choice(self, user_key: str) -> str | None:
        """The queue the person last worked on."""

    def save_choice(self, user_key: str, queue_id: str) -> None:
        """Remember the queue the person works on."""


_BACKENDS: dict[Path, DraftBackend] = {}


def use_backend(root: Path, backend: DraftBackend | None) -> None:
    """Keep the drafts of the workspace at ``root`` in ``backend`` (None: its folder)."""
    if backend is None:
        _BACKENDS.pop(root.resolve(), None)
    else:
        _BACKENDS[root.resolve()] = backend


def _backend(root: Path) -> DraftBackend | None:
    return _BACKENDS.get(root.resolve()) if _BACKENDS else None


def _user_key(user: str) -> str:
    return hashlib.sha256(user.strip().lower().encode()).hexdigest()[:24]


def _user_dir(root: Path, user: str) -> Path:
    return app_dir(root) / "users" / _user_key(user)


def _draft_path(root: Path, user: str, item_id: str) -> Path:
    if not _ITEM.match(item_id):
        raise ValueError(f"not an item id: {item_id[:40]!r}")
    return _user_dir(root, user) / "drafts" / f"{item_id}.json"


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(orjson.dumps(data))
    os.replace(tmp, path)


def clean_value(field: str, value: object) -> object:
    """A field's value as a draft may hold it (anything else: None)."""
    if field == "helpful":
        return value if isinstance(value, bool) else None
    if field == "correctness":
        return value if value in ("correct", "partly", "wrong") else None
    if field in TEXT_FIELDS and isinstance(value, str):
        return value[:MAX_TEXT]
    return None


def load_draft(root: Path, user: str, item_id: str) -> dict[str, Any]:
    """The saved draft of an item ({} when none)."""
    backend = _backend(root)
    try:
        if backend is not None:
            _draft_path(root, user, item_id)  # (checks the item id)
            data = {"fields": backend.load(_user_key(user), item_id)}
        else:
            data = orjson.loads(_draft_path(root, user, item_id).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError, ValueError):
        return {}
    return {k: clean_value(k, v) for k, v in data.get("fields", {}).items() if k in FIELDS}


def save_draft(root: Path, user: str, item_id: str, changes: dict[str, object]) -> dict[str, Any]:
    """Merge changes into the item's draft and save it; returns the whole draft."""
    fields = load_draft(root, user, item_id)
    for key, value in changes.items():
        if key in FIELDS:
            fields[key] = clean_value(key, value)
    backend = _backend(root)
    if backend is not None:
        _draft_path(root, user, item_id)  # (checks the item id)
        backend.store(_user_key(user), item_id, fields)
        return fields
    _write(
        _draft_path(root, user, item_id),
        {"item_id": item_id, "saved_at": utcnow().isoformat(), "fields": fields},
    )
    return fields


def discard_draft(root: Path, user: str, item_id: str) -> None:
    """Delete the item's draft (after a decision)."""
    backend = _backend(root)
    try:
        if backend is not None:
            _draft_path(root, user, item_id)  # (checks the item id)
            backend.discard(_user_key(user), item_id)
            return
        _draft_path(root, user, item_id).unlink(missing_ok=True)
    except ValueError:
        return


def load_choice(root: Path, user: str) -> str | None:
    """The queue the person last worked on."""
    backend = _backend(root)
    if backend is not None:
        return backend.load_choice(_user_key(user))
    try:
        value = orjson.loads((_user_dir(root, user) / "state.json").read_bytes()).get("queue")
    except (FileNotFoundError, orjson.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def save_choice(root: Path, user: str, queue_id: str) -> None:
    """Remember the queue the person works on."""
    backend = _backend(root)
    if backend is not None:
        backend.save_choice(_user_key(user), queue_id)
        return
    if load_choice(root, user) != queue_id:
        _write(_user_dir(root, user) / "state.json", {"queue": queue_id})
