"""The views' record source on an object store: pyarrow datasets registered in DuckDB.

DuckDB cannot read ``s3://`` offline (its httpfs extension is downloaded at run time),
so each segment's Parquet objects are opened as a pyarrow dataset over pyarrow's own S3
filesystem and registered on the connection by name; DuckDB scans them lazily, pushing
column projections down. Every record's chain hash is checked in SQL as for local
Parquet segments that carry no verified stamp (evals.store.record_sql), so an edited object
is left out of every view with a warning, never trusted.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import duckdb

from evals.store.backends.object_segments import SegmentRef, arrow_schema
from evals.store.record_sql import _ACCEPT, _QUARANTINE

if TYPE_CHECKING:
    from evals.store.backends.object_workspace import ObjectWorkspace

log = logging.getLogger("evals.store")


def raw_sources(con: duckdb.DuckDBPyConnection, ws: ObjectWorkspace) -> dict[str, str]:
    """Kind -> SELECT seq, ts, prev, hash, body, seal, filename of its verified records
    (one listing of the store for all kinds)."""
    by_kind: dict[str, list[SegmentRef]] = {}
    for ref in ws.segment_refs():
        by_kind.setdefault(ref.kind, []).append(ref)
    sources = {}
    for kind, refs in by_kind.items():
        source = _raw_source(con, ws, kind, refs)
        if source:
            sources[kind] = source
    return sources


def _raw_source(con: duckdb.DuckDBPyConnection, ws: ObjectWorkspace, kind: str,
                refs: list[SegmentRef]) -> str | None:
    import pyarrow.dataset as pads

    fs = ws.store.arrow_filesystem()  # type: ignore[attr-defined]
    accept = _ACCEPT.format(text="coalesce(body, 'null')")
    parts = []
    for i, ref in enumerate(refs):
        name = f"segment_{kind}_{i}"
        paths = [p for p in (ws.store.arrow_path(k) for k in ref.keys)  # type: ignore[attr-defined]
                 if p not in ws.unreadable]
        if not paths:
            continue
        con.register(name, pads.dataset(paths, schema=arrow_schema(), format="parquet",
                                        filesystem=fs))
        label = f"{ws.url}/records/{ref.name}".replace("'", "''")
        parts.append(
            f"SELECT seq, ts, prev, hash, CASE WHEN {accept} THEN body ELSE {_QUARANTINE} "
            f"END AS body, seal, filename FROM (SELECT *, '{label}' AS filename "
            f'FROM "{name}")'
        )
    return " UNION ALL ".join(parts) or None


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Never let DuckDB try to download an extension (offline machines hang on it)."""
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")


def vanished(exc: Exception) -> bool:
    """Whether a query failed because an object was compacted away while it ran."""
    text = str(exc)
    return "does not exist" in text or "NoSuchKey" in text or "Not Found" in text


_BAD_OBJECT = re.compile(r"Could not open Parquet input source '([^']+)'")


def left_out(ws: ObjectWorkspace, exc: Exception) -> bool:
    """When a query failed on an object that is not Parquet (corrupt, or someone else's
    object under a segment's name), leave that object out of this workspace's views
    with a warning, so that one bad object cannot fail every query (as record_sql
    leaves out one bad record); the audit names it. True when there was one."""
    found = _BAD_OBJECT.search(str(exc))
    if found is None or found.group(1) in ws.unreadable:
        return False
    ws.unreadable.add(found.group(1))
    log.warning("s3://%s: unreadable object left out of every view (run `evals audit "
                "verify`)", found.group(1))
    return True
