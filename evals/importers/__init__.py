"""Importing recorded runs, labels and preferences into the workspace.

Formats are registered by name (``IMPORTERS``); `evals import FORMAT PATH` looks them up.
Every importer parses the whole file first and raises :class:`ImportFormatError` naming
each bad record; only a file that parsed completely is written (:func:`write_batch`).
"""

# Importing the format modules registers them.
from evals.importers.common import (
    IMPORTERS,
    ImportBatch,
    ImportedCase,
    ImporterInfo,
    ImportFormatError,
    ImportOptions,
    ImportProblem,
    ImportRecord,
    previous_import,
    register_importer,
    write_batch,
)
from evals.importers.formats import jsonl, labels, pairwise, tau2_bench, tau_bench  # noqa: F401
from evals.importers.formats.messages import trace_from_messages
from evals.importers.trials import (
    OUTCOME_JUDGE,
    OUTCOME_JUDGE_VERSION,
    PASS_EPSILON,
    outcome_label,
)

__all__ = [
    "IMPORTERS",
    "OUTCOME_JUDGE",
    "OUTCOME_JUDGE_VERSION",
    "PASS_EPSILON",
    "ImportBatch",
    "ImportFormatError",
    "ImportOptions",
    "ImportProblem",
    "ImportRecord",
    "ImportedCase",
    "ImporterInfo",
    "outcome_label",
    "previous_import",
    "register_importer",
    "trace_from_messages",
    "write_batch",
]
