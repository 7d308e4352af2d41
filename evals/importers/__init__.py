"""Importing recorded runs, labels and preferences into the workspace.

Formats are registered by name in evals.registry (kind ``importer``; ``IMPORTERS`` is
the in-process part); `evals import FORMAT PATH` looks them up with
:func:`find_importer`, which also finds installed formats (entry-point group
``agent_evals.importer``) and 'package.module:function'.
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
    UnknownFormatError,
    find_importer,
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
    "UnknownFormatError",
    "find_importer",
    "outcome_label",
    "previous_import",
    "register_importer",
    "trace_from_messages",
    "write_batch",
]
