"""A whole review in a real browser (Playwright driving Debian's Chromium).

`evals label` runs on a free port against a review run of the demo set (edd_template,
no model) and a queue of whole reviews; a reviewer opens the Whole review page, starts a
review and decides its five nodes; the store then holds a label and handling time per
node and per review, the nodes' times adding up to the review's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals.store.workspace import Workspace
from labeling_app.metrics.timing import active_seconds
from labeling_app.queues.records import RecordIndex
from labeling_app.queues.review_items import create_review_queue
from labeling_app.review_testing import write_review_run

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ROSTER = Path(__file__).resolve().parents[2] / "labeling_app" / "demo_roster.yaml"
EVALS = Path(sys.executable).parent / "evals"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    root, run_id = write_review_run(tmp_path, limit=2)
    ws = Workspace(root)
    q = create_review_queue(ws, source="sample", run_ids=[run_id], name="whole",
                            created_by="lead", shuffle=False)  # fmt: skip
    ws.close(compact=False)
    port = free_port()
    proc = subprocess.Popen(
        [str(EVALS), "label", "-w", str(root), "--port", str(port), "--roster", str(ROSTER),
         "--heartbeat", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "evals label did not come up"
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/", root, q.queue_id
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def heartbeats(root: Path, queue_id: str) -> int:
    events = RecordIndex(Workspace(root, create=False)).events(queue_id)
    return sum(e.kind == "heartbeat" for e in events)


def wait_until(check, what: str, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_reviewer_completes_a_whole_review(app, browser) -> None:  # type: ignore[no-untyped-def]
    url, root, queue_id = app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    page.goto(url + "whole-review")  # logging in lands on the page that was opened
    page.get_by_label("User").fill("alice")
    page.get_by_role("textbox", name="Password").fill("alice-demo")
    page.get_by_role("button", name="Log in").click()
    page.locator(".st-key-wr_start button").click(timeout=30_000)
    latencies = []
    for i in range(5):
        page.get_by_text(f"Node {i + 1} of 5").wait_for(timeout=30_000)
        page.get_by_text("Agent's answer", exact=True).wait_for(timeout=30_000)
        page.get_by_text("Trace ·").first.wait_for(timeout=30_000)
        before = heartbeats(root, queue_id)
        wait_until(lambda b=before: heartbeats(root, queue_id) >= b + 2, "two heartbeats")
        helpful = "False" if i == 1 else "True"
        page.locator(f".st-key-wr_helpful_{helpful} button").click()
        page.locator(f".st-key-wr_helpful_{helpful} [data-testid='stBaseButton-primary']").wait_for(
            timeout=10_000
        )
        page.locator(".st-key-wr_partly button").click()
        page.locator(".st-key-wr_partly [data-testid='stBaseButton-primary']").wait_for(
            timeout=10_000
        )
        started = time.monotonic()
        page.locator(".st-key-wr_submit button").click()
        nxt = f"Node {i + 2} of 5" if i < 4 else "Your reviews: 1 done"
        page.get_by_text(nxt).wait_for(timeout=30_000)
        latencies.append(time.monotonic() - started)
    page.locator(".st-key-wr_start button").wait_for(timeout=30_000)
    print(f"node submit to next node shown: {[round(x, 2) for x in latencies]} s")
    page.close()
    # Nothing leaves 127.0.0.1 (the favicon is a local file).
    assert hosts <= {url.split("/")[2]}, hosts

    index = RecordIndex(Workspace(root, create=False))
    labels = [lb for lb in index.labels(queue_id) if lb.reviewer == "alice"]
    (review,) = [lb for lb in labels if "/" not in lb.item_id]
    nodes = sorted((lb for lb in labels if "/" in lb.item_id), key=lambda lb: lb.submitted_at)
    assert len(nodes) == 5 and all(lb.item_id.startswith(review.item_id + "/") for lb in nodes)
    assert [lb.helpful for lb in nodes] == [True, False, True, True, True]
    assert review.helpful is False and review.correctness == "partly"
    assert all(lb.active_seconds and lb.active_seconds > 0 for lb in nodes)
    events = index.events(queue_id, review.item_id, "alice")
    recomputed = active_seconds(events, review.idle_threshold_s, until=review.submitted_at)
    assert review.active_seconds == pytest.approx(recomputed, abs=0.01)
    assert sum(lb.active_seconds or 0 for lb in nodes) == pytest.approx(recomputed, abs=0.01)
