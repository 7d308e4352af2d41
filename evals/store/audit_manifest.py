"""Checking segments against the workspace manifest (evals.store.manifest): what a segment's
own chain cannot show — a record cut from its end, a whole segment deleted, a compacted
segment missing its tail, a chain recomputed after an edit (against a pinned head)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evals.store import manifest
from evals.store.workspace import Envelope, Workspace


@dataclass
class Commitment:
    """What the manifest (or a head file) says a segment reached."""

    seq: int
    """The segment's last seq at the time (its seal's, when sealed)."""
    head: str
    """That record's hash."""
    sealed: bool
    """Whether the segment was sealed then."""
    source: str
    """Where it was said, for the finding: ``manifest entry 12`` or ``head file``."""


@dataclass
class ManifestState:
    """The manifest as read: segments it knows, what it commits to, its entries."""

    exists: bool = False
    started: str | None = None
    """Timestamp of its first entry: segments created before it predate it."""
    known: set[str] = field(default_factory=set)
    commitments: dict[str, list[Commitment]] = field(default_factory=dict)
    entries: dict[int, str] = field(default_factory=dict)
    """seq -> hash of every entry (for a pinned head)."""
    problems: list[str] = field(default_factory=list)


@dataclass
class SegmentSeen:
    """A segment as the verifier read it."""

    path: Path
    last_seq: int = 0
    sealed: bool = False
    hashes: dict[int, str] = field(default_factory=dict)
    """seq -> hash of the records some commitment names."""


def read_manifest(ws: Workspace) -> ManifestState:
    """Parse the manifest; chain problems are reported by verifying it as a segment."""
    state = ManifestState(exists=(ws.root / manifest.MANIFEST).exists())
    for item in manifest.entries(ws.root):
        if not isinstance(item, Envelope) or not isinstance(item.body, dict):
            continue
        state.started = state.started or item.ts
        state.entries[item.seq] = item.hash
        body = item.body
        where = f"manifest entry {item.seq}"
        op = body.get("op")
        if op == "open":
            state.known.add(str(body.get("segment")))
        elif op == "seal":
            name = str(body.get("segment"))
            state.known.add(name)
            state.commitments.setdefault(name, []).append(
                Commitment(int(body.get("seq", 0)), str(body.get("head")), True, where)
            )
        elif op == "checkpoint":
            for name, head in (body.get("segments") or {}).items():
                state.known.add(name)
                try:
                    c = Commitment(int(head["seq"]), str(head["head"]), bool(head["sealed"]),
                                   where)
                except (KeyError, TypeError, ValueError):
                    state.problems.append(f"{ws.root / manifest.MANIFEST}:{item.line}: "
                                          f"unreadable checkpoint of {name}")
                    continue
                state.commitments.setdefault(name, []).append(c)
    return state


def add_head_files(ws: Workspace, state: ManifestState) -> None:
    """Commitments from the segments' head files (each segment's last append)."""
    for kind in ws.kinds():
        for head in sorted(ws.records_dir(kind).glob(f"*{manifest.HEAD_SUFFIX}")):
            got = manifest.read_head(head)
            name = manifest.segment_name(head)
            if got is None:
                state.problems.append(f"{head}: head file unreadable")
            elif got[0] > 0:
                state.commitments.setdefault(name, []).append(
                    Commitment(got[0], got[1], False, "head file")
                )


def wanted_seqs(state: ManifestState, name: str) -> set[int]:
    """The seqs of a segment whose hashes some commitment names."""
    return {c.seq for c in state.commitments.get(name, [])}


def check(ws: Workspace, state: ManifestState, seen: dict[str, SegmentSeen],
          pin: str | None) -> tuple[list[str], list[str]]:
    """(findings, notes) of the segments against the manifest, head files and pin."""
    findings, notes = list(state.problems), []
    if pin is not None:
        seq, _, digest = pin.partition(":")
        if not seq.isdigit() or state.entries.get(int(seq)) != digest:
            findings.append(f"{ws.root / manifest.MANIFEST}: pinned head {pin} is not in the "
                            "manifest (history rewritten, or manifest replaced or deleted)")
    if not state.exists and any(state.commitments):
        findings.append(f"{ws.root / manifest.MANIFEST}: missing, but segments have head "
                        "files (manifest deleted)")
    for name in sorted(state.known | set(state.commitments)):
        kind, _, seg_id = name.partition("/")
        got = seen.get(name)
        if got is None:
            findings.append(f"{ws.records_dir(kind) / seg_id}.jsonl: segment deleted "
                            "(the manifest lists it)")
            continue
        if name in state.known and not manifest.head_path(got.path).exists():
            findings.append(f"{manifest.head_path(got.path)}: head file deleted")
        for c in state.commitments.get(name, []):
            findings.extend(_check_commitment(got, c))
    legacy = 0
    for name, got in seen.items():
        if name in state.known or got.last_seq == 0:
            continue
        if state.started is None or got.path.stem < _stamp_prefix(state.started):
            legacy += 1
        else:
            findings.append(f"{got.path}: segment not in the manifest (added by hand?)")
    if legacy:
        notes.append(f"{legacy} segment(s) predate the manifest: not covered by the checks "
                     "for deleted segments and cut tails (`evals audit head` covers them)")
    return findings, notes


def _check_commitment(got: SegmentSeen, c: Commitment) -> list[str]:
    if got.last_seq < c.seq:
        return [f"{got.path}: ends at record {got.last_seq}, but the {c.source} says it "
                f"reached {c.seq} (last records deleted)"]
    if c.seq > 0 and got.hashes.get(c.seq) != c.head:
        return [f"{got.path}:{c.seq}: record does not match the {c.source} (edited and "
                "its chain recomputed, or replaced)"]
    if c.sealed and not got.sealed:
        return [f"{got.path}: the {c.source} says it was sealed; its seal is gone"]
    return []


def _stamp_prefix(ts: str) -> str:
    """A manifest timestamp in the form segment ids start with (evals.store.workspace)."""
    return ts.replace("-", "").replace(":", "")[:15]
