"""The reference answer of each question about a subject, with its key facts (which the
reference states) and forbidden claims (false statements a wrong answer would make)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from evals.dataset.edd_demo.builder import Builder
from evals.dataset.edd_demo.countries import country_name
from evals.dataset.edd_demo.observations import global_parent
from evals.dataset.edd_demo.ownership import Chain, chains, transparency
from evals.dataset.edd_demo.screening import Hit, ScreenResult
from evals.dataset.edd_demo.world import Org, Person, fmt_pct

Answer = tuple[str, list[str], list[str]]
"""(reference, key facts, forbidden claims)."""
QUARTER = Fraction(1, 4)


def dedupe(items: list[str]) -> list[str]:
    """The non-empty items, first occurrences only, in order."""
    out: list[str] = []
    for x in items:
        if x and x not in out:
            out.append(x)
    return out


def case_registration(org: Org) -> Answer:
    """Registration status and jurisdiction."""
    where = country_name(org.country or "") + (f" ({org.state})" if org.state else "")
    ref = (
        f"{org.name} is registered in {where} under {org.reg_type} {org.reg_no}; legal "
        f"form {org.legal_form}; registered in {org.year}; status: {org.status}."
    )
    if org.trading_name:
        ref += f" Trading name: {org.trading_name}."
    facts = [
        org.reg_no or "",
        country_name(org.country or ""),
        org.status or "",
        org.year or "",
    ]
    if org.state:
        facts.append(org.state)
    wrong = "Inactive" if org.status == "Active" else "Active"
    forbidden = [f"The registration status of {org.name} is {wrong}."]
    parent = global_parent(org)
    if isinstance(parent, Org) and parent.country != org.country:
        forbidden.append(f"{org.name} is registered in {country_name(parent.country or '')}.")
    if isinstance(parent, Org) and parent.state != org.state and org.state and parent.state:
        forbidden.append(f"{org.name} is registered in {parent.state}.")
    if org.address_country and org.address_country != org.country:
        forbidden.append(f"{org.name} is registered in {country_name(org.address_country)}.")
    return ref, facts, forbidden


@dataclass
class _Stake:
    """What a natural person holds of a business over all its chains."""

    person: Person
    eff: Fraction = Fraction(0)  # effective share over the chains with recorded shares
    unknown: bool = False  # a chain has an unrecorded share
    direct: Fraction | None = None  # with unknown: the person's share at that chain's end
    via: list[Org] = field(default_factory=list)  # the organisation held through, per chain
    direct_share: Fraction | None = None  # the person's share in the first one held through

    @property
    def level(self) -> Fraction | None:
        return self.direct if self.unknown else self.eff


def _stakes(org: Org) -> tuple[dict[str, _Stake], list[Chain]]:
    """Stakes of the persons at the end of chains, and the chains that end elsewhere."""
    by_person: dict[str, _Stake] = {}
    untraced = []
    for c in chains(org):
        end = c.end
        if not isinstance(end, Person):
            untraced.append(c)
            continue
        d = by_person.setdefault(end.entity_id, _Stake(end))
        if c.effective is None:
            d.unknown = True
            d.direct = c.direct
        else:
            d.eff += c.effective
        if len(c.path) > 1:
            if not d.via:
                d.direct_share = c.direct
            d.via.append(c.path[-1])
    return by_person, untraced


def _ubo_lines(org: Org, ubos: list[_Stake]) -> Answer:
    """(the owners' part of the reference, facts, forbidden) of the beneficial owners."""
    parts, facts, forbidden = [], [], []
    for d in ubos:
        p = d.person
        facts.append(p.name)
        if d.unknown:
            via = d.via[-1]
            parts.append(
                f"{p.name} ({fmt_pct(d.direct)} of {via.name}, whose holding "
                f"in {org.name} is not recorded)"
            )
            facts += [fmt_pct(d.direct), via.name]
        elif d.via:
            via = d.via[-1]
            parts.append(f"{p.name} ({fmt_pct(d.eff)} effective, through {via.name})")
            facts.append(fmt_pct(d.eff))
            if d.direct_share is not None and d.direct_share != d.eff:
                forbidden.append(f"{p.name} holds {fmt_pct(d.direct_share)} of {org.name}.")
        else:
            parts.append(f"{p.name} ({fmt_pct(d.eff)})")
            facts.append(fmt_pct(d.eff))
    return "; ".join(parts), facts, forbidden


def _below_and_untraced(org: Org, below: list[_Stake], untraced: list[Chain]) -> Answer:
    """(what the reference adds, facts, forbidden) of persons under 25%, holdings that
    cannot be traced to a person and shares no recorded owner accounts for."""
    ref, facts, forbidden = "", [], []
    for d in below:
        ref += f" {d.person.name} holds {fmt_pct(d.level)}, below the threshold."
        facts.append(fmt_pct(d.level))
        forbidden.append(f"{d.person.name} is a beneficial owner holding 25% or more.")
    for c in untraced:
        end = c.end
        what = (
            "a nominee; its beneficial owner is not disclosed"
            if end.kind == "nominee"
            else "a holding without ownership records"
        )
        ref += (
            f" {fmt_pct(c.effective)} is held by {end.name}, {what}, so it cannot "
            "be traced to a natural person."
        )
        facts += [end.name, fmt_pct(c.effective)]
        forbidden.append(f"{end.name} is a beneficial owner.")
    total = org.recorded_total()
    if total is not None and total < 1:
        ref += f" {fmt_pct(1 - total)} of the shares is not accounted for by any recorded owner."
        facts.append(fmt_pct(1 - total))
    return ref, facts, forbidden


def case_ubo(org: Org) -> Answer:
    """Beneficial owners at or above 25%."""
    by_person, untraced = _stakes(org)
    ubos = [d for d in by_person.values() if d.level is not None and d.level >= QUARTER]
    below = [d for d in by_person.values() if not (d.level is not None and d.level >= QUARTER)]
    owners, facts, forbidden = _ubo_lines(org, ubos)
    forbidden += [f"{d.person.name} is not a beneficial owner of {org.name}." for d in ubos]
    ubo_ids = {d.person.entity_id for d in ubos}
    for p, _ in org.officers:
        if p.entity_id not in ubo_ids and p.entity_id not in by_person:
            forbidden.append(f"{p.name} is a beneficial owner holding 25% or more.")
    if ubos:
        ref = f"Beneficial owners at or above 25%: {owners}."
        forbidden.append(f"No natural person holds 25% or more of {org.name}.")
    else:
        ref = "No natural person holds 25% or more."
        officers = [p.name for p, _ in org.officers]
        if officers:
            ref += f" The senior managing official(s) to record instead: {', '.join(officers)}."
            facts += officers
    more, more_facts, more_forbidden = _below_and_untraced(org, below, untraced)
    ref += more
    facts += more_facts
    forbidden += more_forbidden
    for h in org.owners:
        if isinstance(h.owner, Org) and h.owner.kind == "company":
            forbidden.append(f"{h.owner.name} is a beneficial owner.")
    return ref.strip(), dedupe(facts), dedupe(forbidden)


@dataclass
class _Findings:
    """The screening answer's pieces, in the order the hits come."""

    matches: list[str] = field(default_factory=list)
    discounted: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)


