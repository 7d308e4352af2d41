"""Sessions, drafts and lead tools in a real browser (Playwright driving Debian's Chromium).

* A reviewer types a draft, reloads: still logged in, same queue, same item, same draft;
  logging out kills the session cookie (replaying it gets the login form).
* A lead visits Review (nothing is claimed), filters trials, compares two runs on a
  case, adjudicates a disagreement and downloads the labels as CSV.
* Every request the pages make stays on 127.0.0.1 (no fonts, favicons or telemetry).

Set ``EVALS_SCREENSHOTS=<folder>`` to keep screenshots of each step.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from test_labeling_browser import (  # tests/e2e is on sys.path (pytest's rootdir import)
    RunningApp,
    current_item,
    log_in,
    start_reviewing,
)

from evals.store.workspace import Workspace
from labeling_app.queues.build import create_queue
from labeling_app.queues.drafts import load_draft
from labeling_app.queues.records import RecordIndex
from labeling_app.queues.service import Decision, QueueService
from labeling_app.testing import write_golden_set, write_trials

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
LOCAL_HOSTS = {"127.0.0.1"}


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("EVALS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


def record_requests(context) -> list[str]:  # type: ignore[no-untyped-def]
    """Every URL the context's pages request, from now on."""
    urls: list[str] = []
    context.on("request", lambda r: urls.append(r.url))
    return urls


def assert_local(urls: list[str]) -> None:
    outside = sorted(
        {
            u
            for u in urls
            if urlparse(u).scheme not in ("data", "blob", "about")
            and urlparse(u).hostname not in LOCAL_HOSTS
        }
    )
    assert urls and not outside, f"requests left 127.0.0.1: {outside[:10]}"


@pytest.fixture
def two_queue_app(tmp_path: Path) -> Iterator[tuple[RunningApp, list[str]]]:
    dataset = write_golden_set(tmp_path / "mini_edd")
    root = tmp_path / "ws"
    ws = Workspace(root)
    write_trials(ws, dataset)
    ids = [
        create_queue(ws, source="sample", run_ids=["run-1"], name=name, created_by="lead").queue_id
        for name in ("older", "newer")
    ]
    ws.close(compact=False)
    app = RunningApp(root, ids[0])
    try:
        yield app, ids
    finally:
        app.stop()


def wait_for_draft(root: Path, item: str, expected: dict[str, object]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if load_draft(root, "alice", item) == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"draft not saved: {load_draft(root, 'alice', item)}")


def test_reload_keeps_login_queue_item_and_draft(browser, two_queue_app) -> None:  # type: ignore[no-untyped-def]
    app, (older, _newer) = two_queue_app
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    urls = record_requests(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, app.url, "alice", "alice-demo", start=False)
    assert RecordIndex(Workspace(app.root, create=False)).claims(older) == []  # nothing claimed
    page.locator(".st-key-queue_select").click()  # work on the older queue, not the default
    page.get_by_role("option", name="older").click()
    page.get_by_text("items are waiting for you").wait_for(timeout=30_000)
    start_reviewing(page)
    item = current_item(page)
    page.locator(".st-key-btn_no button").click()
    page.locator(".st-key-btn_no [data-testid='stBaseButton-primary']").wait_for(timeout=10_000)
    page.get_by_label("Comment (optional)").click()
    page.keyboard.type("the owner share is 60%, not 75%")  # no blur: only the autosave sees it
    wait_for_draft(app.root, item, {"helpful": False, "comment": "the owner share is 60%, not 75%"})
    shot(page, "review-draft-before-reload")

    page.reload()
    page.get_by_text("Your progress").wait_for(timeout=30_000)
    assert page.get_by_label("User").count() == 0  # still logged in
    assert current_item(page) == item
    assert page.locator(".st-key-queue_select input").input_value().startswith("older")
    # The restored draft fills the form in a rerun after the page first shows: wait for it
    # (a loaded CI machine read the comment box before that rerun, empty).
    expect(page.get_by_label("Comment (optional)")).to_have_value(
        "the owner share is 60%, not 75%", timeout=30_000
    )
    expect(page.locator(".st-key-btn_no [data-testid='stBaseButton-primary']")).to_have_count(
        1, timeout=30_000
    )
    page.mouse.wheel(0, -5000)
    shot(page, "review-draft-after-reload")

    cookie = next(c for c in context.cookies() if c["name"] == "evals_session")
    assert item not in cookie["value"] and "alice" not in cookie["value"]
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("User").wait_for(timeout=30_000)
    page.reload()
    page.get_by_label("User").wait_for(timeout=30_000)  # logged out stays logged out
    context.add_cookies([cookie])  # a copy of the old cookie is dead too
    page.reload()
    page.get_by_label("User").wait_for(timeout=30_000)
    assert page.get_by_text("Your progress").count() == 0
    assert errors == []  # the page never crashed (e.g. a late fragment delta at logout)
    context.close()
    assert_local(urls)


