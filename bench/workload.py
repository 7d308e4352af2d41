"""Synthetic golden sets and suites for the benchmarks, written to a temporary folder.

Cases look like the EDD demo's (a question about a business, its registration number and
country) but are generated, so a set of any size exists in seconds. With ``tools=True``
the set has one tool, ``lookup(step)``, and every case carries the five fixtures the
fake server's ``react5`` script asks for, so every tool call of the ReAct agent is
answered from the recorded world (matched, not "no recorded observation").
"""

from __future__ import annotations

from pathlib import Path

import orjson
import yaml

from bench.fakesrv import REACT_STEPS, TOOL

KEY_ENV = "BENCH_FAKE_KEY"
"""Environment variable holding the fake server's API key in the bench suites."""


def server_env(base_url: str) -> dict[str, str]:
    """Environment pointing a bench suite's model at the fake server."""
    return {
        KEY_ENV: "sk-fake-bench",
        "HOSTED_VLLM_API_BASE": base_url,
        "OPENAI_BASE_URL": base_url,
    }


def case_record(i: int, tools: bool) -> dict[str, object]:
    """One synthetic case (a few hundred bytes, like a real single question)."""
    record: dict[str, object] = {
        "id": f"c{i:07d}",
        "question_id": "q_registration",
        "input": {
            "question": "What is the registration status and jurisdiction of this business?",
            "subject": {
                "name": f"Bench Company {i} Ltd",
                "registration_number": f"{201000000 + i}A",
                "country": "SG",
            },
        },
        "reference": f"Bench Company {i} Ltd is registered in Singapore; status: Active.",
        "key_facts": [f"{201000000 + i}A", "Singapore", "Active"],
        "tags": {"jurisdiction": "SG", "risk_tier": "low"},
    }
    if tools:
        record["fixtures"] = [
            {"tool": TOOL, "arguments": {"step": s}, "observation": {"step": s, "status": "ok"}}
            for s in range(1, REACT_STEPS + 1)
        ]
    return record


def write_golden_set(folder: Path, cases: int, *, tools: bool = False) -> Path:
    """A valid golden set of `cases` cases in `folder` (streamed: any size)."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, object] = {
        "name": folder.name,
        "description": "Synthetic benchmark set.",
        "tools": [],
    }
    if tools:
        manifest["tools"] = [
            {
                "name": TOOL,
                "description": "Look up one step of the review.",
                "parameters": {
                    "type": "object",
                    "properties": {"step": {"type": "integer"}},
                    "required": ["step"],
                },
            }
        ]
    (folder / "dataset.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    questions = [
        {
            "id": "q_registration",
            "title": "Registration",
            "rubric": "States the registration number, country and status.",
        }
    ]
    (folder / "questions.yaml").write_text(yaml.safe_dump(questions, sort_keys=False))
    with open(folder / "cases.jsonl", "wb") as fh:
        for start in range(0, cases, 10_000):
            chunk = range(start, min(cases, start + 10_000))
            fh.write(b"".join(orjson.dumps(case_record(i, tools)) + b"\n" for i in chunk))
    return folder


def write_suite(
    folder: Path,
    dataset: Path,
    *,
    lanes: int,
    workers: int = 1,
    max_steps: int = 8,
    name: str = "bench",
    model: str = "hosted_vllm/fake",
) -> Path:
    """A suite replaying the ReAct agent (native tool calling) on the fake server.

    The model is reached through litellm's ``hosted_vllm/`` provider, its handler for
    self-hosted OpenAI-compatible servers (what the fake server is, and the route the
    embedded local model takes); ``openai/`` works too and costs about 1 ms more CPU per
    call (the OpenAI SDK under it: bench_gateway_cpu.py measures both). The server's
    address is not in the suite: litellm reads it from HOSTED_VLLM_API_BASE (or
    OPENAI_BASE_URL for ``openai/``), so a suite keeps its run id and trial keys whatever
    port the server got, and a rerun finds its finished trials (server_env)."""
    folder.mkdir(parents=True, exist_ok=True)
    prompt = folder / "prompt.md"
    prompt.write_text("You answer due-diligence questions about businesses tersely.\n")
    suite = {
        "name": name,
        "dataset": str(dataset.resolve()),
        "agent": {"name": "react", "params": {"mode": "native"}},
        "models": [
            {
                "alias": "fake",
                "model": model,
                "api_key_env": KEY_ENV,
                "supports_tools": True,
                "max_concurrency": lanes,
            }
        ],
        "prompts": {"v1": str(prompt.resolve())},
        "limits": {"lanes": lanes, "workers": workers, "max_steps": max_steps},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path
