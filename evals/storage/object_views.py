"""The views' record source on an object store: pyarrow datasets registered in DuckDB.

DuckDB cannot read ``s3://`` offline (its httpfs extension is downloaded at run time),
so each segment's Parquet objects are opened as a pyarrow dataset over pyarrow's own S3
filesystem and registered on the connection by name; DuckDB scans them lazily, pushing
column projections down. Every record's chain hash is checked in SQL as for local
Parquet segments that carry no verified stamp (evals.record_sql), so an edited object
is left out of every view with a warning, never trusted.
"""

from __future__ import annotations

import duckdb

from evals.record_sql import _ACCEPT, _QUARANTINE
from evals.storage.object_segments import arrow_schema
from evals.storage.object_workspace import ObjectWorkspace


def raw_source(con: duckdb.DuckDBPyConnection, ws: ObjectWorkspace, kind: str) -> str | None:
    """SELECT seq, ts, prev, hash, body, seal, filename of a kind's verified records."""
    import pyarrow.dataset as pads

    refs = ws.segment_refs(kind)
    if not refs:
        return None
    fs = ws.store.arrow_filesystem()  # type: ignore[attr-defined]
    accept = _ACCEPT.format(text="coalesce(body, 'null')")
    parts = []
    for i, ref in enumerate(refs):
        name = f"segment_{kind}_{i}"
        paths = [ws.store.arrow_path(k) for k in ref.keys]  # type: ignore[attr-defined]
        con.register(name, pads.dataset(paths, schema=arrow_schema(), format="parquet",
                                        filesystem=fs))
        label = f"{ws.url}/records/{ref.name}".replace("'", "''")
        parts.append(
            f"SELECT seq, ts, prev, hash, CASE WHEN {accept} THEN body ELSE {_QUARANTINE} "
            f"END AS body, seal, filename FROM (SELECT *, '{label}' AS filename "
            f'FROM "{name}")'
        )
    return " UNION ALL ".join(parts)


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Never let DuckDB try to download an extension (offline machines hang on it)."""
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")


def vanished(exc: Exception) -> bool:
    """Whether a query failed because an object was compacted away while it ran."""
    text = str(exc)
    return "does not exist" in text or "NoSuchKey" in text or "Not Found" in text
