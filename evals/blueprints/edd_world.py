"""What one EDD case's lookups returned (:class:`EddWorld`), which lookups come next,
and the small text helpers the EDD rules share (evals.blueprints.edd_rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from evals.dataset.countries import ISO_NAME as _ISO_NAME

LEVELS = ("low", "medium", "high")
QUARTER = Fraction(1, 4)
MAX_LINE = 199
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


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


def subject_id(world: EddWorld) -> str | None:
    reg = world.registry
    return str(reg["entity_id"]) if isinstance(reg, dict) and reg.get("entity_id") else None


def ownership_to_fetch(world: EddWorld) -> list[str]:
    """Entity ids to look up next with get_ownership: the subject first, then every
    organisation (or nominee) owner seen in a fetched record and not fetched yet (a
    fetch tells whether it has ownership records). Breadth-first: call until []."""
    subject = subject_id(world)
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


def parse_share(value: Any) -> Fraction | None:
    """A recorded percentage as an exact fraction of 1 (None when not recorded or not a
    number: observations are untrusted and must not crash the rules)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Fraction(str(value).strip().rstrip("%")) / 100
    except (ValueError, ZeroDivisionError):
        return None


def txt(d: dict[str, Any], key: str) -> str:
    """A field of an observation as text; 'not recorded' when missing."""
    value = d.get(key)
    return "not recorded" if value is None or value == "" else str(value)


def entry_name(entry: dict[str, Any]) -> str:
    return str(entry.get("name") or entry.get("entity_id") or "an unnamed party")


def percent(x: Fraction | None) -> str:
    """'60%' / '17.5%'; 'not recorded' for None (build.py's fmt_pct)."""
    if x is None:
        return "not recorded"
    v = x * 100
    return f"{int(v)}%" if v.denominator == 1 else f"{float(v):.1f}%".replace(".0%", "%")


def country_label(code: str | None, world: EddWorld) -> str:
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


def shorten(line: str) -> str:
    """One fact line, cut at a word boundary below the line limit."""
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3].rsplit(" ", 1)[0] + "..."


def packed_lines(prefix: str, items: list[str]) -> list[str]:
    """`prefix` + items joined by '; ', split over as many short lines as needed."""
    lines: list[str] = []
    cur: list[str] = []
    for item in items:
        if cur and len(prefix) + len("; ".join([*cur, item])) > MAX_LINE:
            lines.append(prefix + "; ".join(cur))
            cur = []
        cur.append(item)
    if cur:
        lines.append(prefix + "; ".join(cur))
    return [shorten(x) for x in lines]


# --------------------------------------------------------------------------- ownership
