"""EDD rules on ownership: chains of holdings, effective shares multiplied along them,
beneficial owners (natural persons at 25% or more), and what cannot be traced (nominees,
organisations without ownership records). Part of evals.blueprints.edd_rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from evals.blueprints.edd_world import (
    QUARTER,
    EddWorld,
    country_label,
    entry_name,
    packed_lines,
    parse_share,
    percent,
    subject_id,
    txt,
)


@dataclass
class _Chain:
    """One ownership chain from the subject down to a natural person or a dead end."""

    end: dict[str, Any]
    """The last owner, as get_ownership lists it."""
    effective: Fraction | None
    """Shares multiplied along the chain; None when a share on it is not recorded."""
    direct: Fraction | None
    """The last owner's own share in the organisation it holds."""
    path: tuple[str, ...]
    """Names of the organisations from the subject down to the last owner's."""
    dead_end: bool = False
    """The chain ends in an organisation (nominee, no ownership records)."""


def _chains(
    world: EddWorld, eid: str, factor: Fraction | None, via: tuple[str, ...], ids: tuple[str, ...]
) -> list[_Chain]:
    obs = world.ownership.get(eid) or {}
    path = (*via, str(obs.get("name") or eid))
    out: list[_Chain] = []
    for owner in obs.get("owners") or []:
        direct = parse_share(owner.get("share_percent"))
        share = None if factor is None or direct is None else factor * direct
        oid = str(owner.get("entity_id") or "")
        sub = world.ownership.get(oid)
        if owner.get("type") == "person":
            out.append(_Chain(owner, share, direct, path))
        elif (
            sub is None or not sub.get("ownership_recorded") or not sub.get("owners") or oid in ids
        ):
            out.append(_Chain(owner, share, direct, path, dead_end=True))
        else:
            out.extend(_chains(world, oid, share, path, (*ids, oid)))
    return out


def _subject_chains(world: EddWorld) -> list[_Chain]:
    subject = subject_id(world) or ""
    return _chains(world, subject, Fraction(1), (), (subject,))


def _graph(world: EddWorld) -> list[dict[str, Any]]:
    """Ownership records of the subject and of every organisation in its chains (depth first)."""
    order: list[str] = []

    def visit(eid: str) -> None:
        if eid in order or eid not in world.ownership:
            return
        order.append(eid)
        for owner in world.ownership[eid].get("owners") or []:
            if owner.get("type") != "person" and owner.get("entity_id"):
                visit(str(owner["entity_id"]))

    visit(subject_id(world) or "")
    return [world.ownership[e] for e in order]


def _dead_end_what(c: _Chain, world: EddWorld, ubo: bool) -> str:
    """Why a chain cannot be followed, in words."""
    sub = world.ownership.get(str(c.end.get("entity_id") or ""))
    if c.end.get("type") == "nominee":
        if ubo:
            return "a nominee; its beneficial owner is not disclosed"
        return "a nominee for an undisclosed beneficial owner"
    if sub is None:
        return "an organisation whose ownership was not looked up"
    if ubo:
        return "a holding without ownership records"
    m = re.match(r"Registered in ([^;]+);", str(sub.get("note") or ""))
    where = m.group(1) if m else country_label(c.end.get("country"), world)
    return f"a holding registered in {where} with no ownership information"


@dataclass
class _Holder:
    """A natural person at the end of one or more chains."""

    name: str
    eff: Fraction = Fraction(0)
    unknown: bool = False
    """Some chain to the person has a share that is not recorded."""
    direct: Fraction | None = None
    """The person's own share at the end of the unrecorded chain."""
    via: list[str] = field(default_factory=list)

    @property
    def level(self) -> Fraction | None:
        return self.direct if self.unknown else self.eff


@dataclass
class _Ubo:
    """Beneficial ownership of the subject, as the rules decide it."""

    subject: str
    owners: list[_Holder]
    below: list[_Holder]
    untraced: list[_Chain]
    unaccounted: Fraction | None
    officers: list[str]


def find_ubo(world: EddWorld) -> _Ubo | None:
    obs = world.ownership.get(subject_id(world) or "")
    if obs is None:
        return None
    holders: dict[str, _Holder] = {}
    untraced: list[_Chain] = []
    for c in _subject_chains(world):
        if c.dead_end:
            untraced.append(c)
            continue
        h = holders.setdefault(
            str(c.end.get("entity_id") or entry_name(c.end)), _Holder(entry_name(c.end))
        )
        if c.effective is None:
            h.unknown, h.direct = True, c.direct
        else:
            h.eff += c.effective
        if len(c.path) > 1:
            h.via.append(c.path[-1])
    ranked = list(holders.values())
    total = parse_share(obs.get("recorded_share_total_percent"))
    return _Ubo(
        subject=str(obs.get("name") or ""),
        owners=[h for h in ranked if h.level is not None and h.level >= QUARTER],
        below=[h for h in ranked if h.level is None or h.level < QUARTER],
        untraced=untraced,
        unaccounted=1 - total if total is not None and total < 1 else None,
        officers=[str(o["name"]) for o in obs.get("officers") or []],
    )


