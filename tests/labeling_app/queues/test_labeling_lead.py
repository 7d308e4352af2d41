"""Lead tools without the browser: adjudication, label edits, history, export, CLI export."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from evals.store.audit import verify_workspace
from evals.store.query import query
from evals.store.workspace import Workspace
from labeling_app.metrics.dashboard import effective
from labeling_app.queues.build import create_queue
from labeling_app.queues.export import export, labels_frame, to_bytes, trials_frame
from labeling_app.queues.lead import adjudicate, disagreements, edit_label, history, resolved_items
from labeling_app.queues.service import Decision, QueueError, QueueService
from labeling_app.queues.state import compute_state

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def two_reviewers_disagree(ws: Workspace) -> tuple[QueueService, str, str]:
    """A k=2 queue where alice and bob label the same first item differently."""
    q = create_queue(
        ws, source="sample", run_ids=["run-1"], name="t", created_by="lead", overlap=2, now=T0
    )
    svc = QueueService(ws)
    item = svc.claim_next(q.queue_id, "alice", now=at(0))
    assert item is not None
    same = svc.claim_next(q.queue_id, "bob", now=at(1))
    assert same is not None and same.item_id == item.item_id
    svc.decide(
        q.queue_id, item.item_id, "alice", Decision(helpful=True, correctness="correct"), now=at(5)
    )
    svc.decide(
        q.queue_id, item.item_id, "bob", Decision(helpful=False, correctness="wrong"), now=at(6)
    )
    return svc, q.queue_id, item.item_id


def test_a_disagreement_is_listed_until_a_lead_settles_it(trial_ws: Workspace) -> None:
    svc, qid, item_id = two_reviewers_disagree(trial_ws)
    [split] = disagreements(svc)
    assert (split.item_id, split.source, split.helpful) == (item_id, "split", None)
    with pytest.raises(QueueError, match="reason"):
        adjudicate(svc, qid, item_id, "lead", True, "partly", "  ")
    adj = adjudicate(svc, qid, item_id, "lead", True, "partly", "the share is right", now=at(9))
    assert disagreements(svc) == []
    [settled] = disagreements(svc, include_settled=True)
    assert (settled.source, settled.helpful, settled.correctness) == ("adjudicated", True, "partly")
    assert sorted(adj.labels) == sorted(lb.id for lb in settled.labels)
    # The reviewers' labels stay as they were (agreement is measured on them).
    assert {lb.reviewer: lb.helpful for lb in settled.labels} == {"alice": True, "bob": False}
    # A later adjudication wins; both records are kept.
    adjudicate(svc, qid, item_id, "admin", False, None, "second look", now=at(20))
    again = resolved_items(svc)[(qid, item_id)]
    assert (again.helpful, again.adjudication and again.adjudication.by) == (False, "admin")
    assert len(svc.index.records("adjudication")) == 2


def test_editing_a_label_appends_an_audited_replacement(trial_ws: Workspace) -> None:
    svc, qid, item_id = two_reviewers_disagree(trial_ws)
    [old] = [lb for lb in svc.index.labels(qid) if lb.reviewer == "bob"]
    with pytest.raises(QueueError, match="only your own"):
        edit_label(svc, old.id, "alice", {"helpful": True}, "typo")
    with pytest.raises(QueueError, match="reason"):
        edit_label(svc, old.id, "bob", {"helpful": True}, "")
    with pytest.raises(QueueError, match="nothing changed"):
        edit_label(svc, old.id, "bob", {"helpful": False}, "no change")
    record = edit_label(
        svc,
        old.id,
        "bob",
        {"helpful": True, "comment": "misread"},
        "clicked the wrong one",
        now=at(30),
    )
    assert record.changes == {"helpful": [False, True], "comment": [None, "misread"]}
    labels = svc.index.labels(qid)
    bob = [lb for lb in labels if lb.reviewer == "bob"]
    assert [lb.action for lb in bob] == ["submit", "undo", "submit"]
    new = bob[-1]
    assert (new.helpful, new.active_seconds, new.shown_at) == (
        True,
        old.active_seconds,
        old.shown_at,
    )
    # Every reader counts the new label once and the old one not at all.
    assert [lb.id for lb in effective(labels) if lb.reviewer == "bob"] == [new.id]
    counted = query(trial_ws, "SELECT reviewer, helpful FROM counted_labels")
    assert [r["helpful"] for r in counted if r["reviewer"] == "bob"] == [True]
    state = compute_state(svc.queue(qid), [], [], labels, at(40))
    assert state.items[item_id].done["bob"].id == new.id
    # The edit is in the reviewer's history; editing the old label again is refused.
    mine, chains = history(svc, "bob")
    assert [lb.id for lb in mine] == [new.id] and chains[new.id][
        0
    ].reason == "clicked the wrong one"
    with pytest.raises(QueueError, match="undone or edited"):
        edit_label(svc, old.id, "bob", {"helpful": False}, "again")
    # The records are part of the hash-chained store.
    trial_ws.close(compact=False)
    report = verify_workspace(trial_ws)
    assert report.ok, report


def test_an_edited_chain_is_followed(trial_ws: Workspace) -> None:
    svc, qid, _ = two_reviewers_disagree(trial_ws)
    [first] = [lb for lb in svc.index.labels(qid) if lb.reviewer == "alice"]
    one = edit_label(svc, first.id, "alice", {"correctness": "partly"}, "r1", now=at(30))
    two = edit_label(svc, one.new_label, "alice", {"comment": "ok"}, "r2", now=at(40))
    _, chains = history(svc, "alice")
    assert [e.id for e in chains[two.new_label]] == [one.id, two.id]


def test_export_tables_in_both_formats(trial_ws: Workspace, tmp_path: Path) -> None:
    svc, qid, item_id = two_reviewers_disagree(trial_ws)
    adjudicate(svc, qid, item_id, "lead", True, None, "=HYPERLINK(evil)", now=at(9))
    labels = labels_frame(svc)
    assert len(labels) == 2 and set(labels["resolved_source"]) == {"adjudicated"}
    assert labels["effective"].all()
    trials = trials_frame(svc)
    assert len(trials) == 12
    row = trials[trials["trial_key"] == labels["trial_key"].iloc[0]].iloc[0]
    assert (row["human_source"], row["human_helpful"], row["human_labels"]) == (
        "adjudicated",
        True,
        2,
    )
    assert set(trials["cascade_verdict"]) == {"pass", "fail"}
    csv = to_bytes(labels, "csv").decode()
    assert "'=HYPERLINK(evil)" in csv and ",=HYPERLINK" not in csv  # no formula for Excel
    path, n = export(svc, "labels", "parquet", tmp_path / "out")
    back = pd.read_parquet(path)
    assert n == 2 and list(back["adjudication_reason"]) == ["=HYPERLINK(evil)"] * 2


@pytest.mark.slow
def test_cli_export_writes_both_tables(trial_ws: Workspace, tmp_path: Path) -> None:
    two_reviewers_disagree(trial_ws)
    trial_ws.close(compact=False)
    out = tmp_path / "export"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "evals.cli.main", "label", "export", "-w", str(trial_ws.root)]
        return subprocess.run([*cmd, *args], capture_output=True, text=True)

    proc = run("--out", str(out), "--format", "parquet")
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_parquet(out / "labels.parquet")) == 2
    assert len(pd.read_parquet(out / "trials.parquet")) == 12
    proc = run("--out", str(out), "--what", "labels")
    assert proc.returncode == 0 and (out / "labels.csv").exists()
    bad = run("--out", str(out), "--what", "verdicts")
    assert bad.returncode != 0 and "--what must be labels or trials" in bad.stderr + bad.stdout


def test_the_leads_decision_is_what_rates_and_gates_count(trial_ws: Workspace) -> None:
    """After an adjudication every surface built on the resolved labels counts the
    lead's rating for that item, while the reviewers' own ratings stay for agreement."""
    svc, qid, item_id = two_reviewers_disagree(trial_ws)
    trial_key = svc.queue(qid).item(item_id).trial_key
    sql = (
        "SELECT reviewer, helpful, resolved_helpful, resolved_correctness, adjudication_id "
        "FROM resolved_labels WHERE item_id = ? ORDER BY reviewer"
    )
    before = query(trial_ws, sql, [item_id])
    assert [(r["helpful"], r["resolved_helpful"]) for r in before] == [(True, True), (False, False)]
    adj = adjudicate(svc, qid, item_id, "lead", False, "wrong", "the owner is missed", now=at(9))
    after = query(trial_ws, sql, [item_id])
    assert [r["helpful"] for r in after] == [True, False]  # the reviewers' own, kept
    assert {(r["resolved_helpful"], r["resolved_correctness"]) for r in after} == {
        (False, "wrong")
    }
    assert {r["adjudication_id"] for r in after} == {adj.id}
    from evals.analysis.rundata import RunRef, load_run

    run = load_run(trial_ws, RunRef("run-1"))
    assert [lb.helpful for lb in run.assisted if lb.trial_key == trial_key] == [False, False]
