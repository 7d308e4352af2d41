"""A review run for tests and examples of whole reviews, with no model.

The ``edd_template`` blueprint answers the demo golden set's review nodes by rules
from the recorded tool data (docs/rails.md), so a `review: true` suite over
datasets/edd_demo runs in seconds without any LLM; its model entry is never called.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from evals.runner import RunOptions, run_suite
from evals.store import Workspace
from evals.suite import load_suite

DEMO_SET = Path(__file__).resolve().parents[1] / "datasets" / "edd_demo"

SUITE = """\
name: tmpl
dataset: {dataset}
agent: edd_template
models:
  - {{alias: none, model: openai/none, params: {{api_base: 'http://127.0.0.1:9/v1'}}}}
prompts: {prompts}
review: true
review_modes: [free]
limit: {limit}
limits: {{lanes: 2}}
"""


def write_review_run(root: Path, limit: int = 3, prompts: int = 1) -> tuple[Path, str]:
    """Run ``limit`` reviews of the demo set (free mode) with ``prompts`` prompt versions
    into ``root/ws``; returns the workspace folder and the run id."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "p.md").write_text("prompt\n")
    names = {"v1": "p.md"}
    for i in range(2, prompts + 1):
        (root / f"p{i}.md").write_text(f"prompt {i}\n")
        names[f"v{i}"] = f"p{i}.md"
    listed = "{" + ", ".join(f"{k}: {v}" for k, v in names.items()) + "}"
    (root / "suite.yaml").write_text(SUITE.format(dataset=DEMO_SET, limit=limit, prompts=listed))
    ws = Workspace(root / "ws")
    result = run_suite(
        load_suite(root / "suite.yaml"),
        ws,
        RunOptions(progress=False),
        console=Console(file=io.StringIO()),
    )
    ws.close(compact=False)
    return root / "ws", result.run_ids[0]
