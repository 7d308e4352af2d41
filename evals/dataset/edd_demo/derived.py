"""The derived subjects: synthetic businesses built from the blueprints, owned and run by
real customers.csv persons (picked from pools computed with the truth key), real SDN
individuals and synthetic near-misses of SDN individuals.

Pools and SDN picks use tests that look at one entity or one SDN row only, ordered by a
fixed hash, so the first k picks of the full data are the first k of the copy."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from evals.dataset.countries import COUNTRY_ISO
from evals.dataset.edd_demo.blueprints import (
    BLUEPRINTS,
    FOREIGN_HOLDING_COUNTRY,
    LEGAL_FORMS,
    NAME_WORDS,
    Blueprint,
    registration_number,
    slots_needed,
)
from evals.dataset.edd_demo.countries import country_name
from evals.dataset.edd_demo.names import name_tokens
from evals.dataset.edd_demo.records import is_latin, surname
from evals.dataset.edd_demo.sanctions import (
    SdnEntry,
    display_sdn_name,
    eligible_sdn_person,
    sdn_date_iso,
    sdn_field,
)
from evals.dataset.edd_demo.screening import Screener, discount_reason
from evals.dataset.edd_demo.world import SEED, Holding, Org, Person, World, kyb_person

KYB_POOLS = ("clean", "watch_true", "watch_near")


@dataclass
class Pools:
    """Persons the blueprints' slots are filled from, each in its fixed order."""

    kyb: dict[str, list[str]]
    """Truth clusters of customers.csv persons by pool: clean, watch_true, watch_near."""
    sdn_true: list[SdnEntry]
    """SDN individuals planted as themselves."""
    sdn_near: list[SdnEntry]
    """SDN individuals whose near-misses are planted."""


def _kyb_pool(world: World, screener: Screener, cluster: str) -> str | None:
    """The pool of a customers.csv person, None when it fits none."""
    if "REFERENCE" in {k[0] for k in world.cluster_records[cluster]}:
        return None  # persons of the real organisations
    p = kyb_person(world, cluster)
    if p is None or len(name_tokens(p.name)) < 2 or not is_latin(p.name):
        return None
    if p.dob and p.dob >= "2006-01-01":
        return None  # minors do not own or run businesses here
    hits = screener.watch_hits(p, resolve=True)
    same = [h for h in hits if h["same_entity_as_party"]]
    near = [h for h in hits if not h["same_entity_as_party"]]
    sdn = screener.sdn_hits(p)
    if any(discount_reason(p, e, strict=False) is None for _, e, _ in sdn):
        return None  # an SDN hit that its identifiers cannot settle
    if same and not near:
        return "watch_true"
    if near and not same:
        # A near-miss differs from the listed name by a token or a spelling.
        identical = any(h["name"].casefold().split() == p.name.casefold().split() for h in near)
        return None if identical else "watch_near"
    if not hits and not sdn:
        return "clean"
    return None


def select_pools(world: World, screener: Screener, sdn: dict[str, SdnEntry]) -> Pools:
    """The pools; every watchlist row (and its entity) is kept in the copy."""
    watchlist = world.src.watchlist
    for i, row in enumerate(watchlist.rows):
        watchlist.used.add(i)
        world.use_record(("WATCHLIST", row["RECORD_ID"]))
    clusters = sorted(
        {
            world.cluster_of[("CUSTOMERS", r["RECORD_ID"])]
            for r in world.src.customers.rows
            if r["RECORD_TYPE"] == "PERSON" and ("CUSTOMERS", r["RECORD_ID"]) in world.cluster_of
        }
    )
    ranked: dict[str, list[tuple[Any, str]]] = {k: [] for k in KYB_POOLS}
    for cluster in clusters:
        pool = _kyb_pool(world, screener, cluster)
        if pool == "watch_near":
            ranked[pool].append((int(cluster), cluster))
        elif pool:
            ranked[pool].append((hashlib.sha256(f"{SEED}:{cluster}".encode()).hexdigest(), cluster))
    eligible = [e for e in sdn.values() if eligible_sdn_person(e)]
    eligible.sort(key=lambda e: hashlib.sha256(f"{SEED}:sdn:{e.ent_num}".encode()).hexdigest())
    need_true, need_near = slots_needed("sdn_true"), slots_needed("sdn_near")
    return Pools(
        kyb={k: [c for _, c in sorted(v)] for k, v in ranked.items()},
        sdn_true=eligible[:need_true],
        sdn_near=eligible[need_true : need_true + need_near],
    )


