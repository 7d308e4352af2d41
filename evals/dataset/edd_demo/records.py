"""Reading KYB records: dates in their many formats, person names and addresses."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from evals.dataset.countries import COUNTRY_ISO
from evals.dataset.edd_demo.countries import US_STATE_NAMES, US_STATES, country_name, iso_of
from evals.dataset.edd_demo.names import NAME_NOISE
from evals.dataset.edd_demo.sources import val

MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}


def _year(y: int) -> int:
    return y if y >= 100 else (2000 + y if y <= 25 else 1900 + y)


def parse_date(text: str | None) -> str | None:
    """ISO date from the KYB files' many formats (M/D/Y unless the first part is > 12)."""
    t = val(text)
    if t is None:
        return None
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", t):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{2,4})", t):
        a, b, y = int(m[1]), int(m[2]), _year(int(m[3]))
        mo, d = (b, a) if a > 12 else (a, b)
    elif m := re.fullmatch(r"(\d{1,2})[- ]([A-Za-z]{3})[- ](\d{2,4})", t):
        d, mo, y = int(m[1]), MONTHS[m[2].lower()], _year(int(m[3]))
    elif m := re.fullmatch(r"([A-Za-z]{3}) (\d{1,2}),? (\d{4})", t):
        mo, d, y = MONTHS[m[1].lower()], int(m[2]), int(m[3])
    else:
        raise ValueError(f"unparsed date {t!r}")
    return date(y, mo, d).isoformat()


def person_name(row: dict[str, str]) -> str:
    """'First Middle Last' from a KYB person record ('Last, First' is reordered)."""
    full = (row.get("PRIMARY_NAME_FULL") or "").strip()
    if full:
        if "," in full:
            last, first = full.split(",", 1)
            return f"{first.strip()} {last.strip()}"
        return full
    parts = [
        (row.get(k) or "").strip()
        for k in ("PRIMARY_NAME_FIRST", "PRIMARY_NAME_MIDDLE", "PRIMARY_NAME_LAST")
    ]
    return " ".join(p for p in parts if p)


def surname(name: str) -> str:
    """Last word of a name that is not a suffix or an initial."""
    words = [
        w
        for w in name.split()
        if len(w) > 1 and w.casefold().strip(".") not in NAME_NOISE and w not in ("I", "II", "III")
    ]
    return words[-1]


def is_latin(text: str) -> bool:
    """Whether every letter of the text is a Latin one (and there is one)."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all("LATIN" in unicodedata.name(c, "") for c in letters)


def _address_country(row: dict[str, str], text: str) -> str | None:
    """ISO-2 country of an address: its country cell, its US state, a country named in the
    text, or a US state-and-ZIP pattern; None when nothing says."""
    iso = iso_of(row.get("ADDR_COUNTRY"))
    state = (val(row.get("ADDR_STATE")) or "").upper()
    if iso is None and (state in US_STATES or state in US_STATE_NAMES):
        iso = "US"
    if iso is None:
        for name, code in sorted([*COUNTRY_ISO.items(), ("Lichtenstein", "LI")]):
            if re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE):
                iso = code
                break
    if iso is None:
        states = "|".join(sorted(US_STATES))
        if re.search(rf"\b({states})\.?,?\s+\d{{5}}(-\d{{4}})?\b", text) or re.search(
            rf",\s*({states})\s*$", text
        ):
            iso = "US"
    return iso


def record_address(row: dict[str, str]) -> tuple[str | None, str | None]:
    """(address text, ISO-2 country) of a KYB record; the country may be None."""
    full = val(row.get("ADDR_FULL"))
    parts = [val(row.get(k)) for k in ("ADDR_LINE1", "ADDR_CITY", "ADDR_STATE", "ADDR_POSTAL_CODE")]
    text = full or ", ".join(p for p in parts if p) or None
    if text is None:
        return None, None
    text = re.sub(r"\s+", " ", text).strip().rstrip(",")
    iso = _address_country(row, text)
    if iso and country_name(iso).casefold() not in text.casefold():
        text = f"{text}, {country_name(iso)}"
    return text, iso
