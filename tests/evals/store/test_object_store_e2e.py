"""A suite run into an ``s3://`` workspace on a real S3 server (moto), then judged, gated,
reported and audited from it by separate CLI processes given only the URL and the
environment; an edited object is caught by the audit and left out of the views."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evals.store.query import query
from evals.store.workspace import Workspace
from evals.testing import FakeLLMServer
from evals.testing.object_store import S3Server
from tests.helpers.cli import CHECKS, evals

REPO = Path(__file__).resolve().parents[3]

def write_suite(tmp_path: Path, server: FakeLLMServer) -> Path:
    (tmp_path / "v1.md").write_text("You are an analyst.\n")
    base = f"api_base: '{server.base_url}'}}, api_key_env: FAKE_LLM_KEY, timeout_s: 5"
    path = tmp_path / "mini.yaml"
    path.write_text(
        f"name: mini\ndataset: {REPO / 'datasets' / 'edd_demo'}\nagent: {{name: react}}\n"
        f"models:\n  - {{alias: native, model: openai/fake, params: {{temperature: 0, {base}, "
        "supports_tools: true}\n"
        "prompts: {v1: v1.md}\nrepetitions: 2\nlimit: 3\nlimits: {lanes: 4, max_steps: 3}\n"
    )
    return path


def test_run_judge_gate_report_audit_on_s3(
    s3_url: str, tmp_path: Path, moto_s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-fake-not-secret")
    with FakeLLMServer() as server:
        suite = write_suite(tmp_path, server)
        ran = evals("run", str(suite), "-w", s3_url, "--no-progress")
        assert ran.returncode == 0, ran.stderr
        calls = server.count
        again = evals("run", str(suite), "-w", s3_url, "--no-progress")
        assert again.returncode == 0, again.stderr
        assert server.count == calls  # every finished trial found on the store
    ws = Workspace(s3_url, create=False)
    (run_id,) = [r["run_id"] for r in query(ws, "SELECT run_id FROM runs")]
    assert query(ws, "SELECT count(*) AS n FROM trials WHERE run_id = ?", [run_id])[0]["n"] == 6
    assert not any(Path(tmp_path / "scratch").rglob("*.jsonl"))  # no record kept locally

    (tmp_path / "judges.yaml").write_text(CHECKS)
    judged = evals("judge", run_id, "-w", s3_url, "--judges", str(tmp_path / "judges.yaml"),
                   "--no-progress")
    assert judged.returncode == 0, judged.stderr
    assert "6 trials" in judged.stdout
    assert query(ws, "SELECT count(*) AS n FROM verdicts WHERE judge = 'cascade'")[0]["n"] == 6

    gate = evals("gate", str(REPO / "gates" / "edd_demo.yaml"), "--run", run_id, "-w", s3_url,
                 "--baseline", "none", "--json")
    assert gate.returncode in (0, 3, 4), gate.stderr  # a decision, not an error
    assert query(ws, "SELECT count(*) AS n FROM decisions")[0]["n"] == 1

    out = tmp_path / "report"
    report = evals("report", run_id, "-w", s3_url, "--out", str(out), "--format", "md")
    assert report.returncode == 0, report.stderr
    assert run_id in "".join(p.read_text() for p in out.rglob("*.md"))

    audit = evals("audit", "verify", "-w", s3_url)
    assert audit.returncode == 0, audit.stderr
    assert "audit ok" in audit.stdout
    pin = evals("audit", "head", "-w", s3_url)
    assert pin.returncode == 0 and ":" in pin.stdout, pin.stderr
    assert evals("audit", "verify", "-w", s3_url, "--pin", pin.stdout.strip()).returncode == 0
    info = evals("workspace", "info", "-w", s3_url)
    assert info.returncode == 0 and f"run {run_id}" in info.stdout, info.stderr
    status = evals("status", "-w", s3_url)
    assert status.returncode == 0 and run_id in status.stdout, status.stderr
    assert f"What is in {s3_url}:" in status.stdout

    tamper_one_trial(moto_s3, s3_url)
    caught = evals("audit", "verify", "-w", s3_url)
    assert caught.returncode != 0
    assert "content does not match its hash (record edited)" in caught.stderr
    assert "s3://" in caught.stderr and "/records/trial/" in caught.stderr
    # The views leave the edited record out rather than trust it.
    assert query(ws, f"SELECT count(*) AS n FROM trials WHERE run_id = '{run_id}'")[0]["n"] == 5


def tamper_one_trial(server: S3Server, url: str) -> None:
    """Rewrite a trial's answer in its segment object, keeping its hash (an edit)."""
    bucket, prefix = url.removeprefix("s3://").split("/", 1)
    client = server.client()
    keys = [o["Key"] for o in client.list_objects_v2(
        Bucket=bucket, Prefix=f"{prefix}/records/trial/")["Contents"]]
    key = keys[0]
    table = pq.read_table(io.BytesIO(client.get_object(Bucket=bucket, Key=key)["Body"].read()))
    rows = table.to_pylist()
    rows[0]["body"] = rows[0]["body"].replace('"final_answer":"', '"final_answer":"FORGED ')
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), out)
    client.put_object(Bucket=bucket, Key=key, Body=out.getvalue())
