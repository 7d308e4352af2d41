"""The OFAC SDN list: entries with their aliases and addresses, and what their remarks say
(dates of birth, nationality, places of birth)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from evals.dataset.countries import COUNTRY_ISO
from evals.dataset.edd_demo.records import MONTHS
from evals.dataset.edd_demo.sources import Sources, val


def sdn_dates(remarks: str) -> list[str]:
    """Dates of birth as written in SDN remarks ('14 Jun 1975', '1977', 'circa 1960')."""
    return [d.strip() for d in re.findall(r"\bDOB ([^;]+)", remarks)]


def sdn_date_iso(text: str) -> str | None:
    """ISO form of a full SDN date of birth ('14 Jun 1975'); None for partial dates."""
    m = re.fullmatch(r"(\d{2}) ([A-Z][a-z]{2}) (\d{4})", text)
    if not m:
        return None
    return date(int(m[3]), MONTHS[m[2].lower()], int(m[1])).isoformat()


def same_birth(iso: str, sdn_dob: str) -> bool:
    """Could a person born on `iso` be the one with SDN date of birth `sdn_dob`?"""
    full = sdn_date_iso(sdn_dob)
    if full:
        return iso == full
    years = re.findall(r"\d{4}", sdn_dob)
    return not years or iso[:4] in years


def sdn_field(remarks: str, label: str) -> list[str]:
    """All values of 'label X;' in SDN remarks (e.g. nationality, POB)."""
    return [v.strip().rstrip(".") for v in re.findall(rf"\b{label} ([^;]+)", remarks)]


@dataclass
class SdnEntry:
    """One SDN entry with its aliases and addresses."""

    ent_num: str
    """The entry's number (sdn.csv's first column)."""
    name: str
    """Primary name as listed ('SURNAME, Given Names' for individuals)."""
    type: str
    """individual, vessel, aircraft or entity."""
    programs: list[str]
    """OFAC programmes the entry is listed under."""
    title: str | None
    """Title as listed, if any."""
    remarks: str | None
    """Free-text remarks (dates of birth, nationality, ...)."""
    row: int
    """Index of the entry's row in sdn.csv."""
    aliases: list[tuple[str, str, int]] = field(default_factory=list)
    """(kind, name, alt.csv row) of each alias."""
    addresses: list[tuple[str, str | None, int]] = field(default_factory=list)
    """(text, country, add.csv row) of each address."""

    @property
    def individual(self) -> bool:
        return self.type == "individual"

    def dobs(self) -> list[str]:
        """Dates of birth as listed."""
        return sdn_dates(self.remarks or "")

    def nationalities(self) -> list[str]:
        """Nationalities and citizenships as listed."""
        r = self.remarks or ""
        return sdn_field(r, "nationality") + sdn_field(r, "citizen")

    def view(self) -> dict[str, Any]:
        """How the screening tools show the entry."""
        r = self.remarks or ""
        return {
            "list": "OFAC-SDN",
            "ent_num": self.ent_num,
            "name": self.name,
            "sdn_type": self.type,
            "programs": self.programs,
            "title": self.title,
            "dates_of_birth": self.dobs(),
            "places_of_birth": sdn_field(r, "POB"),
            "nationality": sdn_field(r, "nationality"),
            "citizenship": sdn_field(r, "citizen"),
            "addresses": [a for a, _, _ in self.addresses],
            "aliases": [f"{k} {n}" for k, n, _ in self.aliases],
            "remarks": self.remarks,
        }


def load_sdn(src: Sources) -> dict[str, SdnEntry]:
    """Every SDN entry by number, with its aliases and addresses."""
    entries: dict[str, SdnEntry] = {}
    for i, r in enumerate(src.sdn.rows):
        programs = [p.strip() for p in r[3].strip().strip("[]").split("] [")]
        entries[r[0]] = SdnEntry(
            ent_num=r[0],
            name=r[1].strip(),
            type=val(r[2]) or "entity",
            programs=programs,
            title=val(r[4]),
            remarks=val(r[11]),
            row=i,
        )
    for i, r in enumerate(src.alt.rows):
        if r[0] in entries:
            entries[r[0]].aliases.append((r[2].strip(), r[3].strip(), i))
    for i, r in enumerate(src.add.rows):
        if r[0] in entries:
            parts = [val(x) for x in (r[2], r[3], r[4])]
            text = ", ".join(p for p in parts if p)
            if text:
                entries[r[0]].addresses.append((text, val(r[4]), i))
    return entries


def mark_used(src: Sources, entry: SdnEntry) -> None:
    """Keep an entry's rows (and those of its aliases and addresses) in the copy."""
    src.sdn.used.add(entry.row)
    src.alt.used.update(i for _, _, i in entry.aliases)
    src.add.used.update(i for _, _, i in entry.addresses)


def eligible_sdn_person(e: SdnEntry) -> bool:
    """SDN individuals usable as planted owners: row-local test (stable on the copy)."""
    if not e.individual or not re.fullmatch(r"[A-Z][A-Z' \-]+, [A-Za-z][A-Za-z' \-]+", e.name):
        return False
    if len(e.name.split(", ", 1)[1].split()) < 2:
        return False
    dobs = e.dobs()
    if len(dobs) != 1 or sdn_date_iso(dobs[0]) is None:
        return False
    nat = sdn_field(e.remarks or "", "nationality")
    if len(nat) != 1 or nat[0] not in COUNTRY_ISO:
        return False
    return any(c in COUNTRY_ISO and "," in a for a, c, _ in e.addresses)


def display_sdn_name(name: str) -> tuple[str, str, list[str]]:
    """('Given Surname', surname, given tokens) of 'SURNAME, Given Names'."""
    surname, given = name.split(", ", 1)
    sur = " ".join(
        w.capitalize() if "-" not in w else "-".join(x.capitalize() for x in w.split("-"))
        for w in surname.split()
    )
    return f"{given} {sur}", sur, given.split()
