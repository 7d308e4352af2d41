"""The recorded world of a case: what each tool answers for every call an agent could make
about a subject (its fixtures)."""

from __future__ import annotations

from typing import Any

import orjson

from evals.dataset.edd_demo.builder import Builder
from evals.dataset.edd_demo.countries import country_name
from evals.dataset.edd_demo.names import MATCH_THRESHOLD
from evals.dataset.edd_demo.ownership import graph, parties
from evals.dataset.edd_demo.world import Org, Party, Person, pct_json

LISTS = ["WATCHLIST", "OFAC-SDN"]


def global_parent(org: Org) -> Party | None:
    """The owner recorded as the organisation's global parent, if any."""
    return next((h.owner for h in org.owners if h.role == "Global Parent"), None)


def registry_obs(org: Org) -> dict[str, Any]:
    """What registry_lookup answers for the organisation's registration number."""
    parent = global_parent(org)
    return {
        "entity_id": org.entity_id,
        "name": org.name,
        "trading_name": org.trading_name,
        "registration_number": org.reg_no,
        "register": org.reg_type,
        "jurisdiction": {
            "country": org.country,
            "country_name": country_name(org.country or ""),
            "state": org.state,
        },
        "legal_form": org.legal_form,
        "status": org.status,
        "registered_year": org.year,
        "address": {
            "text": org.address,
            "type": org.address_type,
            "country": org.address_country,
        },
        "lei": org.lei,
        "global_parent": None
        if parent is None
        else {"entity_id": parent.entity_id, "name": parent.name},
        "source": ", ".join(org.records),
    }


def ownership_obs(org: Org) -> dict[str, Any]:
    """What get_ownership answers for the organisation."""
    if org.kind != "company":
        return {
            "entity_id": org.entity_id,
            "name": org.name,
            "ownership_recorded": False,
            "owners": [],
            "officers": [],
            "note": org.note,
        }
    owners = []
    for h in org.owners:
        view = h.owner.view()
        view["role"] = h.role
        view["share_percent"] = pct_json(h.share)
        owners.append(view)
    officers = []
    for p, role in org.officers:
        view = p.view()
        view["role"] = role
        officers.append(view)
    total = org.recorded_total()
    obs: dict[str, Any] = {
        "entity_id": org.entity_id,
        "name": org.name,
        "ownership_recorded": True,
        "owners": owners,
        "officers": officers,
        "recorded_share_total_percent": pct_json(total),
    }
    if total is not None and total < 1:
        obs["unaccounted_share_percent"] = pct_json(1 - total)
    return obs


def _party_view(party: Party, role: str) -> dict[str, Any]:
    identifiers = (
        {"date_of_birth": party.dob, "nationality": party.nationality}
        if isinstance(party, Person)
        else {"country": party.country}
    )
    return {
        "entity_id": party.entity_id,
        "name": party.name,
        "type": "person" if isinstance(party, Person) else "organisation",
        "role": role,
        **identifiers,
    }


def screen_obs(b: Builder, org: Org) -> dict[str, Any]:
    """What screen_parties answers for the business."""
    return {
        "entity_id": org.entity_id,
        "lists": LISTS,
        "match_threshold": MATCH_THRESHOLD,
        "parties": [
            {"party": _party_view(r.party, r.role), "hits": [h.view for h in r.hits]}
            for r in b.screener.screen(org)
        ],
    }


def screen_name_obs(b: Builder, party: Party) -> dict[str, Any]:
    """What screen_name answers for the party's name (no entity resolution)."""
    hits: list[dict[str, Any]] = []
    if isinstance(party, Person):
        hits += b.screener.watch_hits(party, resolve=False)
    for score, e, matched in b.screener.sdn_hits(party):
        view = e.view()
        view["matched_name"] = matched
        view["name_score"] = score
        hits.append(view)
    return {
        "query": party.name,
        "lists": LISTS,
        "match_threshold": MATCH_THRESHOLD,
        "hits": hits,
    }


def fixtures(b: Builder, org: Org) -> list[dict[str, Any]]:
    """The whole recorded world of one subject: every call an agent could make."""
    fx: dict[tuple[str, str], dict[str, Any]] = {}

    def add(tool: str, args: dict[str, Any], obs: Any) -> None:
        key = (tool, orjson.dumps(args, option=orjson.OPT_SORT_KEYS).decode())
        fx[key] = {"tool": tool, "arguments": args, "observation": obs}

    countries: set[str] = set()
    for o in graph(org):
        if o.reg_no and o.kind == "company":
            add("registry_lookup", {"registration_number": o.reg_no}, registry_obs(o))
        add("get_ownership", {"entity_id": o.entity_id}, ownership_obs(o))
        if o.kind == "company":
            add("screen_parties", {"entity_id": o.entity_id}, screen_obs(b, o))
        countries.update(c for c in (o.country, o.address_country) if c)
    for party, _ in parties(org):
        add("screen_name", {"name": party.name}, screen_name_obs(b, party))
        if isinstance(party, Person):
            countries.update(c for c in (party.country, party.nationality) if c)
    for c in sorted(countries):
        obs = b.countries.risk(c)
        add("country_risk", {"country": c}, obs)
        add("country_risk", {"country": country_name(c)}, obs)
    return [fx[k] for k in sorted(fx)]