def _record(h: Hit) -> tuple[str, str]:
    """(the listed record in words, its category or first programme)."""
    v = h.view
    if h.source == "watchlist":
        return f"watchlist record {v['record_id']} '{v['name']}' ({v['category']})", v["category"]
    rec = f"SDN entry {v['ent_num']} '{v['name']}' ({', '.join(v['programs'])})"
    return rec, v["programs"][0]


def _findings(results: list[ScreenResult]) -> _Findings:
    out = _Findings()
    for r in results:
        party = r.party
        confirmed = any(h.verdict == "match" for h in r.hits)
        for h in r.hits:
            rec, label = _record(h)
            if h.verdict == "match":
                out.matches.append(f"{party.name} ({r.role}) matches {rec}: {h.reason}")
                out.facts += (
                    [party.name, label] if h.source == "watchlist" else [party.name, "SDN", label]
                )
                out.forbidden.append(f"{party.name} has no {h.source} match.")
                continue
            out.discounted.append(f"{party.name} ({r.role}) against {rec}: discounted, {h.reason}")
            if not confirmed:
                out.facts.append(party.name)
                if h.source == "watchlist":
                    out.facts.append(h.view["name"])
                out.forbidden.append(f"{party.name} is a confirmed {h.source} match.")
            out.forbidden.append(f"{party.name} is the person listed in {rec}.")
    return out