@pytest.fixture
def lead_app(tmp_path: Path) -> Iterator[tuple[RunningApp, str, str]]:
    dataset = write_golden_set(tmp_path / "mini_edd")
    root = tmp_path / "ws"
    ws = Workspace(root)
    write_trials(ws, dataset)
    write_trials(ws, dataset, run_id="run-2", models=("model-c",))
    q = create_queue(
        ws, source="sample", run_ids=["run-1"], name="k2", created_by="lead", overlap=2
    )
    svc = QueueService(ws)
    item = svc.claim_next(q.queue_id, "alice")
    assert item is not None and svc.claim_next(q.queue_id, "bob") == item
    svc.decide(q.queue_id, item.item_id, "alice", Decision(helpful=True, correctness="correct"))
    svc.decide(q.queue_id, item.item_id, "bob", Decision(helpful=False, correctness="wrong"))
    ws.close(compact=False)
    app = RunningApp(root, q.queue_id)
    try:
        yield app, q.queue_id, item.item_id
    finally:
        app.stop()


def pick(page, key: str, option: str) -> None:  # type: ignore[no-untyped-def]
    """Choose an option of a selectbox or multiselect by its widget key."""
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(5):  # a click while the page re-renders may close the list again
        page.locator(f".st-key-{key}").click()
        try:
            choice.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    choice.click()
    page.keyboard.press("Escape")


def test_lead_filters_compares_adjudicates_and_exports(
    browser,
    lead_app,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    app, queue_id, item_id = lead_app
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    urls = record_requests(context)
    page = context.new_page()
    log_in(page, app.url, "lead", "lead-demo", start=False)
    claims = RecordIndex(Workspace(app.root, create=False)).claims(queue_id)
    assert {c.reviewer for c in claims} == {"alice", "bob"}  # the lead got nothing by visiting

    page.goto(app.url + "trials")
    page.get_by_text("of 18 trials").wait_for(timeout=30_000)
    pick(page, "flt_run_id", "run-2")
    page.get_by_text("6 of 18 trials").wait_for(timeout=30_000)
    pick(page, "flt_human", "split")
    page.get_by_text("0 of 18 trials").wait_for(timeout=30_000)
    shot(page, "trials-filtered")

    page.get_by_role("tab", name="Compare runs").click()
    pick(page, "cmp_run_b", "run-2")
    pick(page, "cmp_case", "ubo-1")
    page.get_by_text("run-2 · ubo-1").first.wait_for(timeout=30_000)
    page.get_by_text("run-1 · ubo-1").first.wait_for(timeout=30_000)
    shot(page, "trials-compare")

    page.goto(app.url + "disagreements")
    page.get_by_text("Reviewers' labels").wait_for(timeout=30_000)
    form = page.locator(f".st-key-adj_{queue_id}_{item_id}_h")
    form.get_by_text("not helpful").click()
    page.get_by_label("Reason (required)").fill("the registration number is wrong")
    shot(page, "disagreement-form")
    page.get_by_role("button", name="Adjudicate").click()
    page.get_by_text("No open disagreement").wait_for(timeout=30_000)
    [adj] = RecordIndex(Workspace(app.root, create=False)).records("adjudication")
    assert (adj.by, adj.helpful, adj.reason) == ("lead", False, "the registration number is wrong")

    page.goto(app.url + "trials")
    page.get_by_role("tab", name="Export").click()
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="labels · CSV").click()
    saved = tmp_path / "labels.csv"
    info.value.save_as(saved)
    text = saved.read_text()
    assert "the registration number is wrong" in text and "adjudicated" in text
    assert text.count("\n") == 3  # header + alice + bob
    shot(page, "trials-export")
    for path, title in [
        ("queues", "Queues"),
        ("dashboard", "Dashboard"),
        ("audit", "Audit"),
        ("history", "My labels"),
        ("", "Review"),
    ]:
        page.goto(app.url + path)  # every page, for the network check
        page.get_by_role("heading", name=title).first.wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        shot(page, f"page-{path or 'review'}")
    context.close()
    assert_local(urls)
