"""Shared by the report tests: a workspace with two judged, partly reviewed runs whose
answers and judge reasons carry HTML/Markdown injection attempts."""

from __future__ import annotations

from evals.schema import Trial
from evals.store.workspace import Workspace
from evals.testing.synthetic import make_label, make_trial, make_verdict, write_run

XSS_ANSWER = '<script>alert("answer")</script><img src=x onerror=alert(1)> [x](javascript:alert(2))'
XSS_REASON = "</td></tr></table><script>alert('reason')</script> | *bold* # head"


def build_workspace(ws: Workspace) -> tuple[list[Trial], list[Trial]]:
    """Two runs over 24 cases in two questions, judged, partly reviewed, with control items."""
    base = [
        make_trial(
            "base", f"c{i}", f"q{i % 2}", cost_usd=0.004, latency_s=2.0 + i % 5, tool_calls=1
        )
        for i in range(24)
    ]
    cand = [
        make_trial(
            "cand",
            f"c{i}",
            f"q{i % 2}",
            model_alias="model-b",
            cost_usd=0.001,
            latency_s=1.0 + i % 3,
            cached_input_tokens=40,
            tool_calls=2,
            answer=XSS_ANSWER,
        )
        for i in range(24)
    ]
    write_run(ws, "base", base)
    write_run(ws, "cand", cand)
    ws.writer("verdict").append_many(
        [make_verdict(t, "fail" if i % 6 == 0 else "pass") for i, t in enumerate(base)]
        + [
            make_verdict(t, "fail" if i % 4 == 0 else "pass", reason=XSS_REASON, stage=i % 2)
            for i, t in enumerate(cand)
        ]
    )
    labels = [
        make_label(f"r{i % 3}", trial=t, helpful=i % 5 != 0, active_seconds=40.0 + i)
        for i, t in enumerate(cand)
        if i % 4
    ]
    labels += [
        make_label(f"r{i % 3}", case_id=f"c{i}", arm="unassisted", active_seconds=80.0 + 3 * i)
        for i in range(9)
    ]
    ws.writer("label").append_many(labels)
    return base, cand
