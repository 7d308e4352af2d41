"""Deterministic EDD rules: what to look up next, and the answer composed from what was seen.

Both EDD blueprints use these rules: ``edd_template`` answers with :func:`compose` alone;
``edd_rails`` gives a small LLM the :func:`fact_lines` of the question. Everything here
reads only the tool observations of one case (:class:`EddWorld`), never the case's
reference, key facts or anything else an agent cannot see in production. The rules
mirror a careful analyst (and the reference-writing logic of datasets/edd_demo/build.py,
whose sentence shapes the answers follow): effective shares multiply along ownership
chains; natural persons at 25% or more are beneficial owners; nominees and organisations
without ownership records cannot be traced; watchlist hits are confirmed by entity
resolution, SDN hits by date of birth and nationality; the overall jurisdiction risk is
the highest of its parts, at least medium when the address is abroad. See docs/edd_rules.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from evals.dataset.countries import COUNTRY_ISO as _COUNTRY_ISO
from evals.dataset.countries import ISO_NAME as _ISO_NAME

_LEVELS = ("low", "medium", "high")
_QUARTER = Fraction(1, 4)
_MAX_LINE = 199
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


@dataclass
class EddWorld:
    """What the deterministic lookups of one case returned (observations as the tools gave them)."""

    registry: dict[str, Any] | None = None
    """registry_lookup(registration_number=subject.registration_number)."""
    ownership: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Entity id -> get_ownership observation."""
    screening: dict[str, Any] | None = None
    """screen_parties(entity_id=registry.entity_id)."""
    country_risk: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Country code -> country_risk observation."""


TOOLS_FOR: dict[str, tuple[str, ...]] = {
    "q_registration": ("registry_lookup",),
    "q_ubo": ("registry_lookup", "get_ownership"),
    "q_screening": ("registry_lookup", "screen_parties"),
    "q_jurisdiction_risk": ("registry_lookup", "country_risk"),
    "q_transparency": ("registry_lookup", "get_ownership"),
}
"""Question id -> the tools its deterministic lookups use."""


# --------------------------------------------------------------------------- lookups


def _subject_id(world: EddWorld) -> str | None:
    reg = world.registry
    return str(reg["entity_id"]) if isinstance(reg, dict) and reg.get("entity_id") else None


def ownership_to_fetch(world: EddWorld) -> list[str]:
    """Entity ids to look up next with get_ownership: the subject first, then every
    organisation (or nominee) owner seen in a fetched record and not fetched yet (a
    fetch tells whether it has ownership records). Breadth-first: call until []."""
    subject = _subject_id(world)
    if subject is None:
        return []
    if subject not in world.ownership:
        return [subject]
    out: list[str] = []
    for obs in world.ownership.values():
        for owner in obs.get("owners") or []:
            eid = owner.get("entity_id")
            if owner.get("type") != "person" and eid and eid not in {*world.ownership, *out}:
                out.append(str(eid))
    return out


def _countries(world: EddWorld) -> list[str]:
    reg = world.registry or {}
    codes = [
        (reg.get("jurisdiction") or {}).get("country"),
        (reg.get("address") or {}).get("country"),
    ]
    return list(dict.fromkeys(c for c in codes if c))


def countries_to_fetch(world: EddWorld) -> list[str]:
    """Country codes for country_risk: registration country, then the address country."""
    return [c for c in _countries(world) if c not in world.country_risk]


# --------------------------------------------------------------------------- small helpers


def _share(value: Any) -> Fraction | None:
    """A recorded percentage as an exact fraction of 1 (None when not recorded or not a
    number: observations are untrusted and must not crash the rules)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Fraction(str(value).strip().rstrip("%")) / 100
    except (ValueError, ZeroDivisionError):
        return None


def _txt(d: dict[str, Any], key: str) -> str:
    """A field of an observation as text; 'not recorded' when missing."""
    value = d.get(key)
    return "not recorded" if value is None or value == "" else str(value)


def _name(entry: dict[str, Any]) -> str:
    return str(entry.get("name") or entry.get("entity_id") or "an unnamed party")