def _owner_part(h: _Holder, subject: str) -> str:
    if h.unknown:
        return (
            f"{h.name} ({percent(h.direct)} of {h.via[-1]}, whose holding in {subject} "
            "is not recorded)"
        )
    if h.via:
        return f"{h.name} ({percent(h.eff)} effective, through {h.via[-1]})"
    return f"{h.name} ({percent(h.eff)})"


def ubo_sentences(u: _Ubo, world: EddWorld) -> list[str]:
    """The UBO answer sentence by sentence (the first says who the owners are)."""
    if u.owners:
        out = [
            "Beneficial owners at or above 25%: "
            + "; ".join(_owner_part(h, u.subject) for h in u.owners)
            + "."
        ]
    else:
        out = ["No natural person holds 25% or more."]
        if u.officers:
            out.append(
                f"The senior managing official(s) to record instead: {', '.join(u.officers)}."
            )
    out += [
        f"{h.name} holds {percent(h.level)}, below the threshold."
        if h.level is not None
        else f"The share of {h.name} is not recorded."
        for h in u.below
    ]
    out += [
        f"{percent(c.effective)} is held by {entry_name(c.end)}, {_dead_end_what(c, world, True)}, "
        "so it cannot be traced to a natural person."
        for c in u.untraced
    ]
    if u.unaccounted is not None:
        out.append(
            f"{percent(u.unaccounted)} of the shares is not accounted for by any recorded owner."
        )
    return out


def _transparency(world: EddWorld) -> tuple[str, list[str]]:
    """(label, each problem holding in words) of the subject's ownership."""
    issues: list[str] = []
    opaque = partial = False
    for o in _graph(world):
        owners = o.get("owners") or []
        shares = [parse_share(h.get("share_percent")) for h in owners]
        known = [s for s in shares if s is not None]
        total = sum(known, Fraction(0))
        if o.get("ownership_recorded") and owners and len(known) == len(shares) and total < 1:
            partial = True
            issues.append(
                f"{percent(1 - total)} of {txt(o, 'name')} is not accounted for by any "
                "recorded owner"
            )
        for h, s in zip(owners, shares, strict=True):
            if h.get("type") != "person" and s is None:
                partial = True
                issues.append(
                    f"the holding of {txt(h, 'name')} ({h.get('role') or 'Owner'}) in "
                    f"{txt(o, 'name')} is not recorded"
                )
    for c in _subject_chains(world):
        if c.dead_end:
            opaque = True
            issues.append(
                f"{entry_name(c.end)} ({percent(c.effective)}) is {_dead_end_what(c, world, False)}"
            )
    subject = world.ownership.get(subject_id(world) or "") or {}
    if not subject.get("owners"):
        opaque = True
        issues.append("no owners are recorded")
    label = "opaque" if opaque else "partially transparent" if partial else "fully transparent"
    return label, issues


def _chain_text(c: _Chain) -> str:
    return " -> ".join((*c.path, entry_name(c.end))) + f" ({percent(c.effective)})"


# --------------------------------------------------------------------------- screening


def ubo_facts(u: _Ubo, world: EddWorld) -> list[str]:
    lines = []
    for h in u.owners:
        if h.unknown:
            lines.append(
                f"Beneficial owner: {h.name}, {percent(h.direct)} of {h.via[-1]}, whose holding "
                f"in {u.subject} is not recorded"
            )
        else:
            via = f" (through {h.via[-1]})" if h.via else ""
            lines.append(f"Beneficial owner: {h.name}, {percent(h.eff)} effective{via}")
    if not u.owners:
        lines.append("No natural person holds 25% or more")
        if u.officers:
            lines.append(f"Senior managing official(s) to record instead: {', '.join(u.officers)}")
    lines += packed_lines(
        "Below 25%, not beneficial owners: ", [f"{h.name} {percent(h.level)}" for h in u.below]
    )
    lines += [
        f"Cannot be traced: {percent(c.effective)} held by {entry_name(c.end)}, "
        f"{_dead_end_what(c, world, True)}"
        for c in u.untraced
    ]
    if u.unaccounted is not None:
        lines.append(f"Unaccounted: {percent(u.unaccounted)} of the shares has no recorded owner")
    return lines


def transparency_text(world: EddWorld, facts: bool) -> list[str]:
    label, issues = _transparency(world)
    chains = [_chain_text(c) for c in _subject_chains(world)]
    fine = (
        "Every chain ends in an identified natural person and the recorded shares add up to 100%."
    )
    if facts:
        lines = [f"Transparency: {label}", *packed_lines("Chain: ", chains)]
        return lines + ([f"Problem: {i}" for i in issues] if issues else [fine])
    text = f"Ownership is {label}. Chains: " + ("; ".join(chains) or "none recorded") + "."
    return [text, f"Issues: {'; '.join(issues)}." if issues else fine]
