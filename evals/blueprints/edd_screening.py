"""EDD rules on screening: watchlist hits confirmed by entity resolution, SDN hits by
date of birth and nationality. Part of evals.blueprints.edd_rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from evals.blueprints.edd_world import (
    MAX_LINE,
    MONTHS,
    EddWorld,
    country_label,
    packed_lines,
    shorten,
    txt,
)
from evals.dataset.countries import COUNTRY_ISO as _COUNTRY_ISO
from evals.dataset.countries import ISO_NAME as _ISO_NAME


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
    if m and m[2].lower() in MONTHS:
        return iso == f"{m[3]}-{MONTHS.index(m[2].lower()) + 1:02d}-{int(m[1]):02d}"
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
                    f"nationality differs ({country_label(nat, world)} vs {', '.join(nats)})"
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
                differs.append(f"country differs ({country_label(country, world)} vs {names})")
    if differs:
        return "discounted", "; ".join(differs)
    if agree:
        return "match", _agreed(agree)
    return "unresolved", "a name match only: no date of birth or nationality to compare"


def _hit(party: dict[str, Any], v: dict[str, Any], world: EddWorld) -> _Hit:
    if str(v.get("list", "")).upper() == "WATCHLIST":
        rec = f"watchlist record {txt(v, 'record_id')} '{txt(v, 'name')}' ({txt(v, 'category')})"
        same = v.get("same_entity_as_party")
        if same is True:
            verdict, reason = "match", "resolved to the same entity"
        elif same is False:
            verdict = "discounted"
            reason = (
                f"resolved to a different entity ({txt(v, 'entity_id')}, party "
                f"{txt(party, 'entity_id')})"
            )
        else:
            verdict, reason = "unresolved", "a name match only: entity resolution did not decide"
        return _Hit(rec, verdict, reason)
    programs = [str(p) for p in v.get("programs") or []]
    rec = f"SDN entry {txt(v, 'ent_num')} '{txt(v, 'name')}' ({', '.join(programs)})"
    verdict, reason = _sdn_verdict(party, v, world)
    return _Hit(rec, verdict, reason)


def screen_hits(world: EddWorld) -> list[tuple[dict[str, Any], list[_Hit]]]:
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
        who = f"{txt(party, 'name')} ({txt(party, 'role')})"
        for h in hits:
            if h.verdict == "match":
                out["match"].append(f"{who} matches {h.record}: {h.reason}")
            else:
                out[h.verdict].append(f"{who} against {h.record}: {h.verdict}, {h.reason}")
    return out


# --------------------------------------------------------------------------- jurisdiction


_HEADS = {
    "match": "Confirmed match",
    "discounted": "Discounted near-miss, not a match",
    "unresolved": "Unresolved hit, to review",
}


def screening_facts(results: list[tuple[dict[str, Any], list[_Hit]]]) -> list[str]:
    names = [txt(p, "name") for p, _ in results]
    lines = packed_lines(f"Parties screened ({len(names)}): ", names)
    for party, hits in results:
        for h in hits:
            head = f"{_HEADS[h.verdict]}: {txt(party, 'name')}"
            line = f"{head} ({txt(party, 'role')}) vs {h.record}: {h.reason}"
            if len(line) > MAX_LINE:
                line = f"{head} vs {h.record}\nWhy, for {txt(party, 'name')}: {h.reason}"
            lines += [shorten(x) for x in line.split("\n")]
    if not any(h.verdict == "match" for _, hits in results for h in hits):
        lines.append("No confirmed matches")
    return lines + packed_lines("No hits: ", [txt(p, "name") for p, hits in results if not hits])


def screening_text(world: EddWorld) -> list[str]:
    if world.screening is None:
        return ["Screening was not performed."]
    results = screen_hits(world)
    names = [txt(p, "name") for p, _ in results]
    clear = [txt(p, "name") for p, hits in results if not hits]
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