def _pct(x: Fraction | None) -> str:
    """'60%' / '17.5%'; 'not recorded' for None (build.py's fmt_pct)."""
    if x is None:
        return "not recorded"
    v = x * 100
    return f"{int(v)}%" if v.denominator == 1 else f"{float(v):.1f}%".replace(".0%", "%")


def _country_name(code: str | None, world: EddWorld) -> str:
    """A country's name as the observations spell it, else the reference table's."""
    if not code:
        return "an unknown country"
    reg = world.registry or {}
    if (reg.get("jurisdiction") or {}).get("country") == code:
        return str(reg["jurisdiction"].get("country_name") or code)
    obs = world.country_risk.get(code)
    if obs and obs.get("country_name"):
        return str(obs["country_name"])
    return _ISO_NAME.get(code, code)


def _short(line: str) -> str:
    """One fact line, cut at a word boundary below the line limit."""
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 3].rsplit(" ", 1)[0] + "..."


def _packed(prefix: str, items: list[str]) -> list[str]:
    """`prefix` + items joined by '; ', split over as many short lines as needed."""
    lines: list[str] = []
    cur: list[str] = []
    for item in items:
        if cur and len(prefix) + len("; ".join([*cur, item])) > _MAX_LINE:
            lines.append(prefix + "; ".join(cur))
            cur = []
        cur.append(item)
    if cur:
        lines.append(prefix + "; ".join(cur))
    return [_short(x) for x in lines]


# --------------------------------------------------------------------------- ownership


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
        direct = _share(owner.get("share_percent"))
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
    subject = _subject_id(world) or ""
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

    visit(_subject_id(world) or "")
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
    where = m.group(1) if m else _country_name(c.end.get("country"), world)
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


def _ubo(world: EddWorld) -> _Ubo | None:
    obs = world.ownership.get(_subject_id(world) or "")
    if obs is None:
        return None
    holders: dict[str, _Holder] = {}
    untraced: list[_Chain] = []
    for c in _subject_chains(world):
        if c.dead_end:
            untraced.append(c)
            continue
        h = holders.setdefault(str(c.end.get("entity_id") or _name(c.end)), _Holder(_name(c.end)))
        if c.effective is None:
            h.unknown, h.direct = True, c.direct
        else:
            h.eff += c.effective
        if len(c.path) > 1:
            h.via.append(c.path[-1])
    ranked = list(holders.values())
    total = _share(obs.get("recorded_share_total_percent"))
    return _Ubo(
        subject=str(obs.get("name") or ""),
        owners=[h for h in ranked if h.level is not None and h.level >= _QUARTER],
        below=[h for h in ranked if h.level is None or h.level < _QUARTER],
        untraced=untraced,
        unaccounted=1 - total if total is not None and total < 1 else None,
        officers=[str(o["name"]) for o in obs.get("officers") or []],
    )


def _owner_part(h: _Holder, subject: str) -> str:
    if h.unknown:
        return (
            f"{h.name} ({_pct(h.direct)} of {h.via[-1]}, whose holding in {subject} "
            "is not recorded)"
        )
    if h.via:
        return f"{h.name} ({_pct(h.eff)} effective, through {h.via[-1]})"
    return f"{h.name} ({_pct(h.eff)})"


def _ubo_sentences(u: _Ubo, world: EddWorld) -> list[str]:
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
        f"{h.name} holds {_pct(h.level)}, below the threshold."
        if h.level is not None
        else f"The share of {h.name} is not recorded."
        for h in u.below
    ]
    out += [
        f"{_pct(c.effective)} is held by {_name(c.end)}, {_dead_end_what(c, world, True)}, "
        "so it cannot be traced to a natural person."
        for c in u.untraced
    ]
    if u.unaccounted is not None:
        out.append(
            f"{_pct(u.unaccounted)} of the shares is not accounted for by any recorded owner."
        )
    return out


