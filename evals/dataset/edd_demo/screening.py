"""Screening: parties against the internal watchlist (by name and by resolved entity) and
against every SDN entry (by name), with the build's verdict on every hit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evals.dataset.countries import COUNTRY_ISO
from evals.dataset.edd_demo.countries import country_name
from evals.dataset.edd_demo.names import MATCH_THRESHOLD, NameIndex, name_score, name_tokens
from evals.dataset.edd_demo.ownership import parties
from evals.dataset.edd_demo.records import parse_date, person_name, record_address
from evals.dataset.edd_demo.sanctions import SdnEntry, same_birth
from evals.dataset.edd_demo.sources import val
from evals.dataset.edd_demo.world import Org, Party, Person, World

SdnHit = tuple[float, SdnEntry, str]
"""(name score, entry, the entry's name or alias that matched)."""


@dataclass
class WatchRecord:
    """A watchlist record as the screening tools show it, with its name tokens."""

    view: dict[str, Any]
    """The record's fields shown in a hit."""
    tokens: tuple[str, ...]
    """Its name's tokens (empty when it has no name)."""


@dataclass
class Hit:
    """One screening hit of a party and the build's verdict on it."""

    view: dict[str, Any]
    """The hit as the screen_parties tool shows it."""
    verdict: str
    """match or discounted."""
    reason: str
    """Why, in words (the identifiers that agree or disagree)."""
    source: str
    """The list: watchlist or SDN."""


@dataclass
class ScreenResult:
    """The screening of one party of a business."""

    party: Party
    """The party screened."""
    role: str
    """Its role for the business (owner with share, officer, ...)."""
    hits: list[Hit] = field(default_factory=list)
    """Its hits, watchlist ones first."""


def discount_reason(party: Party, e: SdnEntry, strict: bool = True) -> str | None:
    """Why an SDN hit is not the party (identifiers that disagree); None if nothing does."""
    reasons = []
    if isinstance(party, Person):
        dobs = e.dobs()
        if party.dob and dobs and not any(same_birth(party.dob, d) for d in dobs):
            reasons.append(f"date of birth differs ({party.dob} vs {', '.join(e.dobs())})")
        nats = [COUNTRY_ISO.get(n) for n in e.nationalities()]
        if party.nationality and nats and party.nationality not in nats:
            reasons.append(
                f"nationality differs ({country_name(party.nationality)} vs "
                f"{', '.join(e.nationalities())})"
            )
    else:
        countries = {COUNTRY_ISO.get(c or "") for _, c, _ in e.addresses} - {None}
        if party.country and countries and party.country not in countries:
            reasons.append(
                f"country differs ({country_name(party.country)} vs "
                f"{', '.join(sorted(country_name(c) for c in countries if c))})"
            )
    if not reasons:
        if strict:
            raise ValueError(f"hit {e.ent_num} on {party.name} cannot be discounted")
        return None
    return "; ".join(reasons)


def _sdn_indexes(sdn: dict[str, SdnEntry]) -> tuple[NameIndex, NameIndex]:
    """Name indexes of SDN individuals and of SDN entities (vessels and aircraft left out),
    primary names and aliases."""
    ind: list[tuple[str, str, tuple[str, ...]]] = []
    ent: list[tuple[str, str, tuple[str, ...]]] = []
    for e in sorted(sdn.values(), key=lambda e: int(e.ent_num)):
        target = ind if e.individual else ent
        if e.type in ("vessel", "aircraft"):
            continue
        for n in [e.name, *(n for _, n, _ in e.aliases)]:
            target.append((e.ent_num, n, name_tokens(n, org=not e.individual)))
    return NameIndex(ind), NameIndex(ent)


def _watch_records(world: World) -> list[WatchRecord]:
    out = []
    for row in world.src.watchlist.rows:
        key = ("WATCHLIST", row["RECORD_ID"])
        name = person_name(row) or val(row.get("NATIVE_NAME_FULL")) or ""
        addr, _ = record_address(row)
        view = {
            "list": "WATCHLIST",
            "record_id": row["RECORD_ID"],
            "name": name or "(no name recorded)",
            "native_name": val(row.get("NATIVE_NAME_FULL")),
            "category": val(row.get("CATEGORY")),
            "status": val(row.get("STATUS")),
            "listed_on": parse_date(row.get("DATE")),
            "date_of_birth": parse_date(row.get("DATE_OF_BIRTH")),
            "address": addr,
            "entity_id": f"E{world.cluster_of[key]}",
        }
        out.append(WatchRecord(view, name_tokens(name) if name else ()))
    return out


class Screener:
    """Screens names and parties against the watchlist and the SDN list."""

    def __init__(self, world: World, sdn: dict[str, SdnEntry]) -> None:
        self.world = world
        self.sdn = sdn
        self.sdn_persons, self.sdn_orgs = _sdn_indexes(sdn)
        self.watch = _watch_records(world)
        self._sdn_cache: dict[tuple[bool, str], list[SdnHit]] = {}

    def watch_hits(self, person: Person, resolve: bool) -> list[dict[str, Any]]:
        """Watchlist hits of a person: same resolved entity (when resolve) or close name."""
        toks = name_tokens(person.name)
        hits = []
        for w in self.watch:
            score = name_score(toks, w.tokens) if w.tokens else 0.0
            same = resolve and person.entity_id == w.view["entity_id"]
            if not same and score < MATCH_THRESHOLD:
                continue
            hit = dict(w.view)
            hit["name_score"] = score
            if resolve:
                hit["same_entity_as_party"] = same
                hit["match_basis"] = (
                    "entity resolution: the record resolves to the party's entity"
                    if same
                    else "name similarity"
                )
            else:
                hit["match_basis"] = "name similarity"
            hits.append(hit)
        return hits

    def sdn_hits(self, party: Party) -> list[SdnHit]:
        """(score, entry, matched name) of SDN entries close to the party's name."""
        cache_key = (isinstance(party, Person), party.name)
        if cache_key in self._sdn_cache:
            return self._sdn_cache[cache_key]
        if isinstance(party, Person):
            found = self.sdn_persons.search(name_tokens(party.name))
        else:
            found = self.sdn_orgs.search(name_tokens(party.name, org=True))
        best: dict[str, tuple[float, str]] = {}
        for score, key, name in found:
            if key not in best or score > best[key][0]:
                best[key] = (score, name)
        out = [(s, self.sdn[k], n) for k, (s, n) in best.items()]
        out.sort(key=lambda x: (-x[0], int(x[1].ent_num)))
        self._sdn_cache[cache_key] = out
        return out

    def _watch_verdicts(self, person: Person) -> list[Hit]:
        out = []
        for hit in self.watch_hits(person, resolve=True):
            verdict = "match" if hit["same_entity_as_party"] else "discounted"
            reason = (
                "resolved to the same entity"
                if verdict == "match"
                else f"resolved to a different entity ({hit['entity_id']}, party "
                f"{person.entity_id})"
            )
            out.append(Hit(hit, verdict, reason, "watchlist"))
        return out

    def _sdn_verdicts(self, party: Party) -> list[Hit]:
        out = []
        for score, e, matched in self.sdn_hits(party):
            self.world.used_sdn.add(e.ent_num)
            view = e.view()
            view["matched_name"] = matched
            view["name_score"] = score
            view["same_entity_as_party"] = None
            view["match_basis"] = "name similarity; compare identifiers"
            if isinstance(party, Person) and party.sdn_ent == e.ent_num:
                verdict, reason = "match", "name, date of birth and nationality agree"
            else:
                verdict, reason = "discounted", str(discount_reason(party, e))
            out.append(Hit(view, verdict, reason, "SDN"))
        return out

    def screen(self, org: Org) -> list[ScreenResult]:
        """Screening results per party with the build's verdict on every hit."""
        results = []
        for party, role in parties(org):
            entry = ScreenResult(party, role)
            if isinstance(party, Person):
                entry.hits += self._watch_verdicts(party)
            entry.hits += self._sdn_verdicts(party)
            results.append(entry)
        return results
