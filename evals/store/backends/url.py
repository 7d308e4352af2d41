"""Which backend a workspace location names: a local folder, or ``s3://bucket/prefix``."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SCHEMES = ("s3",)
"""Object-store URL schemes a workspace may use."""


def object_url(location: str | Path) -> str | None:
    """The normalised ``s3://bucket/prefix`` a location names, or None for a local path.

    A CLI option typed as a path turns ``s3://b/p`` into ``s3:/b/p`` (pathlib collapses
    the double slash), so both spellings are accepted."""
    text = str(location)
    for scheme in SCHEMES:
        for lead in (f"{scheme}://", f"{scheme}:/"):
            if text.startswith(lead):
                rest = text[len(lead) :].strip("/")
                return f"{scheme}://{rest}"
    return None


def split_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of ``s3://bucket/prefix``; the prefix has no slash at either end."""
    rest = url.split("://", 1)[1]
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix.strip("/")


def scratch_dir(url: str) -> Path:
    """This machine's own folder for an object-store workspace: what is per machine by
    nature (the model gateway's response cache). ``EVALS_SCRATCH_DIR`` or
    ``~/.cache/evals/workspaces``, one subfolder per URL."""
    default = Path.home() / ".cache" / "evals" / "workspaces"
    base = os.environ.get("EVALS_SCRATCH_DIR") or str(default)
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return Path(base) / digest
