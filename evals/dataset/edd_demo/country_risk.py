"""Country risk: a demonstration indicator derived from the SDN list (not an official
rating), and the jurisdiction-and-address risk of a business built on it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from evals.dataset.countries import COUNTRY_ISO, ISO_NAME
from evals.dataset.edd_demo.countries import country_name
from evals.dataset.edd_demo.sanctions import SdnEntry
from evals.dataset.edd_demo.world import Org

LEVELS = ["low", "medium", "high"]
EXPOSURE_COLUMNS = ["iso2", "country", "sdn_entries_with_address", "top_programs", "risk", "basis"]


@dataclass
class _Addressed:
    """Counts of addressed SDN entries by country and by programme."""

    by_country: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    program_total: Counter[str] = field(default_factory=Counter)
    program_country: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


def _addressed(sdn: dict[str, SdnEntry]) -> _Addressed:
    counts = _Addressed()
    for e in sdn.values():
        for _, c, _ in e.addresses:
            code = COUNTRY_ISO.get(c or "")
            if code:
                counts.by_country[code].add(e.ent_num)
    for e in sdn.values():
        codes = sorted({COUNTRY_ISO[c] for _, c, _ in e.addresses if c in COUNTRY_ISO})
        if not codes:
            continue
        for p in e.programs:
            counts.program_total[p] += 1
            for code in codes:
                counts.program_country[code][p] += 1
    return counts


def _rating(top: list[tuple[Fraction, str, int]], n: int, totals: Counter[str]) -> tuple[str, str]:
    """(risk, basis) of a country from its top programmes and its addressed entries."""
    lead = (
        (f"{top[0][1]}: {top[0][2]} of its {totals[top[0][1]]} addressed SDN entries are here")
        if top
        else ""
    )
    if top and top[0][0] >= Fraction(1, 2):
        return "high", f"an OFAC programme is concentrated here ({lead})"
    if top and top[0][0] >= Fraction(1, 4):
        return "medium", f"a quarter or more of an OFAC programme's entries are here ({lead})"
    if n >= 150:
        return "medium", f"{n} SDN entries list an address here (150 or more)"
    return "low", (
        f"no OFAC programme has a quarter of its entries here and {n} SDN "
        "entries list an address here (fewer than 150)"
    )


def country_exposure(sdn: dict[str, SdnEntry]) -> dict[str, dict[str, str]]:
    """Country risk indicator from the whole SDN list, by ISO-2 code.

    high:   the country holds at least half of the addressed entries of some OFAC
            programme that has at least 30 addressed entries (a programme concentrated
            on that country);
    medium: it holds at least a quarter of such a programme's addressed entries, or at
            least 150 SDN entries list an address there;
    low:    otherwise.
    """
    counts = _addressed(sdn)
    totals = counts.program_total
    out = {}
    for code in sorted(set(ISO_NAME)):
        n = len(counts.by_country.get(code, ()))
        progs = [
            (Fraction(k, totals[p]), p, k)
            for p, k in counts.program_country[code].items()
            if totals[p] >= 30
        ]
        progs.sort(key=lambda x: (-x[0], x[1]))
        top = progs[:3]
        risk, basis = _rating(top, n, totals)
        out[code] = {
            "iso2": code,
            "country": country_name(code),
            "sdn_entries_with_address": str(n),
            "top_programs": "; ".join(f"{p}:{k}/{totals[p]}" for _, p, k in top),
            "risk": risk,
            "basis": basis,
        }
    return out


@dataclass
class Jurisdiction:
    """The jurisdiction-and-address risk of a business."""

    reg: dict[str, Any]
    """The country_risk observation of the country of registration."""
    addr: dict[str, Any] | None
    """That of the country of the recorded address (None without an address)."""
    overall: str
    """The highest level of the two, at least medium for an address outside."""
    outside: bool
    """The address is outside the country of registration."""


class CountryRisk:
    """The country-risk tool's answers, keeping track of the countries asked about (the
    copy of the exposure table keeps only those)."""

    def __init__(self, exposure: dict[str, dict[str, str]]) -> None:
        self.exposure = exposure
        self.used: set[str] = set()

    def risk(self, iso: str) -> dict[str, Any]:
        """The country_risk observation of an ISO-2 country."""
        self.used.add(iso)
        row = self.exposure[iso]
        programs = []
        for item in filter(None, row["top_programs"].split("; ")):
            p, counts = item.rsplit(":", 1)
            k, total = counts.split("/")
            programs.append({"program": p, "entries_here": int(k), "entries_addressed": int(total)})
        return {
            "country": iso,
            "country_name": row["country"],
            "risk": row["risk"],
            "basis": row["basis"],
            "sdn_entries_with_address": int(row["sdn_entries_with_address"]),
            "top_programs": programs,
            "source": (
                "derived from the OFAC SDN list (sdn.csv, add.csv) by the golden set's "
                "build; a demonstration indicator, not an official rating"
            ),
        }

    def jurisdiction(self, org: Org) -> Jurisdiction:
        """Countries and risk levels of the business's jurisdiction and address."""
        reg = self.risk(org.country or "")
        addr = self.risk(org.address_country) if org.address_country else None
        overall = reg["risk"]
        if addr:
            overall = max(overall, addr["risk"], key=LEVELS.index)
        outside = bool(addr and org.address_country != org.country)
        if outside:
            overall = max(overall, "medium", key=LEVELS.index)
        return Jurisdiction(reg, addr, overall, outside)

    def table_rows(self) -> list[dict[str, str]]:
        """The exposure rows of the countries asked about, for the copy."""
        return [self.exposure[iso] for iso in sorted(self.used)]
