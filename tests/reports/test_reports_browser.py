"""A generated HTML report opened in headless Debian Chromium with the network off.

Every request that is not the report file itself is aborted (and recorded), so the
charts can only render from the inline plotly.js. The page must draw every chart, fire
no dialog from the untrusted text in it, and ask for nothing on the network.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evals.analysis.compare import compare_runs
from evals.analysis.rundata import RunRef, load_run
from evals.store.workspace import Workspace
from reports import build_comparison_report, build_run_summary, load_examples, write_report
from tests.helpers.reports import build_workspace

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def _reports(tmp_path: Path) -> list[Path]:
    ws = Workspace(tmp_path / "ws")
    build_workspace(ws)
    ws.close()
    cand = load_run(ws, RunRef("cand"))
    cmp = compare_runs(load_run(ws, RunRef("base")), cand, margins=[0.05, 0.1])
    return [
        write_report(build_comparison_report(cmp), tmp_path / "cmp", ["html"])["html"],
        write_report(build_run_summary(cand, load_examples(ws, cand)), tmp_path / "sum", ["html"])[
            "html"
        ],
    ]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (make browser)")
def test_reports_render_offline_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import Route, sync_playwright

    pages = _reports(tmp_path)
    blocked: list[str] = []
    dialogs: list[str] = []
    errors: list[str] = []

    def only_files(route: Route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(offline=True)
            context.route("**/*", only_files)
            page = context.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            for path in pages:
                html = path.read_text()
                expected = len(re.findall(r'<div class="chart" id="', html))
                page.goto(path.as_uri())
                page.wait_for_function(
                    f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= "
                    f"{2 * expected}",
                    timeout=60_000,
                )
                plots = page.locator(".js-plotly-plot")
                assert plots.count() == expected
                for i in range(expected):
                    # Each chart drew its traces (bars, funnel, markers, heatmap), not
                    # just empty axes.
                    assert plots.nth(i).locator(".main-svg").count() >= 1
                    assert plots.nth(i).locator("g.trace, g.hm").count() >= 1
                assert (
                    page.locator(".js-plotly-plot .trace path, .js-plotly-plot .hm image").count()
                    > expected
                )
                details = page.locator("figure details")
                assert details.count() == expected
        finally:
            browser.close()
    assert blocked == []
    assert dialogs == [] and errors == []


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (make browser)")
def test_decision_box_first_and_long_text_cells_wrap(tmp_path: Path) -> None:
    """The decision box is the first thing on the page, and a long judge reason next to
    a long (even unbreakable) answer keeps a readable width instead of one word per line."""
    from playwright.sync_api import sync_playwright

    from reports.model import DecisionBox, Report, Section
    from reports.summary import Example, _examples_block

    reason = "The answer states the registry number without calling the registry tool; " * 2
    examples = [
        Example(key=f"run/model/v1/case_{i}/0", question_id="q_registry_check",
                case_id=f"case_{i}", reason=reason, final_answer=answer)
        for i, answer in enumerate(["Thought: I will check the registry. " * 12, "x" * 500])
    ]  # fmt: skip
    report = Report(
        kind="run_summary",
        title="wrap",
        decision=DecisionBox(verdict="do not ship", headline="h", source="s"),
        sections=[Section(id="examples", title="Examples", blocks=[_examples_block(examples)])],
    )
    path = write_report(report, tmp_path, ["html"])["html"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
            tab = page.new_page()
            tab.goto(path.as_uri())
            box = tab.locator("#decision").bounding_box()
            assert box is not None and box["y"] < 200  # right under the header
            widths = tab.eval_on_selector_all(
                "#examples tbody tr td:nth-child(3)", "els => els.map(e => e.offsetWidth)"
            )
            assert len(widths) == 2 and min(widths) >= 200  # was about 90 px
            overflow = tab.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0  # the unbreakable answer wraps inside its cell
        finally:
            browser.close()
