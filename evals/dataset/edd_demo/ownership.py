"""Ownership: the chains from a business down to natural persons, the parties screened for
it, and how transparent its ownership is."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from evals.dataset.edd_demo.countries import country_name
from evals.dataset.edd_demo.world import Holding, Org, Party, Person, fmt_pct


@dataclass
class Chain:
    """One ownership chain from a business down to a natural person or a dead end."""

    end: Party
    """Where the chain ends: a person, or an organisation without further records."""
    effective: Fraction | None
    """Share of the business held at the end (shares multiplied along the chain); None when
    a share on the way is not recorded."""
    direct: Fraction | None
    """Share of the last holding (of the end in the organisation before it)."""
    path: tuple[Org, ...]
    """The organisations from the business down to the one the end holds."""
    holding: Holding
    """The last holding."""
    dead_end: bool = False
    """The chain ends in a nominee or an organisation without ownership records."""


def chains(
    org: Org,
    factor: Fraction | None = Fraction(1),
    via: tuple[Org, ...] = (),
) -> list[Chain]:
    """Every ownership chain from org down to a natural person or a dead end."""
    out = []
    for h in org.owners:
        share = None if (factor is None or h.share is None) else factor * h.share
        path = (*via, org)
        if isinstance(h.owner, Person):
            out.append(Chain(h.owner, share, h.share, path, h))
        elif h.owner.kind != "company" or not h.owner.owners:
            out.append(Chain(h.owner, share, h.share, path, h, dead_end=True))
        else:
            out.extend(chains(h.owner, share, path))
    return out


def graph(org: Org) -> list[Org]:
    """The organisation and every organisation in its ownership chains, in order."""
    seen = [org]
    for h in org.owners:
        if isinstance(h.owner, Org) and h.owner not in seen:
            for o in graph(h.owner):
                if o not in seen:
                    seen.append(o)
    return seen


def parties(org: Org) -> list[tuple[Party, str]]:
    """Parties screened for a business: itself, owners, officers, indirect persons."""
    out: list[tuple[Party, str]] = [(org, "subject business")]
    for h in org.owners:
        role = h.role if h.share is None else f"{h.role} ({fmt_pct(h.share)})"
        out.append((h.owner, role))
    for p, role in org.officers:
        out.append((p, role))
    for c in chains(org):
        if isinstance(c.end, Person) and len(c.path) > 1:
            via = c.path[-1]
            role = f"indirect owner via {via.name} ({fmt_pct(c.direct)} of it)"
            if all(c.end is not p for p, _ in out):
                out.append((c.end, role))
    return out


def _share_issues(org: Org) -> tuple[bool, list[str], list[str]]:
    """(partial, issues, facts) of the recorded shares at every level of the graph:
    shares that leave part of an organisation unaccounted, unrecorded corporate holdings."""
    issues, facts = [], []
    partial = False
    for o in graph(org):
        if o.kind == "nominee":
            continue
        total = sum((h.share for h in o.owners if h.share is not None), Fraction(0))
        recorded = o.owners and all(h.share is not None for h in o.owners)
        if o.kind == "company" and recorded and total < 1:
            partial = True
            issues.append(
                f"{fmt_pct(1 - total)} of {o.name} is not accounted for by any recorded owner"
            )
            facts.append(fmt_pct(1 - total))
        for h in o.owners:
            if isinstance(h.owner, Org) and h.share is None:
                partial = True
                issues.append(
                    f"the holding of {h.owner.name} ({h.role}) in {o.name} is not recorded"
                )
                facts.append(h.owner.name)
    return partial, issues, facts


def transparency(org: Org) -> tuple[str, list[str], list[str]]:
    """(label, issues in words, key facts) of an organisation's ownership."""
    partial, issues, facts = _share_issues(org)
    opaque = False
    for c in chains(org):
        end = c.end
        if c.dead_end:
            opaque = True
            what = (
                "a nominee for an undisclosed beneficial owner"
                if end.kind == "nominee"
                else f"a holding registered in {country_name(end.country or '')} with no "
                "ownership information"
            )
            issues.append(f"{end.name} ({fmt_pct(c.effective)}) is {what}")
            facts += [end.name, fmt_pct(c.effective)]
    if not org.owners:
        opaque = True
        issues.append("no owners are recorded")
    label = "opaque" if opaque else "partially transparent" if partial else "fully transparent"
    return label, issues, facts
