"""Generic JSONL, tau-bench (v1), labels and pairwise imports: shapes and named errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.importers import IMPORTERS, ImportFormatError, ImportOptions, write_batch
from evals.schema import Trial
from evals.store.query import query
from evals.store.workspace import Workspace


def evals(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evals.cli.main", *args], capture_output=True, text=True
    )


def write_lines(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def do_import(ws: Workspace, fmt: str, path: Path, **opts: str) -> None:
    options = ImportOptions(**opts)
    write_batch(ws, IMPORTERS[fmt].parse(path, options, ws), options)


TOOL_CHAT = [
    {"role": "system", "content": "You are a KYB agent."},
    {"role": "user", "content": "Is ACME Ltd registered?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "registry_lookup", "arguments": '{"name": "ACME Ltd"}'},
            }
        ],
        "usage": {
            "prompt_tokens": 120,
            "completion_tokens": 9,
            "prompt_tokens_details": {"cached_tokens": 100},
        },
    },
    {
        "role": "tool",
        "tool_call_id": "c1",
        "name": "registry_lookup",
        "content": '{"status": "active", "number": "123"}',
    },
    {
        "role": "assistant",
        "content": "ACME Ltd is active (no. 123).",
        "usage": {"prompt_tokens": 150, "completion_tokens": 12},
    },
]


def test_jsonl_trials_with_messages_outcomes_and_repetitions(
    workspace: Workspace, tmp_path: Path
) -> None:
    src = write_lines(
        tmp_path / "runs.jsonl",
        [
            {
                "case_id": "c1",
                "input": "Is ACME Ltd registered?",
                "messages": TOOL_CHAT,
                "reward": 1.0,
                "model": "gpt-x",
                "prompt_version": "v2",
                "cost_usd": 0.01,
            },
            {
                "case_id": "c1",
                "input": "Is ACME Ltd registered?",
                "output": "No idea.",
                "outcome": "fail",
                "model": "gpt-x",
                "prompt": "v2",
            },
            {
                "case_id": 7,
                "input": {"question": "Owners?", "subject": {"name": "B"}},
                "output": "Jane 60%",
                "outcome": True,
                "model": "gpt-x",
                "question_id": "owners",
                "key_facts": ["Jane"],
            },
            {"case_id": "c9", "input": "?", "error": "timeout after 600 s", "model": "gpt-x"},
        ],
    )
    do_import(workspace, "jsonl", src, run_id="j1")
    trials = {
        (t.case_id, t.repetition): t
        for t in (Trial.model_validate(b) for b in workspace.iter_bodies("trial"))
    }
    first = trials["c1", 0]
    assert first.prompt == "v2" and first.trace.final_answer == "ACME Ltd is active (no. 123)."
    step = first.trace.tool_calls()[0]
    assert step.arguments == {"name": "ACME Ltd"} and step.observation["status"] == "active"
    usage = first.trace.usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens) == (170, 100, 21)
    assert usage.cost_usd == 0.01 and usage.calls == 2
    assert trials["c1", 1].trace.final_answer == "No idea."  # second line: repetition 1
    assert trials["7", 0].question_id == "owners"
    assert trials["c9", 0].status == "error" and trials["c9", 0].imported_outcome is None
    verdicts = {
        r["case_id"]: r["label"]
        for r in query(
            workspace,
            "SELECT t.case_id || '#' || t.repetition AS case_id, v.label FROM verdicts v "
            "JOIN trials t ON t.key = v.trial_key WHERE v.judge = 'imported_outcome'",
        )
    }
    assert verdicts == {"c1#0": "pass", "c1#1": "fail", "7#0": "pass"}


def test_jsonl_errors_name_line_and_field(workspace: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text(
        "\n".join(
            [
                json.dumps(
                    {"case_id": "a", "input": "q", "output": "x", "model": "m", "reward": 1}
                ),
                "{not json",
                json.dumps({"case_id": "b", "input": "q", "output": "x", "modle": "m"}),
                json.dumps(
                    {
                        "case_id": "c",
                        "input": "q",
                        "output": "x",
                        "model": "m",
                        "reward": 1,
                        "outcome": "pass",
                    }
                ),
                json.dumps({"case_id": "a", "input": "other", "output": "x", "model": "m"}),
                json.dumps(
                    {"case_id": "d", "input": "q", "output": "x", "model": "m", "reward": "hi"}
                ),
            ]
        )
        + "\n"
    )
    with pytest.raises(ImportFormatError) as exc:
        IMPORTERS["jsonl"].parse(src, ImportOptions(), workspace)
    text = str(exc.value)
    assert f"{src}:6: reward: Input should be a valid number" in text
    assert f"{src}:2: invalid JSON" in text
    assert f"{src}:3: modle: Extra inputs are not permitted" in text
    assert f"{src}:4: outcome: give reward or outcome, not both" in text
    assert f"{src}:5: input: case a is described differently on line 1" in text
    assert workspace.kinds() == []


def tau_results() -> list[dict]:
    task = {
        "user_id": "u1",
        "instruction": "Cancel order #1",
        "actions": [{"name": "cancel_pending_order", "kwargs": {"order_id": "#1"}}],
        "outputs": [],
    }
    react = [
        {"role": "system", "content": "wiki"},
        {"role": "user", "content": "cancel #1 please"},
        {
            "role": "assistant",
            "content": 'Thought: look it up\nAction: {"name": '
            '"cancel_pending_order", "arguments": {"order_id": "#1"}}',
        },
        {"role": "user", "content": 'API output: {"status": "cancelled"}'},
        {
            "role": "assistant",
            "content": 'Action: {"name": "respond", "arguments": '
            '{"content": "Done, order #1 is cancelled."}}',
        },
    ]
    return [
        {
            "task_id": 0,
            "trial": 0,
            "reward": 1.0,
            "traj": react,
            "info": {
                "task": task,
                "user_cost": 0.002,
                "reward_info": {"reward": 1.0, "info": {"r_actions": 1.0}},
            },
        },
        {
            "task_id": 0,
            "trial": 1,
            "reward": 0.0,
            "traj": [],
            "info": {"error": "RateLimitError", "traceback": "..."},
        },
    ]


def test_tau_bench_react_traj_becomes_tool_calls(workspace: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "tau.json"
    src.write_text(json.dumps(tau_results()))
    with pytest.raises(ImportFormatError, match="do not name the model: pass --model"):
        IMPORTERS["tau-bench"].parse(src, ImportOptions(), workspace)
    do_import(workspace, "tau-bench", src, model_alias="gpt-4o")
    trials = sorted(
        (Trial.model_validate(b) for b in workspace.iter_bodies("trial")),
        key=lambda t: t.repetition,
    )
    ok, crashed = trials
    call = ok.trace.tool_calls()[0]
    assert (call.tool, call.arguments, call.observation) == (
        "cancel_pending_order",
        {"order_id": "#1"},
        {"status": "cancelled"},
    )
    assert ok.trace.final_answer == "Done, order #1 is cancelled."
    assert ok.case_hash == crashed.case_hash  # the crashed trial borrows its task
    assert crashed.status == "error" and crashed.trace.error is not None
    assert crashed.trace.error.kind == "infra"
    labels = [r["label"] for r in query(workspace, "SELECT label FROM verdicts ORDER BY label")]
    assert labels == ["fail", "pass"]


def test_labels_from_csv_resolve_trials_and_name_bad_lines(
    workspace: Workspace, tmp_path: Path
) -> None:
    src = write_lines(
        tmp_path / "runs.jsonl",
        [{"case_id": c, "input": "q", "output": "a", "model": "m", "reward": 1} for c in "xyz"],
    )
    do_import(workspace, "jsonl", src, run_id="r1")
    key_z = query(workspace, "SELECT key FROM trials WHERE case_id = 'z'")[0]["key"]
    good = tmp_path / "labels.csv"
    good.write_text(
        "run_id,case_id,trial_key,reviewer,helpful,correctness,comment\n"
        "r1,x,,ann,yes,correct,\nr1,y,,bob,No,wrong,misses the owner\n"
        f",,{key_z},ann,1,,\n"
    )
    do_import(workspace, "labels", good)
    rows = query(
        workspace,
        "SELECT case_id, reviewer, helpful, correctness, queue_id FROM labels ORDER BY case_id",
    )
    assert [(r["case_id"], r["helpful"]) for r in rows] == [("x", True), ("y", False), ("z", True)]
    assert rows[0]["queue_id"] == "import:labels.csv"
    bad = tmp_path / "bad.csv"
    bad.write_text("run_id,case_id,reviewer,helpful\nr1,x,ann,maybe\nr1,q,ann,yes\nr9,x,ann,yes\n")
    with pytest.raises(ImportFormatError) as exc:
        IMPORTERS["labels"].parse(bad, ImportOptions(), workspace)
    text = str(exc.value)
    assert f"{bad}:2: helpful: Value error, expected yes/no" in text
    assert f"{bad}:3: case_id: no trial of case q in run r1" in text
    assert f"{bad}:4: case_id: no trial of case x in run r9" in text


def test_pairwise_human_choices_and_judge_orders(workspace: Workspace, tmp_path: Path) -> None:
    src = write_lines(
        tmp_path / "prefs.jsonl",
        [
            {
                "id": "p1",
                "prompt": "Who owns B?",
                "answer_a": "Jane",
                "answer_b": "Unknown",
                "choice": "model_a",
                "annotator": "ann",
            },
            {
                "id": "p1",
                "prompt": "Who owns B?",
                "answer_a": "Jane",
                "answer_b": "Unknown",
                "choice": "A",
                "annotator": "bob",
                "judge": "gpt-judge",
                "judge_ab": "A",
                "judge_ba": "B",
                "judge_confidence_ab": 0.9,
            },
            {
                "id": "p2",
                "prompt": "Sanctioned?",
                "answer_a": "no",
                "answer_b": "no hit",
                "choice": "tie (bothbad)",
            },
            {"id": "p2", "judge": "gpt-judge", "judge_ab": "tie", "judge_ba": "tie"},
        ],
    )
    do_import(workspace, "pairwise", src)
    prefs = query(workspace, "SELECT item_id, choice, annotator FROM preferences ORDER BY 1, 3")
    assert [(p["item_id"], p["choice"]) for p in prefs] == [("p1", "A"), ("p1", "A"), ("p2", "tie")]
    judged = query(
        workspace,
        "SELECT item_id, presentation, winner, source FROM pairwise_judgments ORDER BY 1, 2",
    )
    assert [(j["item_id"], j["presentation"], j["winner"]) for j in judged] == [
        ("p1", "AB", "A"),
        ("p1", "BA", "B"),
        ("p2", "AB", "tie"),
        ("p2", "BA", "tie"),
    ]
    assert {j["source"] for j in judged} == {"import"}
    bad = write_lines(
        tmp_path / "bad.jsonl",
        [
            {"prompt": "q", "answer_a": "x", "choice": "C"},
            {"id": "p3", "judge_ab": "A"},
        ],
    )
    with pytest.raises(ImportFormatError) as exc:
        IMPORTERS["pairwise"].parse(bad, ImportOptions(), workspace)
    assert f"{bad}:1: choice: Value error, expected A, B or tie" in str(exc.value)
    assert f"{bad}:2: Value error, judge_ab/judge_ba need the judge's name" in str(exc.value)


def test_cli_lists_formats_and_rejects_unknown(tmp_path: Path) -> None:
    src = tmp_path / "x.jsonl"
    src.write_text("")
    proc = evals("import", "nope", str(src), "-w", str(tmp_path / "ws"))
    assert proc.returncode == 2
    assert "formats: jsonl, labels, pairwise, tau-bench, tau2-bench" in proc.stderr
    missing = evals("import", "jsonl", str(tmp_path / "none.jsonl"), "-w", str(tmp_path / "ws"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
