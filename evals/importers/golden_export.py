"""An imported run's cases as a golden-set folder, so everything that reads golden sets
(`evals judge`, review queues in the labeling app) works on imported runs unchanged.

The folder is ``<workspace>/imports/datasets/<dataset>-<hash8>/`` (dataset.yaml,
questions.yaml, cases.jsonl; no fixtures: an imported run's tools were answered where it
ran). Its absolute path is in the run manifest's ``config.dataset`` and
``config.dataset_path``. It is written before the run manifest, into a temporary folder
renamed into place, and never rewritten: the same cases give the same folder. The
``imported_case`` records in the store hold the same cases (the folder can be rebuilt
from them).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import orjson
import yaml

from evals.importers.common import ImportBatch, slug
from evals.schema import Case, DatasetManifest, Question, ToolSpec, Trial


@dataclass
class GoldenExport:
    """A golden set to write for an imported run."""

    path: Path
    manifest: DatasetManifest
    questions: list[Question]
    cases: list[Case]

    def write(self) -> Path:
        """Write the folder (write_golden); a method, so writers of import batches need
        not import this module (it imports theirs)."""
        return write_golden(self)


def golden_dir(workspace_root: Path, dataset: str, dataset_hash: str) -> Path:
    """Where an imported dataset's golden-set folder lives."""
    return (
        workspace_root / "imports" / "datasets" / f"{slug(dataset)}-{dataset_hash[:8]}"
    ).resolve()


def golden_export(
    workspace_root: Path,
    dataset: str,
    dataset_hash: str,
    source: str,
    questions: list[Question],
    cases: list[Case],
    trials: list[Trial],
) -> GoldenExport:
    """The export of an imported run's cases; its tools are those the agent called or the
    cases require (described as recorded, since the source rarely defines them)."""
    names = sorted(
        {s.tool for t in trials for s in t.trace.tool_calls()}
        | {tool for c in cases for tool in c.required_tools}
    )
    manifest = DatasetManifest(
        name=dataset,
        description=f"Cases imported from {source}",
        version=dataset_hash[:8],
        license="as the source's",
        tools=[
            ToolSpec(name=n, description="recorded tool (called where the run was recorded)")
            for n in names
        ],
    )
    return GoldenExport(
        golden_dir(workspace_root, dataset, dataset_hash), manifest, questions, cases
    )


def write_golden(export: GoldenExport) -> Path:
    """Write the folder unless it already exists (tmp folder + rename: never half-written)."""
    if export.path.is_dir():
        return export.path
    export.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=export.path.parent))
    try:
        (tmp / "dataset.yaml").write_text(
            yaml.safe_dump(
                export.manifest.model_dump(mode="json"), sort_keys=False, allow_unicode=True
            )
        )
        (tmp / "questions.yaml").write_text(
            yaml.safe_dump(
                [q.model_dump(mode="json") for q in export.questions],
                sort_keys=False,
                allow_unicode=True,
            )
        )
        (tmp / "cases.jsonl").write_bytes(
            b"".join(orjson.dumps(c.model_dump(mode="json")) + b"\n" for c in export.cases)
        )
        os.replace(tmp, export.path)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not export.path.is_dir():  # not a lost race with another importer
            raise
    return export.path


def attach_golden(
    batch: ImportBatch, workspace_root: Path, questions: list[Question]
) -> dict[str, str]:
    """Give a run batch its golden-set export (from its cases); returns the manifest
    config entries that point at the folder."""
    first = batch.cases[0]
    export = golden_export(
        workspace_root,
        first.dataset,
        first.dataset_hash,
        batch.source.name,
        questions,
        [c.case for c in batch.cases],
        batch.trials,
    )
    batch.golden = export
    return {"dataset": str(export.path), "dataset_path": str(export.path)}