def _transparency(world: EddWorld) -> tuple[str, list[str]]:
    """(label, each problem holding in words) of the subject's ownership."""
    issues: list[str] = []
    opaque = partial = False
    for o in _graph(world):
        owners = o.get("owners") or []
        shares = [_share(h.get("share_percent")) for h in owners]
        known = [s for s in shares if s is not None]
        total = sum(known, Fraction(0))
        if o.get("ownership_recorded") and owners and len(known) == len(shares) and total < 1:
            partial = True
            issues.append(
                f"{_pct(1 - total)} of {_txt(o, 'name')} is not accounted for by any recorded owner"
            )
        for h, s in zip(owners, shares, strict=True):
            if h.get("type") != "person" and s is None:
                partial = True
                issues.append(
                    f"the holding of {_txt(h, 'name')} ({h.get('role') or 'Owner'}) in "
                    f"{_txt(o, 'name')} is not recorded"
                )
    for c in _subject_chains(world):
        if c.dead_end:
            opaque = True
            issues.append(
                f"{_name(c.end)} ({_pct(c.effective)}) is {_dead_end_what(c, world, False)}"
            )
    subject = world.ownership.get(_subject_id(world) or "") or {}
    if not subject.get("owners"):
        opaque = True
        issues.append("no owners are recorded")
    label = "opaque" if opaque else "partially transparent" if partial else "fully transparent"
    return label, issues


def _chain_text(c: _Chain) -> str:
    return " -> ".join((*c.path, _name(c.end))) + f" ({_pct(c.effective)})"


# --------------------------------------------------------------------------- screening


@dataclass
class _Hit:
    """One candidate hit on a party with the rules' verdict."""

    record: str
    """The record in words: "watchlist record 1027 'Darletta Anderson' (Fraud)"."""
    verdict: str
    """'match', 'discounted' or 'unresolved' (nothing to compare)."""
    reason: str


def _same_birth(iso: str, sdn_dob: str) -> bool:
    """Could a person born on `iso` be the one with SDN date of birth `sdn_dob`?"""
    m = re.fullmatch(r"(\d{1,2}) ([A-Za-z]{3}) (\d{4})", sdn_dob.strip())
    if m and m[2].lower() in _MONTHS:
        return iso == f"{m[3]}-{_MONTHS.index(m[2].lower()) + 1:02d}-{int(m[1]):02d}"
    years = re.findall(r"\d{4}", sdn_dob)
    return not years or iso[:4] in years


def _agreed(agree: list[str]) -> str:
    items = ["name", *agree]
    return ", ".join(items[:-1]) + " and " + items[-1] + " agree"


def _sdn_verdict(party: dict[str, Any], hit: dict[str, Any], world: EddWorld) -> tuple[str, str]:
    """Compare the SDN entry's identifiers with the party's: any difference discounts it."""
    differs: list[str] = []
    agree: list[str] = []
    if party.get("type") == "person":
        dob, dobs = party.get("date_of_birth"), [str(d) for d in hit.get("dates_of_birth") or []]
        if dob and dobs:
            if any(_same_birth(str(dob), d) for d in dobs):
                agree.append("date of birth")
            else:
                differs.append(f"date of birth differs ({dob} vs {', '.join(dobs)})")
        nat = party.get("nationality")
        nats = [str(n) for n in (hit.get("nationality") or []) + (hit.get("citizenship") or [])]
        if nat and nats:
            if nat in {_COUNTRY_ISO.get(n) for n in nats}:
                agree.append("nationality")
            else:
                differs.append(
                    f"nationality differs ({_country_name(nat, world)} vs {', '.join(nats)})"
                )
    else:
        country = party.get("country")
        where = {
            c
            for a in hit.get("addresses") or []
            for n, c in _COUNTRY_ISO.items()
            if str(a).endswith(n)
        }
        if country and where:
            if country in where:
                agree.append("country")
            else:
                names = ", ".join(sorted(_ISO_NAME[c] for c in where))
                differs.append(f"country differs ({_country_name(country, world)} vs {names})")
    if differs:
        return "discounted", "; ".join(differs)
    if agree:
        return "match", _agreed(agree)
    return "unresolved", "a name match only: no date of birth or nationality to compare"