class PersonPicker:
    """Takes the next person of a pool for a blueprint's slot."""

    def __init__(self, world: World, pools: Pools) -> None:
        self.world = world
        self.pools = pools
        self.cursor = {k: 0 for k in (*KYB_POOLS, "sdn_true", "sdn_near")}

    def take(self, kind: str, company_country: str, n: int) -> Person:
        """The next person of pool `kind`; derived persons get the id DP<n>."""
        i = self.cursor[kind]
        self.cursor[kind] += 1
        if kind in self.pools.kyb:
            if i >= len(self.pools.kyb[kind]):
                raise ValueError(f"pool {kind!r} exhausted")
            return self.world.person(self.pools.kyb[kind][i])
        if kind == "sdn_true":
            p = self._sdn_person(self.pools.sdn_true[i], n)
        else:
            p = self._near_miss(self.pools.sdn_near[i], company_country, n)
        self.world.persons[p.entity_id] = p
        return p

    def _sdn_person(self, e: SdnEntry, n: int) -> Person:
        """The listed person as the SDN list gives them (a true match)."""
        self.world.used_sdn.add(e.ent_num)
        display, _, _ = display_sdn_name(e.name)
        nat = sdn_field(e.remarks or "", "nationality")[0]
        addr = next(a for a in e.addresses if a[1] in COUNTRY_ISO and "," in a[0])
        return Person(
            entity_id=f"DP{n:02d}",
            name=display,
            dob=sdn_date_iso(e.dobs()[0]),
            nationality=COUNTRY_ISO[nat],
            address=addr[0],
            country=COUNTRY_ISO[addr[1] or ""],
            sdn_ent=e.ent_num,
            derived=True,
            records=[f"SDN/{e.ent_num}"],
        )

    def _near_miss(self, e: SdnEntry, company_country: str, n: int) -> Person:
        """Not the listed person: the last given name dropped, a date of birth 6-15 years
        away and another nationality."""
        self.world.used_sdn.add(e.ent_num)
        _, sur, given = display_sdn_name(e.name)
        name = f"{' '.join(given[:-1])} {sur}"
        rng = self.world.rng(f"near:{e.ent_num}")
        base = date.fromisoformat(sdn_date_iso(e.dobs()[0]) or "")
        shift = timedelta(days=365 * rng.randint(6, 15) + rng.randint(20, 300))
        dob = base + shift if base.year < 1980 else base - shift  # an adult either way
        sdn_nat = COUNTRY_ISO[sdn_field(e.remarks or "", "nationality")[0]]
        nat = next(c for c in (company_country, "CA", "GB") if c != sdn_nat)
        return Person(
            entity_id=f"DP{n:02d}",
            name=name,
            dob=dob.isoformat(),
            nationality=nat,
            near_of=e.ent_num,
            derived=True,
            records=[f"derived near-miss of SDN/{e.ent_num}"],
        )


def _new_org(world: World, n: int, bp: Blueprint, used_numbers: set[str | None]) -> Org:
    """The derived business D<n> without parties or name: registration from its seed."""
    rng = world.rng(f"derived:{n}")
    form, _, reg_type = LEGAL_FORMS[bp.country]
    year = rng.randint(1998, 2021)
    reg_no = registration_number(bp.country, rng, year)
    while reg_no in used_numbers:
        reg_no = registration_number(bp.country, rng, year)
    used_numbers.add(reg_no)
    return Org(
        entity_id=f"D{n:02d}",
        name="",
        reg_no=reg_no,
        reg_type=reg_type,
        country=bp.country,
        state=bp.state,
        legal_form=form,
        status=bp.status,
        year=str(year),
        derived=True,
        scenario=bp.scenario,
        records=["derived (see NOTICE.md)"],
    )


