"""The tools the agent may call (dataset.yaml) and the five questions of the review
(questions.yaml), as written to the set."""

from __future__ import annotations

from typing import Any

TOOLS: list[dict[str, Any]] = [
    {
        "name": "registry_lookup",
        "description": (
            "Look up a business in the company registry by its registration number (UEN, "
            "EIN, VAT, GSTIN, CRN, BN or CR number, exactly as given). Returns the entity id "
            "used by the other tools, name, register, jurisdiction (country, US state), legal "
            "form, status, year of registration, recorded address and LEI."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "registration_number": {
                    "type": "string",
                    "description": "The registration number, e.g. '201012345A'.",
                }
            },
            "required": ["registration_number"],
            "additionalProperties": False,
        },
    },
    {
        "name": "get_ownership",
        "description": (
            "Recorded owners (natural persons and organisations, with their share and role) "
            "and officers of an organisation, by entity id. Call it again on an "
            "organisation owner's entity id to follow the chain. Organisations without "
            "records (nominees, foreign holdings) return ownership_recorded false."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "entity_id": {
                    "type": "string",
                    "description": "Entity id from registry_lookup or an owner.",
                }
            },
            "required": ["entity_id"],
            "additionalProperties": False,
        },
    },
    {
        "name": "screen_parties",
        "description": (
            "Batch screening of a business: the business itself, its owners and officers and "
            "the natural persons that own it through recorded chains, against the internal "
            "watchlist and the OFAC SDN list. Returns candidate hits per party. Watchlist "
            "hits say whether entity resolution puts the record in the party's own entity "
            "(same_entity_as_party); SDN hits are name matches whose identifiers (date of "
            "birth, nationality, addresses) must be compared with the party's."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "entity_id": {
                    "type": "string",
                    "description": "Entity id of the business to screen.",
                }
            },
            "required": ["entity_id"],
            "additionalProperties": False,
        },
    },
    {
        "name": "screen_name",
        "description": (
            "Screen a single name against the internal watchlist and the OFAC SDN list by "
            "name similarity only (no entity resolution, so records in another script are "
            "not found). Returns candidate hits with their identifiers."
        ),
        "parameters": {
            "type": "object",
            "properties": {"name": {"type": "string", "description": "Person or business name."}},
            "required": ["name"],
            "additionalProperties": False,
        },
    },
    {
        "name": "country_risk",
        "description": (
            "Country risk indicator (low, medium, high) with its basis: OFAC programmes "
            "concentrated on the country and the number of SDN entries with an address there."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "country": {
                    "type": "string",
                    "description": "ISO 3166-1 alpha-2 code (e.g. 'SG') or English country name.",
                }
            },
            "required": ["country"],
            "additionalProperties": False,
        },
    },
]

QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "q_registration",
        "title": "Registration status and jurisdiction",
        "text": (
            "What is the registration status and jurisdiction of this business? Give the "
            "register and registration number, the country (and US state) of "
            "registration, the legal form, the year of registration and the status."
        ),
        "rubric": (
            "States the registration number and its register (UEN, EIN, VAT, GSTIN, CRN, BN, "
            "CR), the country of registration (and the state for US businesses), the legal "
            "form, the year of registration and the status exactly as the registry records "
            "it. Does not confuse the business with its parent or with its business address; "
            "bases every statement on the registry lookup."
        ),
        "required_tools": ["registry_lookup"],
        "depends_on": [],
        "gate": {
            "min_helpful_lower_bound": 0.8,
            "min_judge_pass_rate": 0.9,
            "max_handling_time_ratio": 0.8,
        },
    },
    {
        "id": "q_ubo",
        "title": "Beneficial owners at or above 25%",
        "text": (
            "Who are the beneficial owners of this business holding 25% or more, "
            "directly or indirectly? Give each person's effective percentage and say "
            "which holdings could not be traced to a natural person."
        ),
        "rubric": (
            "Lists every natural person owning 25% or more, directly or through corporate "
            "owners (shares multiplied along the chain), with the effective percentage; "
            "follows corporate owners with further ownership lookups; names holdings that "
            "cannot be traced (nominees, holdings without records, unrecorded parent shares, "
            "unaccounted shares). Does not list organisations or persons below 25% as "
            "beneficial owners, and says plainly when no person reaches 25%."
        ),
        "required_tools": ["registry_lookup", "get_ownership"],
        "depends_on": ["q_registration"],
        "gate": {
            "min_helpful_lower_bound": 0.8,
            "min_judge_pass_rate": 0.85,
            "max_handling_time_ratio": 0.8,
        },
    },
    {
        "id": "q_screening",
        "title": "Watchlist and SDN screening of owners and officers",
        "text": (
            "Screen this business, its owners (including indirect owners) and its "
            "officers against the internal watchlist and the OFAC SDN list. Report each "
            "confirmed match and explain each hit you discount."
        ),
        "rubric": (
            "Screens every party. Reports each confirmed match with the list, the record "
            "(watchlist record id or SDN entry) and its category or programme. Explains each "
            "discounted hit with the evidence: a different resolved entity, or a date of "
            "birth or nationality that disagrees. Never reports a near-miss as a match and "
            "never reports a confirmed match as clear; a name in another script can still be "
            "a match through entity resolution."
        ),
        "required_tools": ["registry_lookup", "screen_parties"],
        "depends_on": ["q_registration", "q_ubo"],
        "gate": {
            "min_helpful_lower_bound": 0.85,
            "min_judge_pass_rate": 0.9,
            "max_handling_time_ratio": 0.8,
        },
    },
    {
        "id": "q_jurisdiction_risk",
        "title": "Jurisdiction and address risk",
        "text": (
            "What is the jurisdiction and address risk of this business? Rate the country "
            "of registration and the country of its recorded address as low, medium or "
            "high, say whether the address is outside the jurisdiction, and give an "
            "overall rating."
        ),
        "rubric": (
            "Names the country of registration and the country of the recorded address with "
            "the risk level of each from the country-risk tool and its basis; flags an "
            "address outside the jurisdiction of registration (which makes the overall "
            "rating at least medium); the overall rating is the highest of these. Does not "
            "invent risk levels."
        ),
        "required_tools": ["registry_lookup", "country_risk"],
        "depends_on": ["q_registration"],
        "gate": {
            "min_helpful_lower_bound": 0.8,
            "min_judge_pass_rate": 0.85,
            "max_handling_time_ratio": 0.85,
        },
    },
    {
        "id": "q_transparency",
        "title": "Ownership transparency",
        "text": (
            "Is the ownership of this business transparent? Say whether every ownership "
            "chain ends in an identified natural person, name any nominee, untraceable "
            "or unaccounted holding, and classify the structure as fully transparent, "
            "partially transparent or opaque."
        ),
        "rubric": (
            "Follows every ownership chain to its end. Fully transparent: every chain ends in "
            "an identified natural person and recorded shares add up to 100% at every level. "
            "Partially transparent: chains end in persons but a share is unrecorded or part of "
            "the shares is unaccounted for. Opaque: a chain ends in a nominee or an "
            "organisation without ownership records. Names each problem holding with its "
            "percentage."
        ),
        "required_tools": ["registry_lookup", "get_ownership"],
        "depends_on": ["q_ubo"],
        "gate": {
            "min_helpful_lower_bound": 0.8,
            "min_judge_pass_rate": 0.85,
            "max_handling_time_ratio": 0.85,
        },
    },
]
