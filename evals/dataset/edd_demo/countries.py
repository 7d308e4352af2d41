"""Countries as the KYB files write them: names, ISO-2 and ISO-3 codes and US states.

The country table itself (names as the SDN list spells them) is evals/dataset/countries.py, shared
with the EDD rules of the blueprints; this module adds the spellings of the KYB files."""

from __future__ import annotations

from evals.dataset.countries import COUNTRY_ISO, ISO_NAME

COUNTRY_ALIASES = {  # spellings found in the KYB files
    "RUS": "RU", "CAN": "CA", "USA": "US", "US": "US", "CA": "CA", "DE": "DE", "SG": "SG",
    "IN": "IN", "LICHTENSTEIN": "LI", "UNITED KINGDOM": "GB", "UK": "GB",
}  # fmt: skip
# fmt: off
US_STATES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY",
}
# fmt: on
US_STATE_NAMES = {"OHIO": "OH", "TEXAS": "TX", "CALIFORNIA": "CA", "NEVADA": "NV"}


def iso_of(value: str | None) -> str | None:
    """ISO-2 code of a country written as a name, an ISO-2 or an ISO-3 code; None if unknown."""
    if not value or not value.strip():
        return None
    v = value.strip()
    if v in COUNTRY_ISO:
        return COUNTRY_ISO[v]
    up = v.upper()
    if up in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[up]
    for name, code in COUNTRY_ISO.items():
        if name.upper() == up:
            return code
    return None


def country_name(iso: str) -> str:
    """Display name of an ISO-2 country (the SDN list's spelling)."""
    return ISO_NAME[iso]
