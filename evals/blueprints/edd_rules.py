"""Deterministic EDD rules: what to look up next, and the answer composed from what was seen.

Both EDD blueprints use these rules: ``edd_template`` answers with :func:`compose` alone;
``edd_rails`` gives a small LLM the :func:`fact_lines` of the question. Everything here
reads only the tool observations of one case (:class:`EddWorld`), never the case's
reference, key facts or anything else an agent cannot see in production. The rules
mirror a careful analyst (and the reference-writing logic of datasets/edd_demo/build.py,
whose sentence shapes the answers follow): effective shares multiply along ownership
chains; natural persons at 25% or more are beneficial owners; nominees and organisations
without ownership records cannot be traced; watchlist hits are confirmed by entity
resolution, SDN hits by date of birth and nationality; the overall jurisdiction risk is
the highest of its parts, at least medium when the address is abroad. See docs/edd_rules.md.
"""

from __future__ import annotations

from typing import Any

from evals.blueprints.edd_ownership import find_ubo, transparency_text, ubo_facts, ubo_sentences
from evals.blueprints.edd_screening import screen_hits, screening_facts, screening_text
from evals.blueprints.edd_world import (
    LEVELS,
    TOOLS_FOR,
    EddWorld,
    countries_to_fetch,
    country_label,
    ownership_to_fetch,
    shorten,
    txt,
)


def _risk_words(obs: dict[str, Any] | None) -> str:
    if obs is None:
        return "risk not looked up"
    return f"{txt(obs, 'risk')} risk ({txt(obs, 'basis')})"


def _jurisdiction(world: EddWorld) -> tuple[str, bool]:
    """(overall risk, address outside the jurisdiction of registration)."""
    reg = world.registry or {}
    country = (reg.get("jurisdiction") or {}).get("country")
    addr = (reg.get("address") or {}).get("country")
    risks = [
        str(world.country_risk[c].get("risk")) for c in (country, addr) if c in world.country_risk
    ]
    outside = bool(addr and addr != country)
    if outside:
        risks.append("medium")
    known = [r for r in risks if r in LEVELS]
    return (max(known, key=LEVELS.index) if known else "unknown"), outside


# --------------------------------------------------------------------------- answers


def _registration(world: EddWorld, facts: bool) -> list[str]:
    r = world.registry
    if r is None:
        return ["No registry record was found for the registration number given."]
    j = r.get("jurisdiction") or {}
    where = f"{txt(j, 'country_name')}" + (f" ({j['state']})" if j.get("state") else "")
    if facts:
        state = f", US state {j['state']}" if j.get("state") else ""
        lines = [
            f"Business: {txt(r, 'name')}",
            f"Registration number: {txt(r, 'registration_number')} ({txt(r, 'register')})",
            f"Country of registration: {txt(j, 'country_name')} ({txt(j, 'country')}){state}",
            f"Legal form: {txt(r, 'legal_form')}",
            f"Year of registration: {txt(r, 'registered_year')}",
            f"Status: {txt(r, 'status')}",
        ]
        return lines + ([f"Trading name: {r['trading_name']}"] if r.get("trading_name") else [])
    out = [
        f"{txt(r, 'name')} is registered in {where} under {txt(r, 'register')} "
        f"{txt(r, 'registration_number')}; legal form {txt(r, 'legal_form')}; registered in "
        f"{txt(r, 'registered_year')}; status: {txt(r, 'status')}."
    ]
    return out + ([f"Trading name: {r['trading_name']}."] if r.get("trading_name") else [])


