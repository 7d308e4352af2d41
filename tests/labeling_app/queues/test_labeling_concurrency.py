"""Twenty reviewers at once, in four processes, while another process writes runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.store.query import query
from evals.store.workspace import Workspace
from labeling_app.queues.build import create_queue
from labeling_app.queues.records import RecordIndex
from labeling_app.queues.state import compute_state
from labeling_app.testing import write_trials

PROCESSES, THREADS = 4, 5

REVIEWERS_SCRIPT = """
import json, sys
from pathlib import Path
from labeling_app.testing import run_reviewers
root, queue_id, out, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
accepted = run_reviewers(Path(root), queue_id, names, seed=int(sys.argv[5]))
Path(out).write_text(json.dumps(accepted))
"""

WRITER_SCRIPT = """
import sys
from pathlib import Path
from labeling_app.testing import append_trials
print(append_trials(Path(sys.argv[1]), Path(sys.argv[2]), runs=int(sys.argv[3])))
"""


@pytest.mark.slow
def test_twenty_reviewers_lose_nothing_and_never_exceed_k(tmp_path: Path, dataset: Path) -> None:
    root = tmp_path / "busy"
    ws = Workspace(root)
    models = tuple(f"model-{c}" for c in "abcdef")
    write_trials(ws, dataset, models=models)  # 36 trials
    q = create_queue(
        ws,
        source="sample",
        run_ids=["run-1"],
        name="busy",
        created_by="lead",
        overlap=2,
        control_share=0.2,
        seed=5,
        lease_s=3600,
    )
    ws.close(compact=False)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, str(root), str(dataset), "6"],
        stdout=subprocess.PIPE,
        text=True,
    )
    workers = []
    for p in range(PROCESSES):
        names = ",".join(f"p{p}-r{t}" for t in range(THREADS))
        out = tmp_path / f"accepted-{p}.json"
        workers.append(
            (
                out,
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        REVIEWERS_SCRIPT,
                        str(root),
                        q.queue_id,
                        str(out),
                        names,
                        str(p),
                    ]
                ),
            )
        )
    for _, proc in workers:
        assert proc.wait(timeout=300) == 0
    written, _ = writer.communicate(timeout=300)
    assert writer.returncode == 0
    accepted = [lid for out, _ in workers for lid in json.loads(out.read_text())]

    index = RecordIndex(Workspace(root, create=False))
    labels = index.labels(q.queue_id)
    claims = index.claims(q.queue_id)
    ids = [lb.id for lb in labels]
    assert len(ids) == len(set(ids))
    assert set(accepted) == set(ids), "a label a reviewer was told was saved is missing"
    assert len(accepted) == len(ids)

    # Replay history: no claim ever took a slot beyond k, nobody got an item twice.
    history = sorted(
        [(c.at, 0, c) for c in claims] + [(lb.submitted_at, 1, lb) for lb in labels],
        key=lambda t: (t[0], t[1]),
    )
    for n, (moment, kind, rec) in enumerate(history):
        if kind == 0 and rec.action == "claim":
            before = [r for _, k, r in history[:n]]
            st = compute_state(
                q,
                [],
                [r for r in before if hasattr(r, "lease_until")],
                [r for r in before if hasattr(r, "submitted_at")],
                moment,
            )
            assert st.may_take(rec.reviewer, st.items[rec.item_id]), (rec, n)
    final = compute_state(q, [], claims, labels, labels[-1].submitted_at)
    for item_state in final.items.values():
        assert len(item_state.done) <= q.overlap
    assert final.labels_needed() <= 4  # only control items every reviewer had seen
    # The concurrent writer's trials are all there.
    n_trials = query(Workspace(root, create=False), "SELECT count(*) AS n FROM trials")[0]["n"]
    assert n_trials == 36 + int(written)
