"""Two app replicas (two real Streamlit processes on different ports) on one PostgreSQL
database serve one queue: 20 reviewers at once, in two processes (ten threads each,
the service the replicas run), plus a person logged in on each replica in a real browser.
No item goes to more than k reviewers at any moment, no label is lost, and the state
rebuilt from the records is the state PostgreSQL holds."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from evals.store.workspace import Workspace
from labeling_app.queues.build import create_queue
from labeling_app.queues.pg.db import Database
from labeling_app.queues.pg.rebuild import live_state, rebuild, records_state
from labeling_app.queues.pg.server import free_port
from labeling_app.queues.records import RecordIndex
from labeling_app.queues.state import compute_state
from labeling_app.testing import write_trials

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[3]
ROSTER = REPO / "labeling_app" / "demo_roster.yaml"
CHROMIUM = "/usr/bin/chromium"
ITEM = re.compile(r"Item (q-[0-9a-f]+-\d{4})")
PROCESSES, THREADS = 2, 10

REVIEWERS_SCRIPT = """
import json, sys
from pathlib import Path
from labeling_app.testing import run_reviewers
root, queue_id, out, names, db = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[6]
accepted = run_reviewers(Path(root), queue_id, names.split(","), int(sys.argv[5]), db)
Path(out).write_text(json.dumps(accepted))
"""


def child_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), LITELLM_LOCAL_MODEL_COST_MAP="True")


def start_replica(root: Path, url: str) -> tuple[subprocess.Popen[bytes], str]:
    """`evals label` on a free port with the queue state in PostgreSQL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "evals.cli.main", "label", "-w", str(root), "--port", str(port),
         "--roster", str(ROSTER), "--queue-db", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=child_env(),
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            assert proc.stderr is not None
            raise RuntimeError(f"replica exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("replica did not come up within 90 s")


def browser_item(browser, url: str, user: str) -> str:  # type: ignore[no-untyped-def]
    """Log in on a replica, start reviewing, return the item the page shows."""
    page = browser.new_page()
    page.goto(url)
    page.get_by_label("User").fill(user)
    page.get_by_role("textbox", name="Password").fill(f"{user}-demo")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Your progress").wait_for(timeout=30_000)
    page.get_by_role("button", name="Start reviewing").click()
    page.get_by_text(ITEM).first.wait_for(timeout=30_000)
    found = ITEM.search(page.get_by_text(ITEM).first.inner_text())
    assert found is not None
    return found.group(1)


def assert_never_beyond_k(root: Path, queue_id: str, overlap: int) -> None:
    """Replay the records: at each claim, the claimer may take the item (a free slot of
    k, never twice, never both arms of a case)."""
    index = RecordIndex(Workspace(root, create=False))
    q = index.queues()[queue_id]
    claims, labels = index.claims(queue_id), index.labels(queue_id)
    history = sorted(
        [(c.at, 0, c) for c in claims] + [(lb.submitted_at, 1, lb) for lb in labels],
        key=lambda t: (t[0], t[1]),
    )
    for n, (moment, kind, rec) in enumerate(history):
        if kind == 0 and rec.action == "claim":
            before = [r for _, _, r in history[:n]]
            st = compute_state(
                q,
                [],
                [r for r in before if hasattr(r, "lease_until")],
                [r for r in before if hasattr(r, "submitted_at")],
                moment,
            )
            assert st.may_take(rec.reviewer, st.items[rec.item_id]), (rec, n)
    final = compute_state(q, [], claims, labels, history[-1][0])
    assert all(len(s.done) + len(s.claims) <= overlap for s in final.items.values())


def test_two_replicas_twenty_reviewers_one_queue(
    tmp_path: Path, dataset: Path, postgres_server
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make browser`")
    from playwright.sync_api import sync_playwright

    root = tmp_path / "ws"
    ws = Workspace(root)
    write_trials(ws, dataset, models=tuple(f"model-{c}" for c in "abcdef"))  # 36 trials
    q = create_queue(ws, source="sample", run_ids=["run-1"], name="replicas",
                     created_by="lead", overlap=2, control_share=0.2, seed=5,
                     lease_s=3600)  # fmt: skip
    ws.close(compact=False)
    url = postgres_server.create_database("replicas")
    replicas = [start_replica(root, url) for _ in range(2)]
    try:
        with sync_playwright() as p:
            args = ["--headless", "--no-sandbox", "--disable-gpu"]
            browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
            shown = {
                "alice": browser_item(browser, replicas[0][1], "alice"),
                "bob": browser_item(browser, replicas[1][1], "bob"),
            }
            browser.close()
        workers = []
        for n in range(PROCESSES):
            names = ",".join(f"p{n}-r{t}" for t in range(THREADS))
            out = tmp_path / f"accepted-{n}.json"
            cmd = [sys.executable, "-c", REVIEWERS_SCRIPT, str(root), q.queue_id, str(out),
                   names, str(n), url]  # fmt: skip
            workers.append((out, subprocess.Popen(cmd, env=child_env())))
        for _, proc in workers:
            assert proc.wait(timeout=600) == 0
        for proc, _ in replicas:
            assert proc.poll() is None, "a replica died"
    finally:
        for proc, _ in replicas:
            proc.terminate()
            proc.wait(timeout=30)

    accepted = [lid for out, _ in workers for lid in json.loads(out.read_text())]
    ws = Workspace(root, create=False)
    labels = RecordIndex(ws).labels(q.queue_id)
    ids = [lb.id for lb in labels]
    assert len(ids) == len(set(ids)) == len(accepted)
    assert set(ids) == set(accepted), "a label a reviewer was told was saved is missing"
    assert_never_beyond_k(root, q.queue_id, q.overlap)

    db = Database(url)
    now = labels[-1].submitted_at
    state = live_state(db, q.queue_id, now)
    # The people in the browsers still hold what their replica showed them.
    for person, item_id in shown.items():
        assert state[item_id]["claims"].count(person) == 1, (person, item_id)
    assert state == records_state(ws, q.queue_id, now)
    reviewers = {r for s in state.values() for r in s["done"]}
    # (A reviewer whose thread starts last may find every slot taken: not all must work.)
    assert len(reviewers) >= PROCESSES * THREADS // 2
    assert sum(len(s["done"]) for s in state.values()) >= 2 * len(q.items) - 8
    fresh = Database(postgres_server.create_database("replicas_rebuilt"))
    rebuild(ws, fresh, now=now)
    assert live_state(fresh, q.queue_id, now) == state
    db.close()
    fresh.close()
