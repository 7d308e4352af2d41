"""The EDD golden set's blueprints: ``edd_rails`` and its floor, ``edd_template``.

Both run the same deterministic lookups, chosen by the question (evals.blueprints.
edd_rules.TOOLS_FOR): the registry record from the subject's registration number, the
ownership chain entity by entity, the screening of the parties, the country risk of the
registration and address countries. Then:

- ``edd_template`` composes the answer by rules from those observations alone (never
  from the case's reference, key facts or anything an agent cannot see in production):
  the floor any model must beat;
- ``edd_rails`` cuts the observations to the few facts the question needs (a parse
  node), and one bounded LLM call writes the answer from those facts and, in a review
  run, the upstream answers. The prompt version is its system prompt (the
  instructions a team iterates on: prompts/edd/rails_v1.md, rails_v2.md).

Why this split: a 135M model cannot follow an ownership chain through five tool calls,
but it can write two sentences from ten lines of facts; the rails are what make a small
model useful at all, and the template shows how much of that is the rails alone.
"""

from __future__ import annotations

from typing import Any

from evals.blueprints.core import BlueprintRun, blueprint
from evals.blueprints.edd_rules import (
    TOOLS_FOR,
    EddWorld,
    compose,
    countries_to_fetch,
    fact_lines,
    ownership_to_fetch,
)

MAX_OWNERSHIP_LOOKUPS = 12
"""Bound on get_ownership calls per case (a cyclic or endless chain stops here)."""

async def gather_world(run: BlueprintRun) -> EddWorld:
    """The lookups the case's question needs, each a recorded lookup node."""
    world = EddWorld()
    tools = TOOLS_FOR.get(run.case.question_id, ("registry_lookup",))
    number = str(run.subject.get("registration_number", ""))
    registry = await run.lookup(
        "registry", "registry_lookup", {"registration_number": number}
    )
    world.registry = registry if isinstance(registry, dict) else None
    entity_id = (world.registry or {}).get("entity_id")
    if "get_ownership" in tools:
        for _ in range(MAX_OWNERSHIP_LOOKUPS):
            todo = [e for e in ownership_to_fetch(world) if e not in world.ownership]
            if not todo:
                break
            observed = await run.lookup(
                f"ownership:{todo[0]}", "get_ownership", {"entity_id": todo[0]}
            )
            world.ownership[todo[0]] = observed if isinstance(observed, dict) else {}
    if "screen_parties" in tools and entity_id:
        screening = await run.lookup("screening", "screen_parties", {"entity_id": entity_id})
        world.screening = screening if isinstance(screening, dict) else None
    if "country_risk" in tools:
        for _ in range(4):
            todo = [c for c in countries_to_fetch(world) if c not in world.country_risk]
            if not todo:
                break
            risk = await run.lookup(f"country_risk:{todo[0]}", "country_risk", {"country": todo[0]})
            world.country_risk[todo[0]] = risk if isinstance(risk, dict) else {}
    return world


def _world_inputs(run: BlueprintRun, world: EddWorld) -> dict[str, Any]:
    """What a rule node shows as its inputs: the question and which observations."""
    return {
        "question_id": run.case.question_id,
        "observations": {
            "registry": world.registry is not None,
            "ownership": sorted(world.ownership),
            "screening": world.screening is not None,
            "country_risk": sorted(world.country_risk),
        },
    }


@blueprint("edd_template")
async def edd_template(run: BlueprintRun) -> str:
    """Deterministic baseline: the lookups, then the answer composed by rules."""
    world = await gather_world(run)
    return run.rule(
        "compose", compose, run.case.question_id, world, inputs=_world_inputs(run, world)
    )


@blueprint("edd_rails")
async def edd_rails(run: BlueprintRun) -> str:
    """Rails for a small model: the lookups, the facts the question needs, one bounded
    LLM call that writes the answer from those facts (params: max_tokens,
    max_fact_lines, upstream_max_chars)."""
    world = await gather_world(run)
    facts = run.rule(
        "facts",
        fact_lines,
        run.case.question_id,
        world,
        kind="parse",
        inputs=_world_inputs(run, world),
    )
    facts = facts[: int(run.params.get("max_fact_lines", 12))]
    messages = [
        {"role": "system", "content": run.prompt.text.rstrip()},
        {"role": "user", "content": _rails_prompt(run, facts)},
    ]
    return await run.llm(
        "write_answer",
        messages,
        inputs={"facts": facts, "upstream": [u.question_id for u in run.upstream]},
        max_tokens=int(run.params.get("max_tokens", 120)),
    )


def _rails_prompt(run: BlueprintRun, facts: list[str]) -> str:
    """The user message: upstream answers first (context), then the question and the
    facts, last: a small model follows what it read most recently, so the facts of
    this question come right before the answer, not an earlier node's answer."""
    limit = int(run.params.get("upstream_max_chars", 300))
    lines: list[str] = []
    if run.upstream:
        lines += ["Earlier answers in this review (context only):"]
        for up in run.upstream:
            answer = up.answer or "(no answer)"
            lines.append(f"- {up.title}: {answer[:limit]}")
        lines.append("")
    lines += [f"Question: {run.case.input.question}", "", "Facts from the records:"]
    lines += [f"- {fact}" for fact in facts] or ["- (no record found)"]
    lines += ["", "Answer, using the facts above:"]
    return "\n".join(lines)