def _hit(party: dict[str, Any], v: dict[str, Any], world: EddWorld) -> _Hit:
    if str(v.get("list", "")).upper() == "WATCHLIST":
        rec = f"watchlist record {_txt(v, 'record_id')} '{_txt(v, 'name')}' ({_txt(v, 'category')})"
        same = v.get("same_entity_as_party")
        if same is True:
            verdict, reason = "match", "resolved to the same entity"
        elif same is False:
            verdict = "discounted"
            reason = (
                f"resolved to a different entity ({_txt(v, 'entity_id')}, party "
                f"{_txt(party, 'entity_id')})"
            )
        else:
            verdict, reason = "unresolved", "a name match only: entity resolution did not decide"
        return _Hit(rec, verdict, reason)
    programs = [str(p) for p in v.get("programs") or []]
    rec = f"SDN entry {_txt(v, 'ent_num')} '{_txt(v, 'name')}' ({', '.join(programs)})"
    verdict, reason = _sdn_verdict(party, v, world)
    return _Hit(rec, verdict, reason)


def _screen(world: EddWorld) -> list[tuple[dict[str, Any], list[_Hit]]]:
    """Every screened party with its hits and their verdicts."""
    parties = (world.screening or {}).get("parties") or []
    return [
        (p.get("party") or {}, [_hit(p.get("party") or {}, h, world) for h in p.get("hits") or []])
        for p in parties
    ]


def _hit_lines(results: list[tuple[dict[str, Any], list[_Hit]]]) -> dict[str, list[str]]:
    """Hits in words by verdict."""
    out: dict[str, list[str]] = {"match": [], "discounted": [], "unresolved": []}
    for party, hits in results:
        who = f"{_txt(party, 'name')} ({_txt(party, 'role')})"
        for h in hits:
            if h.verdict == "match":
                out["match"].append(f"{who} matches {h.record}: {h.reason}")
            else:
                out[h.verdict].append(f"{who} against {h.record}: {h.verdict}, {h.reason}")
    return out


# --------------------------------------------------------------------------- jurisdiction


def _risk_words(obs: dict[str, Any] | None) -> str:
    if obs is None:
        return "risk not looked up"
    return f"{_txt(obs, 'risk')} risk ({_txt(obs, 'basis')})"


def _jurisdiction(world: EddWorld) -> tuple[str, bool]:
    """(overall risk, address outside the jurisdiction of registration)."""
    reg = world.registry or {}
    country = (reg.get("jurisdiction") or {}).get("country")
    addr = (reg.get("address") or {}).get("country")
    risks = [
        str(world.country_risk[c].get("risk")) for c in (country, addr) if c in world.country_risk
    ]
    outside = bool(addr and addr != country)
    if outside:
        risks.append("medium")
    known = [r for r in risks if r in _LEVELS]
    return (max(known, key=_LEVELS.index) if known else "unknown"), outside


# --------------------------------------------------------------------------- answers


def _registration(world: EddWorld, facts: bool) -> list[str]:
    r = world.registry
    if r is None:
        return ["No registry record was found for the registration number given."]
    j = r.get("jurisdiction") or {}
    where = f"{_txt(j, 'country_name')}" + (f" ({j['state']})" if j.get("state") else "")
    if facts:
        state = f", US state {j['state']}" if j.get("state") else ""
        lines = [
            f"Business: {_txt(r, 'name')}",
            f"Registration number: {_txt(r, 'registration_number')} ({_txt(r, 'register')})",
            f"Country of registration: {_txt(j, 'country_name')} ({_txt(j, 'country')}){state}",
            f"Legal form: {_txt(r, 'legal_form')}",
            f"Year of registration: {_txt(r, 'registered_year')}",
            f"Status: {_txt(r, 'status')}",
        ]
        return lines + ([f"Trading name: {r['trading_name']}"] if r.get("trading_name") else [])
    out = [
        f"{_txt(r, 'name')} is registered in {where} under {_txt(r, 'register')} "
        f"{_txt(r, 'registration_number')}; legal form {_txt(r, 'legal_form')}; registered in "
        f"{_txt(r, 'registered_year')}; status: {_txt(r, 'status')}."
    ]
    return out + ([f"Trading name: {r['trading_name']}."] if r.get("trading_name") else [])


