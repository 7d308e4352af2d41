"""Verifying the workspace's hash chains: has any stored record been edited, reordered,
deleted, or a sealed segment truncated?"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from evals.store import manifest
from evals.store.audit_manifest import (
    SegmentSeen,
    add_head_files,
    check,
    read_manifest,
    wanted_seqs,
)
from evals.store.record_sql import MAX_LINE_BYTES, stamp_verified, unstamp
from evals.store.typed_columns import check_segment
from evals.store.workspace import GENESIS, Envelope, Workspace, envelope_hash, read_segment


@dataclass(frozen=True)
class AuditFinding:
    """One broken link, located by file and line (row, for Parquet)."""

    file: Path
    line: int | None
    record: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        if where.startswith("s3:/") and not where.startswith("s3://"):
            where = "s3://" + where[4:]  # pathlib folds the URL's double slash
        rec = f" (record {self.record})" if self.record else ""
        return f"{where}{rec}: {self.message}"


@dataclass
class AuditReport:
    """Result of verifying a workspace."""

    segments: int = 0
    records: int = 0
    sealed: int = 0
    findings: list[AuditFinding] | None = None
    notes: list[str] = field(default_factory=list)
    """What the audit could not check (e.g. segments older than the manifest)."""

    @property
    def ok(self) -> bool:
        """True when every chain verified."""
        return not self.findings


def record_name(body: object) -> str | None:
    """A record's own id, for naming it in findings."""
    if isinstance(body, dict):
        for field in ("key", "id", "run_id"):
            if isinstance(body.get(field), str):
                return str(body[field])
    return None


def verify_segment(
    path: Path, seen: SegmentSeen | None = None, items: Iterable[Envelope | str] | None = None
) -> tuple[int, bool, list[AuditFinding]]:
    """Check one segment's chain; returns (records, sealed, findings). `seen` collects
    its last seq and the hashes of the seqs it already holds as keys. `items`: the
    envelopes when not read from `path` (a segment on an object store)."""
    findings: list[AuditFinding] = []
    prev, expected_seq, count, sealed = GENESIS, 1, 0, False
    for item in read_segment(path, warn=False) if items is None else items:
        if isinstance(item, str):
            findings.append(AuditFinding(path, None, None, item))
            continue
        env: Envelope = item
        name = record_name(env.body)
        if sealed:
            findings.append(AuditFinding(path, env.line, name, "record after the seal"))
        if env.seq != expected_seq:
            findings.append(AuditFinding(path, env.line, name,
                                         f"sequence {env.seq}, expected {expected_seq} "
                                         "(record deleted or reordered)"))
        if env.prev != prev:
            findings.append(AuditFinding(path, env.line, name,
                                         "chain broken: previous hash does not match "
                                         "(record deleted, inserted or reordered)"))
        if not env.canonical:
            findings.append(AuditFinding(path, env.line, name,
                                         "not stored as written (duplicate key or "
                                         "re-encoded JSON): tampered"))
        if path.suffix == ".jsonl" and env.size > MAX_LINE_BYTES:
            findings.append(AuditFinding(path, env.line, name,
                                         f"record of {env.size} bytes is over the views' "
                                         f"read limit ({MAX_LINE_BYTES}): left out of them"))
        if envelope_hash(env.prev, env.seq, env.ts, env.body) != env.hash:
            findings.append(AuditFinding(path, env.line, name,
                                         "content does not match its hash (record edited)"))
        if env.seal is not None:
            sealed = True
            if env.seal != env.seq - 1:
                findings.append(AuditFinding(path, env.line, None,
                                             f"seal counts {env.seal} records, "
                                             f"found {env.seq - 1}"))
        else:
            count += 1
        prev, expected_seq = env.hash, env.seq + 1
        if seen is not None:
            seen.last_seq, seen.sealed = env.seq, env.seal is not None
            if env.seq in seen.hashes:
                seen.hashes[env.seq] = env.hash
    if path.suffix == ".parquet" and not sealed:
        # Compaction happens only after the seal: a Parquet without one lost its tail.
        findings.append(AuditFinding(path, None, None,
                                     "compacted segment without its seal (last records "
                                     "and seal removed)"))
    return count, sealed, findings


def verify_workspace(ws: Workspace, pin: str | None = None) -> AuditReport:
    """Verify every segment of every kind, the manifest's chain, every segment against
    the manifest and its head file, and (with `pin`, from `evals audit head`) that the
    pinned manifest entry is still there."""
    if ws.remote:  # named, not imported: the object-store audit builds on this module
        backend = importlib.import_module("evals.store.backends.object_audit")
        return cast(AuditReport, backend.verify_object_workspace(ws, pin))
    report = AuditReport(findings=[])
    assert report.findings is not None
    state = read_manifest(ws)
    add_head_files(ws, state)
    if state.exists:
        path = ws.root / manifest.MANIFEST
        report.findings.extend(verify_segment(path)[2])
    seen: dict[str, SegmentSeen] = {}
    for seg in ws.segments():
        name = manifest.segment_name(seg)
        got = SegmentSeen(seg, hashes=dict.fromkeys(wanted_seqs(state, name), ""))
        try:
            count, sealed, findings = verify_segment(seg, got)
        except FileNotFoundError:  # compacted while we listed: verify the Parquet
            got.path = seg.with_suffix(".parquet")
            count, sealed, findings = verify_segment(got.path, got)
        seen[name] = got
        if got.path.suffix == ".parquet":  # the views may read it without re-hashing
            typed, disagree = check_segment(got.path)
            findings += [AuditFinding(got.path, seq or None, None, m) for seq, m in disagree]
            with contextlib.suppress(OSError):  # a read-only copy: nothing to remember
                if findings:
                    unstamp(got.path)
                else:
                    stamp_verified(got.path, typed)
        report.segments += 1
        report.records += count
        report.sealed += int(sealed)
        report.findings.extend(findings)
    more, report.notes = check(ws, state, seen, pin)
    report.findings.extend(_as_finding(text) for text in more)
    return report


def _as_finding(text: str) -> AuditFinding:
    """A manifest finding, already located in its text."""
    where, _, message = text.partition(": ")
    file, _, line = where.rpartition(":")
    if line.isdigit():
        return AuditFinding(Path(file), int(line), None, message)
    return AuditFinding(Path(where), None, None, message)
