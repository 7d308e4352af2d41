"""The local-folder backend.

A workspace on a local path keeps today's layout and code paths exactly (evals.store:
JSONL segments appended in place, head files, fcntl and OFD locks, the manifest file):
they are the benchmarked default and are not routed through the object protocol.

LocalObjectStore is the same append-only object protocol (evals.store.backends.base) over a
folder, with the same no-overwrite guarantee (a hard link fails when the name exists):
it lets the leases (evals.store.backends.leases) and the object-store workspace run on a shared
file system (NFS, a mounted volume), and lets tests check the protocol on both backends.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from evals.store.backends.base import ObjectInfo


class LocalObjectStore:
    """Objects as files under a folder (keys are relative paths)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def list(self, prefix: str, start_after: str = "") -> list[ObjectInfo]:
        """Files whose relative path starts with `prefix`, sorted."""
        base = self.root / prefix.rpartition("/")[0] if "/" in prefix else self.root
        found: list[ObjectInfo] = []
        if not base.exists():
            return found
        for dirpath, _, files in os.walk(base):
            for name in files:
                if ".tmp-" in name:
                    continue
                path = Path(dirpath) / name
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix) and key > start_after:
                    with contextlib.suppress(FileNotFoundError):
                        found.append(ObjectInfo(key, path.stat().st_size))
        return sorted(found, key=lambda o: o.key)

    def get(self, key: str) -> bytes | None:
        """The file's bytes, None when absent."""
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            return None

    def put_new(self, key: str, data: bytes) -> bool:
        """Write a temporary file, then hard-link it to the name: the link fails when the
        name exists, so an existing object is never replaced, and readers never see a
        partial one."""
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.tmp-{secrets.token_hex(4)}")
        tmp.write_bytes(data)
        try:
            os.link(tmp, target)
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink()

    def delete(self, key: str) -> None:
        """Remove the file (absent is fine)."""
        (self.root / key).unlink(missing_ok=True)