def _ubo_facts(u: _Ubo, world: EddWorld) -> list[str]:
    lines = []
    for h in u.owners:
        if h.unknown:
            lines.append(
                f"Beneficial owner: {h.name}, {_pct(h.direct)} of {h.via[-1]}, whose holding "
                f"in {u.subject} is not recorded"
            )
        else:
            via = f" (through {h.via[-1]})" if h.via else ""
            lines.append(f"Beneficial owner: {h.name}, {_pct(h.eff)} effective{via}")
    if not u.owners:
        lines.append("No natural person holds 25% or more")
        if u.officers:
            lines.append(f"Senior managing official(s) to record instead: {', '.join(u.officers)}")
    lines += _packed(
        "Below 25%, not beneficial owners: ", [f"{h.name} {_pct(h.level)}" for h in u.below]
    )
    lines += [
        f"Cannot be traced: {_pct(c.effective)} held by {_name(c.end)}, "
        f"{_dead_end_what(c, world, True)}"
        for c in u.untraced
    ]
    if u.unaccounted is not None:
        lines.append(f"Unaccounted: {_pct(u.unaccounted)} of the shares has no recorded owner")
    return lines


def _transparency_text(world: EddWorld, facts: bool) -> list[str]:
    label, issues = _transparency(world)
    chains = [_chain_text(c) for c in _subject_chains(world)]
    fine = (
        "Every chain ends in an identified natural person and the recorded shares add up to 100%."
    )
    if facts:
        lines = [f"Transparency: {label}", *_packed("Chain: ", chains)]
        return lines + ([f"Problem: {i}" for i in issues] if issues else [fine])
    text = f"Ownership is {label}. Chains: " + ("; ".join(chains) or "none recorded") + "."
    return [text, f"Issues: {'; '.join(issues)}." if issues else fine]


_HEADS = {
    "match": "Confirmed match",
    "discounted": "Discounted near-miss, not a match",
    "unresolved": "Unresolved hit, to review",
}


def _screening_facts(results: list[tuple[dict[str, Any], list[_Hit]]]) -> list[str]:
    names = [_txt(p, "name") for p, _ in results]
    lines = _packed(f"Parties screened ({len(names)}): ", names)
    for party, hits in results:
        for h in hits:
            head = f"{_HEADS[h.verdict]}: {_txt(party, 'name')}"
            line = f"{head} ({_txt(party, 'role')}) vs {h.record}: {h.reason}"
            if len(line) > _MAX_LINE:
                line = f"{head} vs {h.record}\nWhy, for {_txt(party, 'name')}: {h.reason}"
            lines += [_short(x) for x in line.split("\n")]
    if not any(h.verdict == "match" for _, hits in results for h in hits):
        lines.append("No confirmed matches")
    return lines + _packed("No hits: ", [_txt(p, "name") for p, hits in results if not hits])


def _screening_text(world: EddWorld) -> list[str]:
    if world.screening is None:
        return ["Screening was not performed."]
    results = _screen(world)
    names = [_txt(p, "name") for p, _ in results]
    clear = [_txt(p, "name") for p, hits in results if not hits]
    by = _hit_lines(results)
    out = [f"Screened {len(names)} parties ({', '.join(names)})."]
    out.append(
        "Confirmed matches: " + "; ".join(by["match"]) + "."
        if by["match"]
        else "No confirmed matches."
    )
    if by["discounted"]:
        out.append("Discounted near-misses: " + "; ".join(by["discounted"]) + ".")
    if by["unresolved"]:
        out.append("Hits to review (identifiers missing): " + "; ".join(by["unresolved"]) + ".")
    return out + ([f"No hits: {', '.join(clear)}."] if clear else [])


