"""Review app in a real browser: page and submit latencies, with long traces.

A workspace is built with the mini golden set (6 cases) and trials whose traces are long
(--steps model calls, thoughts and tool calls, each tool observation a few KB of JSON),
a queue over them, and `evals label` is started on a free port. Playwright (Debian's
Chromium) then measures, as a reviewer would see them:

* login page: navigation until the login form is shown;
* login: "Log in" clicked until the Review page is shown (session cookie set);
* start: "Start reviewing" clicked until the first item (with its trace) is shown;
* submit: "Submit" clicked until the next item is shown (the label is on disk before
  the page moves on: written in the button's callback, fsync'd);
* reload: browser reload until the held item and its restored draft are shown;
* trials page (a lead): navigation until the trial table is shown.

Each is reported as the median, min and max over the repetitions (wall time in the
browser, so it includes Streamlit's rerun and the page's rendering).

    python -m bench.bench_review_ui [--steps 60] [--submits 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import fmt, summary
from evals.dataset.golden import load_golden_set
from evals.schema import (
    AgentSpec,
    FinalAnswerStep,
    ModelCallStep,
    ModelSpec,
    RunManifest,
    ThoughtStep,
    ToolCallStep,
    Trace,
    Usage,
)
from evals.store.workspace import Workspace
from labeling_app.queues.build import create_queue
from labeling_app.testing import trial_of, write_golden_set

ROOT = Path(__file__).resolve().parents[1]
ROSTER = ROOT / "labeling_app" / "demo_roster.yaml"
CHROMIUM = "/usr/bin/chromium"


def long_trace(answer: str, steps: int) -> Trace:
    """A trace of `steps` rounds of model call, thought and tool call."""
    out: list[Any] = []
    for i in range(steps):
        usage = Usage(input_tokens=900 + i, output_tokens=60, cost_usd=0.0004, calls=1)
        out.append(ModelCallStep(model="m", usage=usage, latency_s=0.8, output=f"step {i}"))
        out.append(ThoughtStep(text=f"Check source {i} before answering."))
        rows = [{"row": j, "field": "x" * 30} for j in range(60)]
        out.append(ToolCallStep(tool="registry_lookup", arguments={"page": i}, observation=rows))
    out.append(FinalAnswerStep(text=answer))
    return Trace(steps=out, final_answer=answer, usage=Usage(calls=steps), latency_s=steps)


def build(root: Path, steps: int) -> str:
    """The workspace with long-trace trials and a queue; returns the queue id."""
    dataset = write_golden_set(root / "golden")
    golden = load_golden_set(dataset)
    ws = Workspace(root / "ws")
    agent, model = AgentSpec(name="react"), ModelSpec(alias="model-a", model="openai/model-a")
    ws.append(
        "run",
        RunManifest(
            run_id="run-1",
            suite="bench",
            suite_hash="s",
            dataset=golden.name,
            dataset_hash=golden.content_hash,
            agent=agent,
            prompts=["v1"],
            models=[model],
            config={"dataset_path": str(dataset)},
        ),
    )
    for case in golden.cases:
        trial = trial_of(case, golden, agent, model, "run-1", long_trace(case.reference, steps))
        ws.append("trial", trial)
    q = create_queue(ws, source="sample", run_ids=["run-1"], name="bench", created_by="lead")
    ws.close(compact=True)
    return q.queue_id


def start_app(ws: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    evals = Path(sys.executable).parent / "evals"
    proc = subprocess.Popen(
        [str(evals), "label", "-w", str(ws), "--port", str(port), "--roster", str(ROSTER)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}/"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url + "_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the app did not start")


def timed(action: Callable[[], object], until: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    action()
    until()
    return time.perf_counter() - t0


def item_text(page: Any) -> str:
    loc = page.get_by_text("Item q-").first
    loc.wait_for(timeout=60_000)
    return str(loc.inner_text())


def measure(url: str, submits: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {k: [] for k in ("login_page", "login", "start", "submit")}
    out.update(reload=[], trials_page=[])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        out["login_page"].append(
            timed(lambda: page.goto(url), lambda: page.get_by_label("User").wait_for())
        )
        page.get_by_label("User").fill("alice")
        page.get_by_role("textbox", name="Password").fill("alice-demo")
        out["login"].append(
            timed(
                lambda: page.get_by_role("button", name="Log in").click(),
                lambda: page.get_by_text("Your progress").wait_for(timeout=60_000),
            )
        )
        out["start"].append(
            timed(
                lambda: page.get_by_role("button", name="Start reviewing").click(),
                lambda: page.get_by_text("conversation (").wait_for(timeout=60_000),
            )
        )
        for _ in range(submits):
            before = item_text(page)
            page.locator(".st-key-btn_yes button").click()
            page.locator(".st-key-btn_yes [data-testid='stBaseButton-primary']").wait_for()
            if page.get_by_text("Nothing left").count():
                break

            def moved(before: str = before) -> None:
                # The next item is shown, and the previous one's widgets are gone.
                while not page.get_by_text("Nothing left").count() and (
                    item_text(page) == before or _stale(page)
                ):
                    page.wait_for_timeout(20)

            out["submit"].append(
                timed(lambda: page.locator(".st-key-btn_submit button").click(), moved)
            )
            if page.get_by_text("Nothing left").count():
                break
            page.get_by_label("Comment (optional)").fill("draft text")
            page.get_by_label("Corrected answer (optional)").click()  # blur: saved
            page.wait_for_timeout(300)
            out["reload"].append(timed(page.reload, lambda: _wait_value(page)))
        lead = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        lead.goto(url)
        lead.get_by_label("User").fill("lead")
        lead.get_by_role("textbox", name="Password").fill("lead-demo")
        lead.get_by_role("button", name="Log in").click()
        lead.get_by_text("Your progress").wait_for(timeout=60_000)
        for _ in range(3):
            out["trials_page"].append(timed(lambda: None, lambda: _trials(lead, url)))
        browser.close()
    return out


def _stale(page: Any) -> bool:
    """Whether the page still shows elements of the previous run (Streamlit marks them
    data-stale until the new run has replaced them)."""
    return bool(page.locator("[data-stale='true']").count())


def _wait_value(page: Any) -> None:
    box = page.get_by_label("Comment (optional)")
    while box.count() != 1 or _stale(page) or box.input_value() != "draft text":
        page.wait_for_timeout(20)


def _trials(page: Any, url: str) -> None:
    page.goto(url + "trials")
    page.get_by_text("of 6 trials").wait_for(timeout=60_000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60, help="rounds per trace (3 steps each)")
    ap.add_argument("--submits", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-review-ui-") as tmp:
        build(Path(tmp), args.steps)
        proc, url = start_app(Path(tmp) / "ws")
        try:
            results = measure(url, args.submits)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    report = {k: summary([v * 1000 for v in vals], 0) for k, vals in results.items()}
    print(f"review app in Chromium, traces of {args.steps * 3 + 1} steps:")
    for name, s in report.items():
        print(f"  {name:12s} {fmt(s, 'ms', 0)}")
    if args.json:
        args.json.write_text(json.dumps({"steps": args.steps * 3 + 1, **report}, indent=2))


if __name__ == "__main__":
    main()
