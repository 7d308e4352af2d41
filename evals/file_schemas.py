"""JSON Schemas of the files people write: suites, gates and judges lists.

`evals schema` writes them next to the record schemas (``suite.schema.json``,
``gate.schema.json``, ``judges.schema.json``) so an editor completes and checks these
files as they are typed: a YAML file whose first line is
``# yaml-language-server: $schema=schemas/suite.schema.json`` gets field names, their
descriptions, the names of the agents and judges there are (built-in, registered,
installed) and each built-in judge's params (docs/extending.md).

The schemas are generated from the same pydantic models the loaders validate with, so
they cannot drift from them; what only the loaders check (files that exist, secrets,
providers, a judge's build) is left to `evals validate`. A string field may hold a
``${VAR}`` reference (expanded when the suite loads), so strings are not constrained
further than the models constrain them.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from evals import registry
from evals.analysis.gates import GateSpec
from evals.analysis.suite_gates import SuiteGateEntry
from evals.run.suite import SuiteConfig
from judges.base import BaseJudge
from judges.config import JudgeSpec, StageSpec

DRAFT = "https://json-schema.org/draft/2020-12/schema"
REF = "#/$defs/{model}"


def _model(model: type[BaseModel], defs: dict[str, Any]) -> dict[str, Any]:
    """A model's schema with its definitions moved into the shared `defs`."""
    schema = model.model_json_schema(ref_template=REF)
    defs.update(schema.pop("$defs", {}))
    return schema


def _name_choice(kinds: list[registry.Kind], what: str) -> dict[str, Any]:
    """A registered name (completed by editors) or a 'package.module:attr' path."""
    known = sorted({n for kind in kinds for n in registry.names(kind)})
    return {
        "anyOf": [
            {"enum": known, "description": f"A registered or installed {what}."},
            {
                "type": "string",
                "pattern": r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$",
                "description": f"Your own {what} as 'package.module:attr'.",
            },
        ]
    }


def _judge_params(defs: dict[str, Any]) -> list[dict[str, Any]]:
    """if judge == NAME then params follow that judge's fields (class-based judges)."""
    rules = []
    for name in registry.names("judge"):
        try:
            target = registry.lookup("judge", name)
        except registry.RegistryError:
            continue  # a broken plugin: `evals validate` names it
        if isinstance(target, type) and issubclass(target, BaseJudge):
            params = _model(target, defs)
            rules.append(
                {
                    "if": {"properties": {"judge": {"const": name}}, "required": ["judge"]},
                    "then": {"properties": {"params": params}},
                }
            )
    return rules


def _judges_list(defs: dict[str, Any]) -> dict[str, Any]:
    """The ``judges:`` list: single judges (a stage each) and named stages."""
    stage = _model(StageSpec, defs)  # first: its $defs hold the plain JudgeSpec
    judge = _model(JudgeSpec, defs)
    judge["properties"]["judge"] = {
        **_name_choice(["judge"], "judge"),
        "description": judge["properties"]["judge"].get("description", ""),
    }
    rules = _judge_params(defs)
    if rules:
        judge["allOf"] = rules
    defs["JudgeSpec"] = judge
    stage["properties"]["judges"]["items"] = {"$ref": REF.format(model="JudgeSpec")}
    defs["StageSpec"] = stage
    # A judge on its own is a stage of its own, and may be a shadow stage.
    alone = copy.deepcopy(judge)
    alone["properties"]["shadow"] = {
        "type": "boolean",
        "default": False,
        "description": "Also judge trials an earlier stage failed (recorded, changes nothing).",
    }
    defs["JudgeStage"] = alone
    return {
        "type": "array",
        "minItems": 1,
        "items": {
            "anyOf": [
                {"$ref": REF.format(model="StageSpec")},
                {"$ref": REF.format(model="JudgeStage")},
            ]
        },
        "description": "The judge cascade, cheapest first: a judge, or a named stage of them.",
    }


def judges_schema() -> dict[str, Any]:
    """A judges file (`evals judge RUN --judges FILE`): the list, or {judges: list}."""
    defs: dict[str, Any] = {}
    items = _judges_list(defs)
    return {
        "$schema": DRAFT,
        "title": "agent-evals judges file",
        "anyOf": [
            items,
            {
                "type": "object",
                "properties": {"judges": items},
                "required": ["judges"],
            },
        ],
        "$defs": defs,
    }


def suite_schema() -> dict[str, Any]:
    """A suite file (`evals run SUITE`)."""
    defs: dict[str, Any] = {}
    schema = _model(SuiteConfig, defs)
    props = schema["properties"]
    # A suite may have no judges (`judges: []`); a judges file holds at least one.
    props["judges"] = {k: v for k, v in _judges_list(defs).items() if k != "minItems"}
    props["gates"] = {
        "type": "array",
        "items": _model(SuiteGateEntry, defs),
        "description": props["gates"].get("description", ""),
    }
    agent = defs["AgentSpec"]
    agent["properties"]["name"] = {
        **_name_choice(["agent", "blueprint"], "agent or blueprint"),
        "description": agent["properties"]["name"].get("description", ""),
    }
    # `agent: react` is short for `agent: {name: react}` (SuiteConfig's validator).
    props["agent"] = {
        "anyOf": [agent["properties"]["name"], {"$ref": REF.format(model="AgentSpec")}],
        "description": props["agent"].get("description", ""),
    }
    return {"$schema": DRAFT, "title": "agent-evals suite", **schema, "$defs": defs}


def gate_schema() -> dict[str, Any]:
    """A gate file (`evals gate GATE`)."""
    defs: dict[str, Any] = {}
    schema = _model(GateSpec, defs)
    return {"$schema": DRAFT, "title": "agent-evals gate", **schema, "$defs": defs}


FILE_SCHEMAS = {"suite": suite_schema, "gate": gate_schema, "judges": judges_schema}
"""Schemas of the files people write, by name (`evals schema` writes NAME.schema.json)."""