def _add_parties(world: World, picker: PersonPicker, org: Org, bp: Blueprint, n: int) -> int:
    """Fill the blueprint's owner and officer slots; returns the last derived person number
    (the count goes on across businesses, from n)."""
    for kind, share in bp.owners:
        frac = None if share is None else Fraction(share, 100)
        if kind.startswith("org:"):
            org.owners.append(Holding(world.orgs[kind[4:]], frac, "Owner"))
        elif kind.startswith("derived:"):
            org.owners.append(Holding(world.orgs[f"D{int(kind[8:]):02d}"], frac, "Owner"))
        elif kind in ("foreign", "nominee"):
            org.owners.append(Holding(Org(entity_id="", name=kind, kind=kind), frac))
        else:
            n += 1
            org.owners.append(Holding(picker.take(kind, bp.country, n), frac))
    for kind in bp.officers:
        n += 1
        org.officers.append((picker.take(kind, bp.country, n), "Director"))
    return n


def _people(org: Org) -> list[Person]:
    """Owners that are persons, then officers."""
    people = [h.owner for h in org.owners if isinstance(h.owner, Person)]
    return people + [p for p, _ in org.officers]


def _name_stubs(world: World, org: Org, n: int, base: str, word: str) -> None:
    """Name, place and register the nominee and foreign-holding owners of D<n>."""
    for h in org.owners:
        if not (isinstance(h.owner, Org) and h.owner.kind in ("foreign", "nominee")):
            continue
        stub = h.owner
        stub.entity_id = f"D{n:02d}-{stub.kind[:3].upper()}"
        if stub.kind == "foreign":
            stub.kind = "foreign_holding"
            stub.name = f"{base} {word} Holdings Limited"
            stub.country = FOREIGN_HOLDING_COUNTRY
            stub.note = (
                f"Registered in {country_name(FOREIGN_HOLDING_COUNTRY)}; "
                "no ownership information is available for it."
            )
        else:
            stub.name = f"{base} {word} Nominees Limited"
            stub.country = org.country
            stub.note = (
                "Registered nominee shareholder holding the shares for an "
                "undisclosed beneficial owner."
            )
        stub.derived = True
        world.orgs[stub.entity_id] = stub


def add_derived(world: World, picker: PersonPicker) -> None:
    """Add a derived business per blueprint as a subject, after the reference ones."""
    person_n = 0
    used_numbers = {o.reg_no for o in world.orgs.values()}
    used_names = {o.name for o in world.orgs.values()}
    for n, bp in enumerate(BLUEPRINTS, start=1):
        org = _new_org(world, n, bp, used_numbers)
        person_n = _add_parties(world, picker, org, bp, person_n)
        # Name after the first customers.csv person (owner, else officer).
        people = _people(org)
        founder = next((p for p in people if not p.derived), None)
        base = (
            surname(founder.name)
            if founder
            else next(h.owner.name.split()[0] for h in org.owners if isinstance(h.owner, Org))
        )
        word = NAME_WORDS[(n - 1) % len(NAME_WORDS)]
        org.name = f"{base} {word} {LEGAL_FORMS[bp.country][1]}"
        if org.name in used_names:
            raise ValueError(f"duplicate derived name {org.name}")
        used_names.add(org.name)
        _name_stubs(world, org, n, base, word)
        # Business address: the first owner (else officer) with a known address country.
        located = [p for p in people if p.address and p.country]
        if located:
            org.address, org.address_country = located[0].address, located[0].country
            org.address_type = "BUSINESS"
        world.orgs[org.entity_id] = org
        world.subjects.append(org)
