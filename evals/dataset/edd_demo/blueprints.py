"""The blueprints of the derived (synthetic) businesses: country, status, the scenario each
one tests and the kinds of its owners and officers; legal forms and registration numbers."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Blueprint:
    """The shape of one derived business."""

    country: str
    """ISO-2 country of registration."""
    status: str
    """Registration status."""
    scenario: str
    """What the subject tests (tags.scenario)."""
    owners: list[tuple[str, int | None]]
    """(slot kind, share in percent or None) of each owner, in order."""
    officers: list[str]
    """Slot kind of each officer (a director)."""
    state: str | None = None
    """US state of registration."""


# Slot kinds: clean / watch_true / watch_near (customers.csv persons), sdn_true / sdn_near
# (SDN-based persons), org:<entity id> (an existing organisation), derived:<n> (an earlier
# derived business), foreign (a foreign holding without ownership records), nominee.
# A share of None means "not recorded"; shares summing below 100 leave a part unaccounted.
BLUEPRINTS: list[Blueprint] = [
    Blueprint("SG", "Active", "clean", [("clean", 70), ("clean", 30)], ["clean"]),
    Blueprint("US", "Active", "watchlist match", [("watch_true", 100)], ["clean"], "NV"),
    Blueprint(
        "GB", "Active", "watchlist near-miss", [("watch_near", 55), ("clean", 45)], ["clean"]
    ),
    Blueprint(
        "US",
        "Inactive",
        "watchlist near-miss",
        [("watch_near", 50), ("watch_near", 50)],
        ["clean"],
        "FL",
    ),
    Blueprint("DE", "Active", "SDN match", [("sdn_true", 60), ("clean", 40)], ["clean"]),
    Blueprint("SG", "Active", "SDN near-miss", [("clean", 50), ("sdn_near", 50)], ["clean"]),
    Blueprint(
        "HK",
        "Active",
        "SDN match, nominee",
        [("sdn_true", 35), ("nominee", 40), ("clean", 25)],
        ["clean"],
    ),
    Blueprint(
        "CA",
        "Active",
        "SDN near-miss, foreign holding",
        [("clean", 60), ("foreign", 40)],
        ["sdn_near"],
    ),
    Blueprint("IN", "Active", "corporate owner", [("org:E2073", 70), ("clean", 30)], ["clean"]),
    Blueprint(
        "DE",
        "Active",
        "unaccounted shares, watchlist match",
        [("clean", 45), ("clean", 35)],
        ["watch_true"],
    ),
    Blueprint(
        "GB",
        "Dissolved",
        "watchlist matches",
        [("watch_true", 50), ("watch_true", 50)],
        ["watch_true"],
    ),
    Blueprint(
        "US",
        "Active",
        "SDN near-misses",
        [("clean", 40), ("sdn_near", 35), ("clean", 25)],
        ["sdn_near"],
        "NY",
    ),
    Blueprint(
        "IN",
        "Struck Off",
        "no owner at 25%",
        [("clean", 20), ("clean", 20), ("clean", 20), ("clean", 20), ("clean", 20)],
        ["clean"],
    ),
    Blueprint("SG", "Active", "layered ownership", [("derived:1", 100)], ["clean"]),
    Blueprint("CA", "Active", "SDN match", [("sdn_true", 100)], ["clean"]),
    Blueprint(
        "HK",
        "Active",
        "SDN match (officer)",
        [("clean", 50), ("clean", 25), ("clean", 25)],
        ["sdn_true"],
    ),
]

LEGAL_FORMS = {
    "SG": ("Private company limited by shares", "Pte. Ltd.", "UEN"),
    "DE": ("Gesellschaft mit beschränkter Haftung", "GmbH", "VAT"),
    "US": ("Limited liability company", "LLC", "EIN"),
    "IN": ("Private limited company", "Private Limited", "GSTIN"),
    "GB": ("Private limited company", "Ltd", "CRN"),
    "CA": ("Corporation", "Inc.", "BN"),
    "HK": ("Private company limited by shares", "Limited", "CR"),
}
NAME_WORDS = [
    "Trading",
    "Logistics",
    "Exports",
    "Consulting",
    "Supplies",
    "Ventures",
    "Imports",
    "Services",
]
FOREIGN_HOLDING_COUNTRY = "VG"


def registration_number(country: str, rng: random.Random, year: int) -> str:
    """A registration number in the country's format (digits and letters from rng)."""
    digits = "0123456789"
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"

    def d(n: int) -> str:
        return "".join(rng.choice(digits) for _ in range(n))

    if country == "SG":
        return f"{year}{d(5)}{rng.choice(letters)}"
    if country == "DE":
        return f"DE{rng.choice('123456789')}{d(8)}"
    if country == "US":
        return f"{rng.choice('1234689')}{d(1)}-{d(7)}"
    if country == "IN":
        pan = "".join(rng.choice(letters) for _ in range(5)) + d(4) + rng.choice(letters)
        return f"{rng.choice(['27', '29', '32', '33'])}{pan}1Z{rng.choice(letters + digits)}"
    if country == "GB":
        return f"{rng.choice('01')}{d(7)}"
    if country == "CA":
        return f"{rng.choice('12345678')}{d(8)}"
    if country == "HK":
        return f"{rng.choice('123')}{d(6)}"
    raise ValueError(country)


def slots_needed(kind: str) -> int:
    """How many owners and officers of that slot kind the blueprints ask for."""
    owners = sum(k == kind for b in BLUEPRINTS for k, _ in b.owners)
    return owners + sum(k == kind for b in BLUEPRINTS for k in b.officers)