def case_screening(b: Builder, org: Org) -> tuple[str, list[str], list[str], str]:
    """Watchlist and SDN screening; the fourth item is the outcome tag (match or clear,
    +near_miss when a hit is discounted)."""
    results = b.screener.screen(org)
    f = _findings(results)
    ref = f"Screened {len(results)} parties ({', '.join(r.party.name for r in results)})."
    ref += (
        " Confirmed matches: " + "; ".join(f.matches) + "."
        if f.matches
        else " No confirmed matches."
    )
    if f.discounted:
        ref += " Discounted near-misses: " + "; ".join(f.discounted) + "."
    clear = [r.party.name for r in results if not r.hits]
    if clear:
        ref += f" No hits: {', '.join(clear)}."
    if not f.matches:
        f.forbidden.append(
            f"{org.name} or one of its parties is a confirmed sanctions or watchlist match."
        )
        if not f.discounted:
            f.facts += [r.party.name for r in results if isinstance(r.party, Person)]
    outcome = ("match" if f.matches else "clear") + ("+near_miss" if f.discounted else "")
    return ref, dedupe(f.facts), dedupe(f.forbidden), outcome


def case_jurisdiction(b: Builder, org: Org) -> Answer:
    """Jurisdiction and address risk."""
    j = b.countries.jurisdiction(org)
    reg, addr = j.reg, j.addr
    ref = (
        f"Registered in {reg['country_name']} ({reg['country']}): {reg['risk']} risk "
        f"({reg['basis']}; {reg['sdn_entries_with_address']} SDN entries list an "
        "address there)."
    )
    facts = [reg["country_name"], reg["risk"]]
    levels = {"low": "high", "medium": "low", "high": "low"}  # the wrong level to claim
    forbidden = [f"{reg['country_name']} is {levels[reg['risk']]} risk."]
    if addr is None:
        ref += " No address is recorded."
    elif not j.outside:
        ref += f" The recorded address ({org.address}) is in the same country."
    else:
        ref += (
            f" The recorded {org.address_type.lower() if org.address_type else ''} "
            f"address ({org.address}) is in {addr['country_name']} ({addr['country']}), "
            f"outside the jurisdiction of registration: {addr['risk']} risk "
            f"({addr['basis']})."
        )
        facts += [addr["country_name"], addr["risk"]]
        forbidden.append(f"{addr['country_name']} is {levels[addr['risk']]} risk.")
        forbidden.append(f"The address of {org.name} is in {reg['country_name']}.")
    ref += f" Overall jurisdiction and address risk: {j.overall}."
    facts.append(j.overall)
    return ref, dedupe(facts), dedupe(forbidden)


def case_transparency(org: Org) -> Answer:
    """Ownership transparency."""
    label, issues, facts = transparency(org)
    ends = []
    for c in chains(org):
        path = " -> ".join(o.name for o in c.path) + f" -> {c.end.name}"
        ends.append(f"{path} ({fmt_pct(c.effective)})")
    ref = f"Ownership is {label}. Chains: " + "; ".join(ends) + "."
    if issues:
        ref += " Issues: " + "; ".join(issues) + "."
    else:
        ref += (
            " Every chain ends in an identified natural person and the recorded "
            "shares add up to 100%."
        )
    others = {"fully transparent", "partially transparent", "opaque"} - {label}
    forbidden = [f"The ownership of {org.name} is {o}." for o in sorted(others)]
    return ref, dedupe([label, *facts]), forbidden
