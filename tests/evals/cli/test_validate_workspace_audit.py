"""The foundation CLI: help, schema export, workspace info, audit verify."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from evals.schema import AgentSpec, ModelSpec, Trace, Trial
from evals.store.workspace import Workspace


def evals(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evals.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd)


def test_help_lists_commands() -> None:
    out = evals("--help").stdout
    for command in ("validate", "schema", "workspace", "audit"):
        assert command in out


def test_schema_writes_valid_json_schemas(tmp_path: Path) -> None:
    proc = evals("schema", "--out", str(tmp_path / "s"))
    assert proc.returncode == 0, proc.stderr
    trial = json.loads((tmp_path / "s" / "trial.schema.json").read_text())
    assert trial["properties"]["key"]["description"].startswith("Stable hash")
    assert {p.name for p in (tmp_path / "s").iterdir()} >= {
        "case.schema.json", "verdict.schema.json", "label.schema.json",
        "decision.schema.json", "run_link.schema.json", "calibration.schema.json",
        "queue.schema.json", "claim.schema.json", "import.schema.json",
        "pairwise_judgment.schema.json", "preference.schema.json",
        "cascade_funnel.schema.json", "event.schema.json", "run.schema.json"}


def test_audit_verify_names_the_edited_record(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    for i in range(3):
        ws.append("trial", Trial(key=f"t{i}", run_id="r", dataset="d", dataset_hash="h",
                                 case_id="c", case_hash="c", question_id="q",
                                 agent=AgentSpec(name="a"), model=ModelSpec(alias="m", model="x"),
                                 prompt="v", prompt_hash="p", trace=Trace(final_answer="yes")))
    assert evals("audit", "verify", "-w", str(ws.root)).returncode == 0
    info = evals("workspace", "info", "-w", str(ws.root))
    assert info.returncode == 0 and "trial" in info.stdout
    seg = ws.segments("trial")[0]
    data = seg.read_bytes()
    line_of_t1 = data[: data.index(b'"key":"t1"')].count(b"\n") + 1
    i = data.index(b'"yes"', data.rfind(b"\n", 0, data.index(b'"key":"t1"')))
    seg.write_bytes(data[:i + 1] + b"Y" + data[i + 2:])  # one byte
    proc = evals("audit", "verify", "-w", str(ws.root))
    assert proc.returncode == 1
    assert f"{seg}:{line_of_t1} (record t1): content does not match its hash" in proc.stderr


def test_missing_workspace_is_one_line_error(tmp_path: Path) -> None:
    proc = evals("audit", "verify", "-w", str(tmp_path / "none"))
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "not a workspace" in proc.stderr
