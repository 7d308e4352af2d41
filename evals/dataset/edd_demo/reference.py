"""The real subjects: the organisations of the Senzing KYB reference set, with their owners
("Owns N%"), officers and global parents."""

from __future__ import annotations

import re
from fractions import Fraction

from evals.dataset.edd_demo.countries import US_STATES, country_name, iso_of
from evals.dataset.edd_demo.records import record_address
from evals.dataset.edd_demo.sources import val
from evals.dataset.edd_demo.world import Holding, Org, World


def _reference_org(world: World, row: dict[str, str]) -> Org:
    """The organisation of a reference.csv ORGANIZATION record (its records marked used)."""
    key = ("REFERENCE", row["RECORD_ID"])
    world.use_record(key)
    cluster = world.cluster_of[key]
    reg_no = val(row.get("NATIONAL_ID_NUMBER")) or val(row.get("TAX_ID_NUMBER"))
    reg_type = val(row.get("NATIONAL_ID_TYPE")) or val(row.get("TAX_ID_TYPE"))
    country = iso_of(row.get("NATIONAL_ID_COUNTRY")) or iso_of(row.get("TAX_ID_COUNTRY"))
    addr, addr_country = record_address(row)
    if addr and addr_country is None:
        addr_country = country
        addr = f"{addr}, {country_name(country)}" if country else addr
    state = val(row.get("ADDR_STATE")) if country == "US" else None
    if country == "US" and not state and addr:
        m = re.search(r"\b([A-Z]{2})\s+\d{5}", addr)
        state = m[1] if m and m[1] in US_STATES else None
    return Org(
        entity_id=f"E{cluster}",
        name=row["PRIMARY_NAME_ORG"].strip(),
        trading_name=val(row.get("SECONDARY_NAME_ORG")),
        reg_no=reg_no,
        reg_type=reg_type,
        country=country,
        state=state,
        legal_form=val(row.get("CATEGORY")),
        status=val(row.get("STATUS")),
        year=val(row.get("DATE")),
        address=addr,
        address_type=val(row.get("ADDR_TYPE")),
        address_country=addr_country,
        lei=val(row.get("LEI_NUMBER")),
        records=[f"REFERENCE/{row['RECORD_ID']}"],
        cluster=cluster,
    )


def _link(world: World, row: dict[str, str], target: Org, org_of_record: dict[str, Org]) -> None:
    """Record what a pointing record is to the organisation it points at: its parent (for
    an organisation), an owner with a share or an officer (for a person)."""
    role = row["REL_POINTER_ROLE"].strip()
    key = ("REFERENCE", row["RECORD_ID"])
    if row["RECORD_TYPE"] == "ORGANIZATION":
        target_owner = org_of_record[row["RECORD_ID"]]
        # The pointer names the record's parent: the parent owns the record's org.
        target_owner.owners.append(Holding(target, None, role))
        return
    person = world.person(world.cluster_of[key])
    m = re.fullmatch(r"Owns (\d+)%", role)
    if m:
        target.owners.append(Holding(person, Fraction(int(m[1]), 100), "Owner"))
    else:
        category = val(row.get("CATEGORY")) or role
        label = category if category == role else f"{category} ({role})"
        target.officers.append((person, label))


def add_reference_orgs(world: World) -> None:
    """Add the reference organisations as subjects, with their holdings and officers;
    every reference.csv row is kept in the copy."""
    ref = world.src.reference
    ref.used.update(range(len(ref.rows)))
    anchors: dict[str, str] = {}
    for row in ref.rows:
        if row["RECORD_TYPE"] == "ORGANIZATION" and val(row.get("REL_ANCHOR_KEY")):
            anchors[row["REL_ANCHOR_KEY"]] = row["RECORD_ID"]
    org_of_record: dict[str, Org] = {}
    for row in ref.rows:
        if row["RECORD_TYPE"] != "ORGANIZATION":
            continue
        org = _reference_org(world, row)
        world.orgs[org.entity_id] = org
        org_of_record[row["RECORD_ID"]] = org
        world.subjects.append(org)
    for row in ref.rows:
        pointer = val(row.get("REL_POINTER_KEY"))
        if pointer:
            _link(world, row, org_of_record[anchors[pointer]], org_of_record)
