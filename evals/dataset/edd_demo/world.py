"""The world the tools answer about: persons, organisations and their holdings, built from
KYB records grouped into entities by the truth key."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar

from evals.dataset.edd_demo.countries import iso_of
from evals.dataset.edd_demo.records import is_latin, parse_date, person_name, record_address
from evals.dataset.edd_demo.sources import Sources, Table, val

SEED = "edd_demo/v1"

RecordKey = tuple[str, str]
"""(DATA_SOURCE, RECORD_ID) of a KYB record."""


def fmt_pct(x: Fraction | None) -> str:
    """'60%' / '17.5%'; 'not recorded' for None."""
    if x is None:
        return "not recorded"
    v = x * 100
    return f"{int(v)}%" if v.denominator == 1 else f"{float(v):.1f}%".replace(".0%", "%")


def pct_json(x: Fraction | None) -> int | float | None:
    """A share as a JSON percentage (an integer when whole)."""
    if x is None:
        return None
    v = x * 100
    return int(v) if v.denominator == 1 else round(float(v), 2)


@dataclass
class Person:
    """A natural person: a resolved KYB entity or a derived (SDN-based) person."""

    entity_id: str
    """E<cluster> for a KYB entity, DP<n> for a derived person."""
    name: str
    """Name in Latin script (the native one when there is none)."""
    native_name: str | None = None
    """Name in another script, when the records give one beside a Latin one."""
    dob: str | None = None
    """Date of birth, ISO."""
    nationality: str | None = None
    """ISO-2 nationality."""
    address: str | None = None
    """Address text."""
    country: str | None = None
    """ISO-2 country of the address."""
    records: list[str] = field(default_factory=list)
    """Where the person comes from (DATA_SOURCE/RECORD_ID, SDN/<ent_num>, ...)."""
    cluster: str | None = None
    """Truth-key cluster of a KYB person."""
    sdn_ent: str | None = None
    """Planted true SDN match: the entry this person is."""
    near_of: str | None = None
    """Synthetic near-miss of this SDN entry."""
    derived: bool = False
    """Made by the build (SDN-based), not a customers.csv person."""

    kind: ClassVar[str] = "person"

    def view(self) -> dict[str, Any]:
        """How registry tools show the person."""
        out: dict[str, Any] = {"entity_id": self.entity_id, "name": self.name, "type": "person"}
        if self.native_name:
            out["native_name"] = self.native_name
        out["date_of_birth"] = self.dob
        out["nationality"] = self.nationality
        out["address"] = self.address
        out["address_country"] = self.country
        return out


@dataclass
class Holding:
    """One owner of an organisation."""

    owner: Person | Org
    """The owner."""
    share: Fraction | None
    """Share held; None when not recorded."""
    role: str = "Owner"
    """Role as recorded (Owner, Global Parent, ...)."""


@dataclass
class Org:
    """An organisation: a registered business, a foreign holding or a nominee."""

    entity_id: str
    name: str
    kind: str = "company"  # company | foreign_holding | nominee
    trading_name: str | None = None
    reg_no: str | None = None
    reg_type: str | None = None  # the register: UEN, EIN, VAT, ...
    country: str | None = None  # ISO-2 country of registration
    state: str | None = None  # US state of registration
    legal_form: str | None = None
    status: str | None = None
    year: str | None = None  # year of registration
    address: str | None = None
    address_type: str | None = None
    address_country: str | None = None
    lei: str | None = None
    records: list[str] = field(default_factory=list)
    derived: bool = False
    scenario: str = "reference"  # what a derived subject is built to test
    owners: list[Holding] = field(default_factory=list)
    officers: list[tuple[Person, str]] = field(default_factory=list)  # (person, role)
    note: str | None = None  # what the ownership tool says of a nominee or foreign holding
    cluster: str | None = None

    @property
    def ownership_recorded(self) -> bool:
        return self.kind == "company"

    def recorded_total(self) -> Fraction | None:
        """Sum of the recorded shares; None when a share is not recorded or none is."""
        shares = [h.share for h in self.owners if h.share is not None]
        if not shares or any(h.share is None for h in self.owners):
            return None
        return sum(shares, Fraction(0))

    def view(self) -> dict[str, Any]:
        """Short view of the organisation as an owner."""
        return {
            "entity_id": self.entity_id,
            "name": self.name,
            "type": {
                "company": "organisation",
                "foreign_holding": "organisation",
                "nominee": "nominee",
            }[self.kind],
            "registration_number": self.reg_no,
            "country": self.country,
        }


Party = Person | Org


class World:
    """Everything the tools can answer about, built from the sources."""

    def __init__(self, src: Sources) -> None:
        self.src = src
        self.persons: dict[str, Person] = {}
        self.orgs: dict[str, Org] = {}
        self.subjects: list[Org] = []
        self.used_sdn: set[str] = set()  # SDN entries planted or hit: their rows are copied
        self.cluster_of: dict[RecordKey, str] = {}
        self.truth_rows: dict[RecordKey, int] = {}
        self.cluster_records: dict[str, list[RecordKey]] = defaultdict(list)
        for i, row in enumerate(src.truth.rows):
            key = (row["DATA_SOURCE"], row["RECORD_ID"])
            self.cluster_of[key] = row["CLUSTER_ID"]
            self.truth_rows[key] = i
            self.cluster_records[row["CLUSTER_ID"]].append(key)
        self.record: dict[RecordKey, dict[str, str]] = {}
        self.record_row: dict[RecordKey, tuple[Table, int]] = {}
        for table in (src.reference, src.customers, src.watchlist):
            for i, row in enumerate(table.rows):
                key = (row["DATA_SOURCE"], row["RECORD_ID"])
                self.record[key] = row
                self.record_row[key] = (table, i)

    def use_record(self, key: RecordKey) -> None:
        """Mark a KYB record, its truth row and every record of its entity as used."""
        cluster = self.cluster_of.get(key)
        keys = self.cluster_records[cluster] if cluster else [key]
        for k in keys:
            if k in self.record_row:
                table, i = self.record_row[k]
                table.used.add(i)
            if k in self.truth_rows:
                self.src.truth.used.add(self.truth_rows[k])

    def person(self, cluster: str) -> Person:
        """The person of a truth cluster, made once; its records are marked used."""
        if f"E{cluster}" not in self.persons:
            p = kyb_person(self, cluster)
            if p is None:
                raise ValueError(f"no person for cluster {cluster}")
            self.persons[p.entity_id] = p
        for key in self.cluster_records[cluster]:
            self.use_record(key)
        return self.persons[f"E{cluster}"]

    def rng(self, label: str) -> random.Random:
        """A generator seeded by the set's seed and a label (stable across runs)."""
        return random.Random(f"{SEED}:{label}")


