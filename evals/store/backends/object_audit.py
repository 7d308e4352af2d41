"""`evals audit verify` on an object-store workspace: the same checks as on disk.

Each segment's chain is verified across its parts (evals.store.audit.verify_segment), the
manifest's own chain, and every segment against the manifest: a segment the manifest
opened but that is gone, one it never opened, a sealed segment whose seal or last
records are gone, a record that no longer matches a seal or checkpoint (an object
edited and its chain recomputed), and with ``--pin`` that the pinned entry is still
there. There are no head files on an object store (an object cannot be rewritten in
place): the tail of a segment still being written is covered by the next checkpoint
or its seal, not before (docs/storage.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evals.store.audit import AuditFinding, AuditReport, _as_finding, verify_segment
from evals.store.audit_manifest import (
    Commitment,
    ManifestState,
    SegmentSeen,
    _check_commitment,
    _stamp_prefix,
    wanted_seqs,
)
from evals.store.backends.object_segments import SegmentRef, read_segment_ref
from evals.store.segment_read import Envelope

if TYPE_CHECKING:
    from evals.store.backends.object_workspace import ObjectWorkspace


def read_object_manifest(ws: ObjectWorkspace) -> ManifestState:
    """The manifest's entries: segments opened, seals and checkpoints."""
    state = ManifestState(exists=ws.manifest.exists())
    for item in ws.manifest.entries():
        if not isinstance(item, Envelope) or not isinstance(item.body, dict):
            continue
        state.started = state.started or item.ts
        state.entries[item.seq] = item.hash
        body, where = item.body, f"manifest entry {item.seq}"
        op = body.get("op")
        if op in ("open", "seal"):
            state.known.add(str(body.get("segment")))
        if op == "seal":
            state.commitments.setdefault(str(body.get("segment")), []).append(
                Commitment(int(body.get("seq", 0)), str(body.get("head")), True, where))
        elif op == "checkpoint":
            for name, head in (body.get("segments") or {}).items():
                state.known.add(name)
                try:
                    c = Commitment(int(head["seq"]), str(head["head"]), bool(head["sealed"]),
                                   where)
                except (KeyError, TypeError, ValueError):
                    state.problems.append(f"{item.file}: unreadable checkpoint of {name}")
                    continue
                state.commitments.setdefault(name, []).append(c)
    return state


def _verify_ref(ws: ObjectWorkspace, ref: SegmentRef, got: SegmentSeen
                ) -> tuple[int, bool, list[AuditFinding]]:
    try:
        return verify_segment(got.path, got, read_segment_ref(ws.store, ref))
    except FileNotFoundError:  # compacted while we listed: verify the compacted object
        got.path = Path(f"{ws.url}/records/{ref.name}.parquet")
        again = SegmentRef(ref.kind, ref.segment, f"records/{ref.name}.parquet")
        return verify_segment(got.path, got, read_segment_ref(ws.store, again))


def verify_object_workspace(ws: ObjectWorkspace, pin: str | None = None) -> AuditReport:
    """Verify every segment, the manifest's chain and the segments against it."""
    report = AuditReport(findings=[])
    assert report.findings is not None
    state = read_object_manifest(ws)
    manifest_path = Path(f"{ws.url}/manifest")
    report.findings.extend(verify_segment(manifest_path, None, ws.manifest.entries())[2])
    seen: dict[str, SegmentSeen] = {}
    for ref in ws.segment_refs():
        label = (Path(f"{ws.url}/{ref.compacted}") if ref.compacted
                 else Path(f"{ws.url}/records/{ref.name}"))
        got = SegmentSeen(label, hashes=dict.fromkeys(wanted_seqs(state, ref.name), ""))
        count, sealed, findings = _verify_ref(ws, ref, got)
        seen[ref.name] = got
        report.segments += 1
        report.records += count
        report.sealed += int(sealed)
        report.findings.extend(findings)
    report.findings.extend(_as_finding(t) for t in _check(ws, state, seen, pin, manifest_path))
    return report


def _check(ws: ObjectWorkspace, state: ManifestState, seen: dict[str, SegmentSeen],
           pin: str | None, manifest_path: Path) -> list[str]:
    findings = list(state.problems)
    if pin is not None:
        seq, _, digest = pin.partition(":")
        if not seq.isdigit() or state.entries.get(int(seq)) != digest:
            findings.append(f"{manifest_path}: pinned head {pin} is not in the manifest "
                            "(history rewritten, or manifest entries deleted)")
    for name in sorted(state.known | set(state.commitments)):
        got = seen.get(name)
        if got is None:
            findings.append(f"{ws.url}/records/{name}: segment deleted (the manifest lists it)")
            continue
        for c in state.commitments.get(name, []):
            findings.extend(_check_commitment(got, c))
    for name, got in seen.items():
        if name in state.known or got.last_seq == 0:
            continue
        if state.started is None or got.path.stem < _stamp_prefix(state.started):
            findings.append(f"{got.path}: segment not in the manifest (manifest deleted?)")
        else:
            findings.append(f"{got.path}: segment not in the manifest (added by hand?)")
    return findings
