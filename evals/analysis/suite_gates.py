"""A suite's ``gates:`` key: the ship gates `evals run` applies to the run at its end.

Each entry is a gate file (relative to the suite file) or a mapping::

    gates:
      - ../gates/edd_demo.yaml                       # every model/prompt cell of the run
      - gate: ../gates/deprecation.yaml
        baseline: last-accepted                      # or none, or RUN[:MODEL[:PROMPT]]
        cells: [smol-greedy:v2]                      # only these MODEL:PROMPT cells

A gate judges one model/prompt cell (as `evals gate --run RUN:MODEL:PROMPT` does), so
each entry is evaluated on each cell it names (all cells by default) and each decision
is recorded. A gate with a non-inferiority margin needs ``baseline:``, as `evals gate`
needs ``--baseline``; a baseline naming a whole run (``RUN``) means the same cell of that
run. Everything is checked when the suite loads, before any trial runs: a bad entry or
gate file is one line ``suite:line: gates[i].field: problem`` and exit 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evals.analysis.gates import Gate, GateFileError, load_gate
from evals.run.suite import Suite, _fail
from evals.yamlfile import YamlDoc, YamlFileError, read_yaml


class SuiteGateEntry(BaseModel):
    """One entry of a suite's ``gates:`` list."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    gate: str
    """Gate YAML file, relative to the suite file."""
    baseline: str | None = None
    """'last-accepted', 'none', or RUN[:MODEL[:PROMPT]] (RUN alone: the same cell)."""
    cells: list[str] = Field(default_factory=list)
    """'MODEL:PROMPT' cells to gate; empty = every cell of the run."""


@dataclass
class SuiteGate:
    """A loaded entry: what it says and the gate it names."""

    entry: SuiteGateEntry
    gate: Gate
    cells: list[tuple[str, str]]
    """(model alias, prompt) cells to gate; empty = every cell of the run."""


def load_suite_gates(suite: Suite) -> list[SuiteGate]:
    """Load and check every gate a suite names; raises SuiteError (one line) on a problem."""
    raw = suite.config.gates
    if not raw:
        return []
    try:
        node = read_yaml(suite.path)  # the one YAML reader (bounded, aliases budgeted)
    except YamlFileError as exc:
        raise _fail(suite.path, exc.problem.line, None, exc.problem.message) from None
    if not isinstance(raw, list):
        raise _fail(suite.path, node.line(["gates"]), "gates", "expected a list of gates")
    return [_load_entry(suite, node, i, item) for i, item in enumerate(raw)]


def _load_entry(suite: Suite, node: YamlDoc, i: int, item: Any) -> SuiteGate:
    field = f"gates[{i}]"
    line = node.line(["gates", i])
    try:
        entry = SuiteGateEntry.model_validate({"gate": item} if isinstance(item, str) else item)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        where = node.line(["gates", i, *err["loc"]]) or line
        raise _fail(suite.path, where, f"{field}.{loc}" if loc else field, err["msg"]) from None
    path = suite.path.parent / entry.gate
    try:
        gate = load_gate(path)
    except GateFileError as exc:
        raise _fail(suite.path, line, f"{field}.gate", str(exc.problems[0])) from None
    if gate.spec.needs_baseline() and entry.baseline is None:
        raise _fail(
            suite.path,
            line,
            f"{field}.baseline",
            f"gate {gate.name} sets noninferiority_margin: give baseline: last-accepted, "
            "none, or a run",
        )
    return SuiteGate(entry, gate, _cells(suite, node, i, entry))


def _cells(
    suite: Suite, node: YamlDoc, i: int, entry: SuiteGateEntry
) -> list[tuple[str, str]]:
    aliases = {m.alias for m in suite.models}
    prompts = {p.name for p in suite.prompts}
    out = []
    for j, cell in enumerate(entry.cells):
        model, _, prompt = cell.partition(":")
        if model not in aliases or prompt not in prompts:
            raise _fail(
                suite.path,
                node.line(["gates", i, "cells", j]),
                f"gates[{i}].cells[{j}]",
                f"{cell!r} is not a MODEL:PROMPT cell of this suite (models: "
                f"{', '.join(sorted(aliases))}; prompts: {', '.join(sorted(prompts))})",
            )
        out.append((model, prompt))
    return out