def _jurisdiction_text(world: EddWorld) -> list[str]:
    r = world.registry
    if r is None:
        return ["No registry record was found, so the jurisdiction is unknown."]
    code = (r.get("jurisdiction") or {}).get("country")
    addr = r.get("address") or {}
    acode = addr.get("country")
    reg, arisk = world.country_risk.get(code or ""), world.country_risk.get(acode or "")
    overall, outside = _jurisdiction(world)
    out = [f"Registered in {country_label(code, world)} ({code}): risk not looked up."]
    if reg is not None:
        out[0] = (
            f"Registered in {country_label(code, world)} ({code}): {txt(reg, 'risk')} risk "
            f"({txt(reg, 'basis')}; {txt(reg, 'sdn_entries_with_address')} SDN entries list an "
            "address there)."
        )
    if not acode:
        out.append("No address is recorded.")
    elif not outside:
        out.append(f"The recorded address ({txt(addr, 'text')}) is in the same country.")
    else:
        kind = f"{str(addr.get('type')).lower()} " if addr.get("type") else ""
        out.append(
            f"The recorded {kind}address ({txt(addr, 'text')}) is in "
            f"{country_label(acode, world)} ({acode}), outside the jurisdiction of "
            f"registration: {_risk_words(arisk)}."
        )
    return [*out, f"Overall jurisdiction and address risk: {overall}."]


def _jurisdiction_facts(world: EddWorld) -> list[str]:
    r = world.registry
    if r is None:
        return ["No registry record was found: jurisdiction unknown"]
    code = (r.get("jurisdiction") or {}).get("country")
    addr = r.get("address") or {}
    acode = addr.get("country")
    overall, outside = _jurisdiction(world)
    lines = [f"Country of registration: {country_label(code, world)} ({code})"]
    lines += _risk_facts(code, world)
    if not acode:
        lines.append("Recorded address: none recorded")
    else:
        lines.append(f"Recorded address: {txt(addr, 'text')}")
        where = "outside the jurisdiction of registration" if outside else "the same country"
        lines.append(f"Address country: {country_label(acode, world)} ({acode}), {where}")
        lines += _risk_facts(acode, world) if outside else []
    why = "the highest of these" + (", at least medium as the address is abroad" if outside else "")
    return [*lines, f"Overall jurisdiction and address risk: {overall} ({why})"]


def _risk_facts(code: str | None, world: EddWorld) -> list[str]:
    obs = world.country_risk.get(code or "")
    name = country_label(code, world)
    if obs is None:
        return [f"Risk of {name}: not looked up"]
    return [
        f"Risk of {name}: {txt(obs, 'risk')}",
        f"Basis for {name}: {txt(obs, 'basis')}",
    ]


def fact_lines(question_id: str, world: EddWorld) -> list[str]:
    """The compact facts a small model needs to answer this question, one short line each,
    with every decision (confirmed or discounted, effective shares, risk levels,
    transparency label) already made by the rules. Show them as a '- ' list (copied as
    such they pass the deterministic checks)."""
    if question_id == "q_registration":
        return [shorten(x) for x in _registration(world, True)]
    if question_id == "q_ubo":
        u = find_ubo(world)
        return [shorten(x) for x in ubo_facts(u, world)] if u else ["Ownership was not looked up"]
    if question_id == "q_screening":
        return (
            screening_facts(screen_hits(world)) if world.screening else ["Screening not performed"]
        )
    if question_id == "q_jurisdiction_risk":
        return [shorten(x) for x in _jurisdiction_facts(world)]
    if question_id == "q_transparency":
        return [shorten(x) for x in transparency_text(world, True)]
    raise ValueError(f"unknown EDD question id {question_id!r}")


def compose(question_id: str, world: EddWorld) -> str:
    """The template answer to the question, composed by rules from the observations alone."""
    if question_id == "q_registration":
        parts = _registration(world, False)
    elif question_id == "q_ubo":
        u = find_ubo(world)
        parts = ubo_sentences(u, world) if u else ["Ownership was not looked up."]
    elif question_id == "q_screening":
        parts = screening_text(world)
    elif question_id == "q_jurisdiction_risk":
        parts = _jurisdiction_text(world)
    elif question_id == "q_transparency":
        parts = transparency_text(world, False)
    else:
        raise ValueError(f"unknown EDD question id {question_id!r}")
    return " ".join(parts)


__all__ = [
    "TOOLS_FOR",
    "EddWorld",
    "compose",
    "countries_to_fetch",
    "fact_lines",
    "ownership_to_fetch",
]
