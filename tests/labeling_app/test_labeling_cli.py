"""`evals label`: roster, queue and simulate commands; one-line errors and exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evals.store.workspace import Workspace
from labeling_app.auth.roster import authenticate, load_roster
from labeling_app.queues.records import RecordIndex

pytestmark = pytest.mark.slow  # real subprocesses


def evals(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evals.cli.main", *args], input=stdin, capture_output=True, text=True
    )


def test_roster_add_hashes_the_password(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yaml"
    proc = evals(
        "label",
        "roster",
        "add",
        "carol",
        "--role",
        "lead",
        "--roster",
        str(roster),
        "--password-stdin",
        stdin="s3cret-pw\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert "s3cret-pw" not in roster.read_text()
    assert authenticate(load_roster(roster), "carol", "s3cret-pw").role == "lead"
    bad = evals(
        "label",
        "roster",
        "add",
        "dave",
        "--role",
        "boss",
        "--roster",
        str(roster),
        "--password-stdin",
        stdin="x\n",
    )
    assert bad.returncode == 2 and "--role must be one of" in bad.stderr


def test_queue_create_list_simulate(trial_ws: Workspace, dataset: Path) -> None:
    root = str(trial_ws.root)
    proc = evals(
        "label",
        "queue",
        "create",
        "-w",
        root,
        "--run",
        "latest",
        "--overlap",
        "2",
        "--control-share",
        "0.25",
        "--name",
        "cli",
    )
    assert proc.returncode == 0, proc.stderr
    assert "8 items (2 control), overlap 2" in proc.stdout  # 6 survivors + 2 controls
    missing = evals("label", "queue", "create", "-w", root, "--run", "nope")
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("error: run(s) nope have no judge-cascade")
    assert len(missing.stderr.strip().splitlines()) == 1
    sim = evals("label", "simulate", "-w", root, "--reviewers", "3", "--seed", "2")
    assert sim.returncode == 0, sim.stderr
    assert "simulated decisions" in sim.stdout
    labels = RecordIndex(Workspace(trial_ws.root)).labels()
    assert labels and all(lb.reviewer.startswith("sim:") for lb in labels)
    listed = evals("label", "queue", "list", "-w", root)
    assert listed.returncode == 0 and "cli" in listed.stdout


def test_serve_needs_a_roster(tmp_path: Path) -> None:
    Workspace(tmp_path / "ws")
    proc = evals("label", "-w", str(tmp_path / "ws"))
    assert proc.returncode == 1
    assert "no roster at" in proc.stderr and "demo_roster.yaml" in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("users: [{id: x, role: boss}]\n")
    proc = evals("label", "-w", str(tmp_path / "ws"), "--roster", str(bad))
    assert proc.returncode == 2 and "users.0.role" in proc.stderr
