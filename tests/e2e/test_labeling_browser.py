"""The review app in a real browser (Playwright driving Debian's Chromium).

`evals label` is started on a free port against a workspace built from Trial records
written directly; a reviewer logs in, labels three items with keyboard shortcuts,
reloads in the middle of one, and the store is checked afterwards. A second test loads
a trace full of XSS payloads and checks that nothing ran and nothing became markup.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from evals.store.workspace import Workspace
from labeling_app.metrics.timing import active_seconds
from labeling_app.queues.build import create_queue
from labeling_app.queues.records import RecordIndex
from labeling_app.testing import XSS_IMG, XSS_LINK, XSS_SCRIPT, write_golden_set, write_trials

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

ROSTER = Path(__file__).resolve().parents[2] / "labeling_app" / "demo_roster.yaml"
EVALS = Path(sys.executable).parent / "evals"
ITEM = re.compile(r"Item (q-[0-9a-f]+-\d{4})")
BUTTONS = {"y": "btn_yes", "n": "btn_no", "1": "btn_correct", "2": "btn_partly", "3": "btn_wrong"}
"""Shortcut key -> the button it selects (shown as primary once selected)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(root: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            str(EVALS),
            "label",
            "-w",
            str(root),
            "--port",
            str(port),
            "--roster",
            str(ROSTER),
            "--heartbeat",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"evals label exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("evals label did not come up within 90 s")


def make_workspace(tmp_path: Path, hostile: bool) -> tuple[Path, str]:
    dataset = write_golden_set(tmp_path / "mini_edd")
    root = tmp_path / "ws"
    ws = Workspace(root)
    write_trials(ws, dataset, hostile=hostile)
    q = create_queue(
        ws,
        source="sample",
        run_ids=["run-1"],
        name="browser",
        created_by="lead",
        overlap=1,
        shuffle=not hostile,
        blind=not hostile,
        show_verdicts=hostile,
    )
    ws.close(compact=False)
    return root, q.queue_id


class RunningApp:
    """`evals label` on a free port; `crash_and_restart` kills it (SIGKILL) and starts it
    again on the same workspace."""

    def __init__(self, root: Path, queue_id: str) -> None:
        self.root, self.queue_id = root, queue_id
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.start()

    def start(self) -> None:
        port = free_port()
        self.proc = start_app(self.root, port)
        self.url = f"http://127.0.0.1:{port}/"

    def crash_and_restart(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=20)
        self.start()

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def app(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RunningApp]:
    root, queue_id = make_workspace(tmp_path, hostile=getattr(request, "param", False))
    running = RunningApp(root, queue_id)
    try:
        yield running
    finally:
        running.stop()


def log_in(page, url: str, user: str, password: str, start: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Log in on the Review page and (``start``) press "Start reviewing" when it is
    offered (opening the page claims nothing; a held item is shown at once)."""
    page.goto(url)
    page.get_by_label("User").fill(user)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Your progress").wait_for(timeout=30_000)
    if start:
        start_reviewing(page)


def start_reviewing(page) -> None:  # type: ignore[no-untyped-def]
    """Press "Start reviewing" if the page offers it (not when an item is held)."""
    button = page.get_by_role("button", name="Start reviewing")
    held = page.get_by_text(ITEM).first
    for _ in range(100):
        if button.count():
            button.click()
            return
        if held.count():
            return
        page.wait_for_timeout(100)


def current_item(page) -> str:  # type: ignore[no-untyped-def]
    page.get_by_text(ITEM).first.wait_for(timeout=30_000)
    found = ITEM.search(page.get_by_text(ITEM).first.inner_text())
    assert found is not None
    return found.group(1)


def wait_for_heartbeats(root: Path, queue_id: str, item_id: str, n: int) -> None:
    """Wait (bounded) until the page has reported n heartbeats for the item."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        events = RecordIndex(Workspace(root, create=False)).events(queue_id, item_id, "alice")
        if sum(e.kind == "heartbeat" for e in events) >= n:
            return
        time.sleep(0.3)
    raise AssertionError(f"no {n} heartbeats for {item_id} within 30 s")


def label_with_keys(page, keys: list[str], comment: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Rate with shortcut keys, optionally type a comment (letters that are shortcuts
    elsewhere must stay text there), and submit with Ctrl+Enter."""
    before = current_item(page)
    page.get_by_text(ITEM).first.click()  # focus the page, not an input
    for key in keys:
        selected = page.locator(f".st-key-{BUTTONS[key]} [data-testid='stBaseButton-primary']")
        for _ in range(3):  # a key pressed while the page re-renders may be missed
            page.keyboard.press(key)
            try:
                selected.wait_for(timeout=5_000)
                break
            except PlaywrightTimeout:
                continue
        assert selected.count() == 1, f"shortcut {key} did not select {BUTTONS[key]}"
    if comment is not None:
        page.get_by_label("Comment (optional)").click()
        page.keyboard.type(comment)
    page.keyboard.press("Control+Enter")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if page.get_by_text("Nothing left for you").count() or current_item(page) != before:
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"the page did not move on from {before}")


def test_label_three_items_with_shortcuts_and_a_reload(browser, app) -> None:  # type: ignore[no-untyped-def]
    url, root, queue_id = app.url, app.root, app.queue_id
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    log_in(page, url, "alice", "alice-demo")
    expected: dict[str, tuple[bool, str]] = {}

    first = current_item(page)
    wait_for_heartbeats(root, queue_id, first, 2)
    label_with_keys(page, ["y", "1"])
    expected[first] = (True, "correct")

    second = current_item(page)
    wait_for_heartbeats(root, queue_id, second, 2)
    label_with_keys(page, ["n", "3"], comment="yes, no: s u 1 2")
    expected[second] = (False, "wrong")

    third = current_item(page)
    wait_for_heartbeats(root, queue_id, third, 2)
    page.reload()  # in the middle of the third item: the login (cookie) and claim stay
    page.get_by_text("Your progress").wait_for(timeout=30_000)
    assert current_item(page) == third
    wait_for_heartbeats(root, queue_id, third, 4)
    label_with_keys(page, ["y", "2"])
    expected[third] = (True, "partly")
    fourth = current_item(page)
    page.close()

    # A crash (kill -9) and a restart: nothing submitted is lost, the held item is back.
    app.crash_and_restart()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    log_in(page, app.url, "alice", "alice-demo")
    assert current_item(page) == fourth
    page.close()

    index = RecordIndex(Workspace(root, create=False))
    labels = [lb for lb in index.labels(queue_id) if lb.reviewer == "alice"]
    assert {lb.item_id: (lb.helpful, lb.correctness) for lb in labels} == expected
    assert all(lb.action == "submit" for lb in labels)
    assert {lb.item_id: lb.comment for lb in labels}[second] == "yes, no: s u 1 2"
    for lb in labels:
        events = index.events(queue_id, lb.item_id, "alice")
        assert lb.active_seconds is not None and lb.active_seconds > 0
        recomputed = active_seconds(events, lb.idle_threshold_s, until=lb.submitted_at)
        assert recomputed == pytest.approx(lb.active_seconds, abs=0.01)
        assert events[-1].kind == "submit"
    reloaded = index.events(queue_id, third, "alice")
    assert sum(e.kind == "shown" for e in reloaded) == 2
    pages = {e.data.get("page") for e in reloaded if e.kind == "heartbeat"}
    assert len(pages) == 2  # heartbeats from before and after the reload


@pytest.mark.parametrize("app", [True], indirect=True)
def test_hostile_trace_renders_inert(browser, app) -> None:  # type: ignore[no-untyped-def]
    url = app.url
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, url, "alice", "alice-demo")
    current_item(page)
    page.get_by_text("conversation (").wait_for(timeout=30_000)  # the whole trace is there
    for summary in page.locator("details summary").all():  # open every step and verdict
        if summary.locator("xpath=..").get_attribute("open") is None:
            summary.click()
    page.wait_for_timeout(1500)
    body = page.inner_text("body")
    for payload in (XSS_SCRIPT, XSS_IMG, XSS_LINK, f"Thinking {XSS_IMG}"):
        assert payload in body, payload  # shown as text (answer, thought, verdict) ...
    code_views = " ".join(page.locator("[data-testid='stCode']").all_inner_texts())
    assert "xss-script" in code_views and "javascript:" in code_views  # the observation
    assert dialogs == []  # ... and nothing ran
    for flag in ("__xss_script", "__xss_img", "__xss_link"):
        assert page.evaluate(f"typeof window.{flag}") == "undefined"
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator('a[href^="javascript"]').count() == 0
    scripts = page.evaluate("[...document.scripts].map(s => s.textContent).join('\\n')")
    assert "__xss_script" not in scripts
    links = page.locator("a", has_text="click for details")
    assert links.count() == 0
    page.close()

    # The audit page (a lead's view of the same trial: trace, verdict reasons) too.
    audit = browser.new_page(viewport={"width": 1400, "height": 1000})
    audit.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    audit.goto(url + "audit")
    audit.get_by_label("User").fill("lead")
    audit.get_by_role("textbox", name="Password").fill("lead-demo")
    audit.get_by_role("button", name="Log in").click()
    audit.get_by_text("conversation (").wait_for(timeout=30_000)
    for summary in audit.locator("details summary").all():
        if summary.locator("xpath=..").get_attribute("open") is None:
            summary.click()
    audit.wait_for_timeout(1500)
    assert f"Thinking {XSS_IMG}" in audit.inner_text("body")
    assert dialogs == []
    assert audit.locator('img[src="x"]').count() == 0
    assert audit.locator('a[href^="javascript"]').count() == 0
    audit.close()