def _person_rows(world: World, cluster: str) -> list[dict[str, str]]:
    """The person records of a cluster, reference ones first, outside the watchlist."""
    keys = [k for k in world.cluster_records[cluster] if k[0] in ("REFERENCE", "CUSTOMERS")]
    keys = sorted(keys, key=lambda k: (k[0] != "REFERENCE", int(k[1])))
    rows = [world.record[k] for k in keys if k in world.record]
    return [r for r in rows if r.get("RECORD_TYPE") == "PERSON"]


def kyb_person(world: World, cluster: str) -> Person | None:
    """The resolved person of a truth cluster from its non-watchlist records."""
    rows = _person_rows(world, cluster)
    if not rows:
        return None
    names = [person_name(r) for r in rows]
    latin = [n for n in names if n and is_latin(n)]
    natives = [val(r.get("NATIVE_NAME_FULL")) for r in rows]
    native = next((n for n in natives if n), None)
    name = latin[0] if latin else native
    if not name:
        return None
    p = Person(
        entity_id=f"E{cluster}",
        name=re.sub(r"\s+", " ", name),
        cluster=cluster,
        native_name=native if latin else None,
        records=[f"{r['DATA_SOURCE']}/{r['RECORD_ID']}" for r in rows],
    )
    for r in rows:
        p.dob = p.dob or parse_date(r.get("DATE_OF_BIRTH"))
        p.nationality = (
            p.nationality
            or iso_of(r.get("PASSPORT_COUNTRY"))
            or iso_of(r.get("NATIONAL_ID_COUNTRY"))
        )
    addresses = [record_address(r) for r in rows]
    with_country = [a for a in addresses if a[0] and a[1]]
    any_addr = [a for a in addresses if a[0]]
    if with_country or any_addr:
        p.address, p.country = (with_country or any_addr)[0]
    return p
