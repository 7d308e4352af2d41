"""Drafts and the chosen queue in PostgreSQL, so any app replica reopens a reviewer's
unsent work (the local backend keeps them as files in the workspace: `labeling_app.queues.drafts`).

Keyed by the workspace (its folder path) and the same hash of the user id the local
files use; a draft is work in progress, not a record (not in the audit trail).
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from labeling_app.queues.pg.db import Database


class PgDrafts:
    """The draft store of one workspace in one database (`queues.drafts.DraftBackend`)."""

    def __init__(self, db: Database, workspace: str) -> None:
        self.db = db
        self.workspace = workspace

    def load(self, user_key: str, item_id: str) -> dict[str, Any]:
        """The stored fields of a draft ({} when none)."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT fields FROM rq_drafts WHERE workspace = %s AND user_key = %s"
                " AND item_id = %s",
                (self.workspace, user_key, item_id),
            ).fetchone()
        return dict(row[0]) if row and isinstance(row[0], dict) else {}

    def store(self, user_key: str, item_id: str, fields: dict[str, Any]) -> None:
        """Replace a draft's fields."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO rq_drafts (workspace, user_key, item_id, fields) VALUES"
                " (%s, %s, %s, %s) ON CONFLICT (workspace, user_key, item_id)"
                " DO UPDATE SET fields = EXCLUDED.fields, saved_at = now()",
                (self.workspace, user_key, item_id, Jsonb(fields)),
            )

    def discard(self, user_key: str, item_id: str) -> None:
        """Delete a draft."""
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM rq_drafts WHERE workspace = %s AND user_key = %s AND item_id = %s",
                (self.workspace, user_key, item_id),
            )

    def load_choice(self, user_key: str) -> str | None:
        """The queue the person last worked on."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT queue_id FROM rq_choices WHERE workspace = %s AND user_key = %s",
                (self.workspace, user_key),
            ).fetchone()
        return str(row[0]) if row else None

    def save_choice(self, user_key: str, queue_id: str) -> None:
        """Remember the queue the person works on."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO rq_choices (workspace, user_key, queue_id) VALUES (%s, %s, %s)"
                " ON CONFLICT (workspace, user_key) DO UPDATE SET queue_id = EXCLUDED.queue_id",
                (self.workspace, user_key, queue_id),
            )
