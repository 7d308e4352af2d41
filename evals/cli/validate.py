"""`evals validate` (a golden set) and `evals schema` (the JSON Schemas of every stored
kind and of the files people write)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from evals.cli.common import console
from evals.tables import print_table


def validate(
    path: Annotated[Path, typer.Argument(help="Golden-set folder, e.g. datasets/edd_demo.")],
) -> None:
    """Validate a golden set: every problem with file, line and field; exit 2 if any."""
    from collections import Counter

    from evals.dataset.golden import load_golden_set

    gs = load_golden_set(path)
    jurisdictions = Counter(c.tags.get("jurisdiction", "?") for c in gs.cases)
    table = Table(title=f"{gs.name}  (hash {gs.content_hash})")
    for col in ("question", "title", "cases"):
        table.add_column(col)
    per_q = Counter(c.question_id for c in gs.cases)
    for q in gs.questions.values():
        table.add_row(q.id, q.title, str(per_q[q.id]))
    print_table(console, table)
    console.print(
        f"{len(gs.questions)} questions × {len(gs.cases)} cases × {len(jurisdictions)} "
        f"jurisdictions ({', '.join(sorted(jurisdictions))}); "
        f"{sum(len(c.fixtures) for c in gs.cases)} recorded tool observations; valid."
    )


def schema(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the JSON Schemas.")] = Path(
        "schemas"
    ),
) -> None:
    """Write the JSON Schema of every stored kind (trial, verdict, label, run_link,
    calibration, queue, ...), of the golden set's models (case, question, dataset), and of
    the files people write (suite, gate, judges: for editor completion, docs/extending.md)."""
    from evals.file_schemas import FILE_SCHEMAS
    from evals.store.query import stored_models

    out.mkdir(parents=True, exist_ok=True)
    schemas = {name: model.model_json_schema() for name, model in stored_models().items()}
    schemas.update({name: build() for name, build in FILE_SCHEMAS.items()})
    for name, body in schemas.items():
        path = out / f"{name}.schema.json"
        path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
        console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add `evals validate` and `evals schema`."""
    app.command()(validate)
    app.command()(schema)
