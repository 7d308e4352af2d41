"""The workspace store: append-only records, queried through DuckDB, audited by hash chains.

* `workspace`: the workspace folder, segment writers, compaction (`Workspace`);
* `segment_read`, `record_sql`: reading segments strictly (hash-checked) for the views;
* `query`: DuckDB over the record files, views registered by name (`query`, `connect`);
* `views`: the shared SQL: a run's trials, latest and final verdicts, counted labels;
* `manifest`, `audit`, `audit_manifest`: which segments exist, and verifying the chains;
* `key_claims`: per-trial-key locks, so two runs never run one trial twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evals.lazy import lazy_exports

if TYPE_CHECKING:
    from evals.store.audit import (
        AuditFinding,
        AuditReport,
        record_name,
        verify_segment,
        verify_workspace,
    )
    from evals.store.audit_manifest import (
        Commitment,
        ManifestState,
        SegmentSeen,
        add_head_files,
        check,
        read_manifest,
        wanted_seqs,
    )
    from evals.store.key_claims import (
        KeyClaims,
        journal_end,
        journal_path,
    )
    from evals.store.manifest import (
        append_entry,
        checkpoint,
        current_head,
        entries,
        head_path,
        open_head,
        read_head,
        record,
        segment_name,
        write_head,
    )
    from evals.store.query import (
        DERIVED_VIEWS,
        SIMULATED_PREFIX,
        VIEW_MODULES,
        load_view_modules,
        run_members_sql,
    )
    from evals.store.record_sql import (
        is_stamped,
        jsonl_source_sql,
        parquet_source_sql,
        quarantine,
        read_stamp,
        register_quarantine,
        stamp_verified,
        unstamp,
    )
    from evals.store.rows import (
        fetch_dicts,
        record_fields,
        rows_as,
    )
    from evals.store.segment_read import (
        Envelope,
        envelope_hash,
        read_segment,
    )
    from evals.store.typed_columns import (
        check_segment,
        column_names,
        deduped_facts_sql,
        define_fact_views,
        derive_sql,
        enabled,
        facts_source_sql,
        is_typed,
        typed_fields,
        typed_version,
    )
    from evals.store.workspace import (
        LockBusy,
        SegmentWriter,
        Workspace,
        compact_segment,
        new_segment_id,
    )

# Names resolve lazily (evals.lazy): importing the package runs none of its modules.
_EXPORTS: dict[str, str] = {
    "AuditFinding": "evals.store.audit",
    "AuditReport": "evals.store.audit",
    "Commitment": "evals.store.audit_manifest",
    "DERIVED_VIEWS": "evals.store.query",
    "Envelope": "evals.store.segment_read",
    "KeyClaims": "evals.store.key_claims",
    "LockBusy": "evals.store.workspace",
    "ManifestState": "evals.store.audit_manifest",
    "SIMULATED_PREFIX": "evals.store.query",
    "SegmentSeen": "evals.store.audit_manifest",
    "SegmentWriter": "evals.store.workspace",
    "VIEW_MODULES": "evals.store.query",
    "Workspace": "evals.store.workspace",
    "add_head_files": "evals.store.audit_manifest",
    "append_entry": "evals.store.manifest",
    "check": "evals.store.audit_manifest",
    "check_segment": "evals.store.typed_columns",
    "checkpoint": "evals.store.manifest",
    "column_names": "evals.store.typed_columns",
    "compact_segment": "evals.store.workspace",
    "current_head": "evals.store.manifest",
    "deduped_facts_sql": "evals.store.typed_columns",
    "define_fact_views": "evals.store.typed_columns",
    "derive_sql": "evals.store.typed_columns",
    "enabled": "evals.store.typed_columns",
    "entries": "evals.store.manifest",
    "envelope_hash": "evals.store.segment_read",
    "facts_source_sql": "evals.store.typed_columns",
    "fetch_dicts": "evals.store.rows",
    "head_path": "evals.store.manifest",
    "is_stamped": "evals.store.record_sql",
    "is_typed": "evals.store.typed_columns",
    "journal_end": "evals.store.key_claims",
    "journal_path": "evals.store.key_claims",
    "jsonl_source_sql": "evals.store.record_sql",
    "load_view_modules": "evals.store.query",
    "new_segment_id": "evals.store.workspace",
    "open_head": "evals.store.manifest",
    "parquet_source_sql": "evals.store.record_sql",
    "quarantine": "evals.store.record_sql",
    "read_head": "evals.store.manifest",
    "read_manifest": "evals.store.audit_manifest",
    "read_segment": "evals.store.segment_read",
    "read_stamp": "evals.store.record_sql",
    "record": "evals.store.manifest",
    "record_fields": "evals.store.rows",
    "record_name": "evals.store.audit",
    "register_quarantine": "evals.store.record_sql",
    "rows_as": "evals.store.rows",
    "run_members_sql": "evals.store.query",
    "segment_name": "evals.store.manifest",
    "stamp_verified": "evals.store.record_sql",
    "typed_fields": "evals.store.typed_columns",
    "typed_version": "evals.store.typed_columns",
    "unstamp": "evals.store.record_sql",
    "verify_segment": "evals.store.audit",
    "verify_workspace": "evals.store.audit",
    "wanted_seqs": "evals.store.audit_manifest",
    "write_head": "evals.store.manifest",
}

__all__ = [
    "DERIVED_VIEWS",
    "SIMULATED_PREFIX",
    "VIEW_MODULES",
    "AuditFinding",
    "AuditReport",
    "Commitment",
    "Envelope",
    "KeyClaims",
    "LockBusy",
    "ManifestState",
    "SegmentSeen",
    "SegmentWriter",
    "Workspace",
    "add_head_files",
    "append_entry",
    "check",
    "check_segment",
    "checkpoint",
    "column_names",
    "compact_segment",
    "current_head",
    "deduped_facts_sql",
    "define_fact_views",
    "derive_sql",
    "enabled",
    "entries",
    "envelope_hash",
    "facts_source_sql",
    "fetch_dicts",
    "head_path",
    "is_stamped",
    "is_typed",
    "journal_end",
    "journal_path",
    "jsonl_source_sql",
    "load_view_modules",
    "new_segment_id",
    "open_head",
    "parquet_source_sql",
    "quarantine",
    "read_head",
    "read_manifest",
    "read_segment",
    "read_stamp",
    "record",
    "record_fields",
    "record_name",
    "register_quarantine",
    "rows_as",
    "run_members_sql",
    "segment_name",
    "stamp_verified",
    "typed_fields",
    "typed_version",
    "unstamp",
    "verify_segment",
    "verify_workspace",
    "wanted_seqs",
    "write_head",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