def _jurisdiction_text(world: EddWorld) -> list[str]:
    r = world.registry
    if r is None:
        return ["No registry record was found, so the jurisdiction is unknown."]
    code = (r.get("jurisdiction") or {}).get("country")
    addr = r.get("address") or {}
    acode = addr.get("country")
    reg, arisk = world.country_risk.get(code or ""), world.country_risk.get(acode or "")
    overall, outside = _jurisdiction(world)
    out = [f"Registered in {_country_name(code, world)} ({code}): risk not looked up."]
    if reg is not None:
        out[0] = (
            f"Registered in {_country_name(code, world)} ({code}): {_txt(reg, 'risk')} risk "
            f"({_txt(reg, 'basis')}; {_txt(reg, 'sdn_entries_with_address')} SDN entries list an "
            "address there)."
        )
    if not acode:
        out.append("No address is recorded.")
    elif not outside:
        out.append(f"The recorded address ({_txt(addr, 'text')}) is in the same country.")
    else:
        kind = f"{str(addr.get('type')).lower()} " if addr.get("type") else ""
        out.append(
            f"The recorded {kind}address ({_txt(addr, 'text')}) is in "
            f"{_country_name(acode, world)} ({acode}), outside the jurisdiction of "
            f"registration: {_risk_words(arisk)}."
        )
    return [*out, f"Overall jurisdiction and address risk: {overall}."]


def _jurisdiction_facts(world: EddWorld) -> list[str]:
    r = world.registry
    if r is None:
        return ["No registry record was found: jurisdiction unknown"]
    code = (r.get("jurisdiction") or {}).get("country")
    addr = r.get("address") or {}
    acode = addr.get("country")
    overall, outside = _jurisdiction(world)
    lines = [f"Country of registration: {_country_name(code, world)} ({code})"]
    lines += _risk_facts(code, world)
    if not acode:
        lines.append("Recorded address: none recorded")
    else:
        lines.append(f"Recorded address: {_txt(addr, 'text')}")
        where = "outside the jurisdiction of registration" if outside else "the same country"
        lines.append(f"Address country: {_country_name(acode, world)} ({acode}), {where}")
        lines += _risk_facts(acode, world) if outside else []
    why = "the highest of these" + (", at least medium as the address is abroad" if outside else "")
    return [*lines, f"Overall jurisdiction and address risk: {overall} ({why})"]


def _risk_facts(code: str | None, world: EddWorld) -> list[str]:
    obs = world.country_risk.get(code or "")
    name = _country_name(code, world)
    if obs is None:
        return [f"Risk of {name}: not looked up"]
    return [f"Risk of {name}: {_txt(obs, 'risk')}", f"Basis for {name}: {_txt(obs, 'basis')}"]


def fact_lines(question_id: str, world: EddWorld) -> list[str]:
    """The compact facts a small model needs to answer this question, one short line each,
    with every decision (confirmed or discounted, effective shares, risk levels,
    transparency label) already made by the rules. Show them as a '- ' list (copied as
    such they pass the deterministic checks)."""
    if question_id == "q_registration":
        return [_short(x) for x in _registration(world, True)]
    if question_id == "q_ubo":
        u = _ubo(world)
        return [_short(x) for x in _ubo_facts(u, world)] if u else ["Ownership was not looked up"]
    if question_id == "q_screening":
        return _screening_facts(_screen(world)) if world.screening else ["Screening not performed"]
    if question_id == "q_jurisdiction_risk":
        return [_short(x) for x in _jurisdiction_facts(world)]
    if question_id == "q_transparency":
        return [_short(x) for x in _transparency_text(world, True)]
    raise ValueError(f"unknown EDD question id {question_id!r}")


def compose(question_id: str, world: EddWorld) -> str:
    """The template answer to the question, composed by rules from the observations alone."""
    if question_id == "q_registration":
        parts = _registration(world, False)
    elif question_id == "q_ubo":
        u = _ubo(world)
        parts = _ubo_sentences(u, world) if u else ["Ownership was not looked up."]
    elif question_id == "q_screening":
        parts = _screening_text(world)
    elif question_id == "q_jurisdiction_risk":
        parts = _jurisdiction_text(world)
    elif question_id == "q_transparency":
        parts = _transparency_text(world, False)
    else:
        raise ValueError(f"unknown EDD question id {question_id!r}")
    return " ".join(parts)
