"""agent-evals: replay agents on a golden set, judge them cheapest first, put the
survivors before people, and decide what ships, with every step auditable.

The public API, by stage (the packages hold the rest; docs/architecture.md maps them):

* the data model, ``evals.schema``: `Case`, `Question`, `Trial`, `Trace`, `Verdict`,
  `Label`, `Decision`, `ModelSpec`, `PromptVersion`;
* golden sets, ``evals.dataset``: `load_golden_set`, `GoldenSet`;
* the store, ``evals.store.workspace``: `Workspace`, `query`;
* agents and blueprints, ``evals.agents`` / ``evals.blueprints``: `Agent`, `agent`,
  `AgentContext`, `blueprint`, `BlueprintRun`;
* replay, ``evals.run``: `load_suite`, `Suite`, `run_suite`, `RunOptions`;
* decisions, ``evals.analysis``: `load_run`, `compare_runs`, `load_gate`,
  `evaluate_gate`;
* statistics, ``evals.stats``; the model gateway, ``evals.models``; importers,
  ``evals.importers``; judges live in the top-level ``judges`` package, the review app in
  ``labeling_app``, reports in ``reports``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from evals.lazy import lazy_exports

if TYPE_CHECKING:
    from evals.agents.base import Agent, AgentContext, agent
    from evals.analysis.compare import compare_runs
    from evals.analysis.gates import evaluate_gate, load_gate
    from evals.analysis.rundata import load_run
    from evals.blueprints.core import BlueprintRun, blueprint
    from evals.dataset.golden import GoldenSet, load_golden_set
    from evals.run.runner import RunOptions, run_suite
    from evals.run.suite import Suite, load_suite
    from evals.schema import (
        Case,
        Decision,
        Label,
        ModelSpec,
        PromptVersion,
        Question,
        Trace,
        Trial,
        Verdict,
    )
    from evals.store.query import query
    from evals.store.workspace import Workspace

try:
    __version__ = version("agent-evals")
except PackageNotFoundError:  # a source checkout that was never installed
    __version__ = "0.0.0+unknown"

# Names resolve lazily (evals.lazy): importing the package runs none of its modules.
_EXPORTS: dict[str, str] = {
    "Agent": "evals.agents.base",
    "AgentContext": "evals.agents.base",
    "agent": "evals.agents.base",
    "compare_runs": "evals.analysis.compare",
    "evaluate_gate": "evals.analysis.gates",
    "load_gate": "evals.analysis.gates",
    "load_run": "evals.analysis.rundata",
    "BlueprintRun": "evals.blueprints.core",
    "blueprint": "evals.blueprints.core",
    "GoldenSet": "evals.dataset.golden",
    "load_golden_set": "evals.dataset.golden",
    "RunOptions": "evals.run.runner",
    "run_suite": "evals.run.runner",
    "Suite": "evals.run.suite",
    "load_suite": "evals.run.suite",
    "Case": "evals.schema",
    "Decision": "evals.schema",
    "Label": "evals.schema",
    "ModelSpec": "evals.schema",
    "PromptVersion": "evals.schema",
    "Question": "evals.schema",
    "Trace": "evals.schema",
    "Trial": "evals.schema",
    "Verdict": "evals.schema",
    "query": "evals.store.query",
    "Workspace": "evals.store.workspace",
}

__all__ = [
    "Agent",
    "AgentContext",
    "BlueprintRun",
    "Case",
    "Decision",
    "GoldenSet",
    "Label",
    "ModelSpec",
    "PromptVersion",
    "Question",
    "RunOptions",
    "Suite",
    "Trace",
    "Trial",
    "Verdict",
    "Workspace",
    "__version__",
    "agent",
    "blueprint",
    "compare_runs",
    "evaluate_gate",
    "load_gate",
    "load_golden_set",
    "load_run",
    "load_suite",
    "query",
    "run_suite",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
