"""The object-store workspace on a real S3 server (moto): no-overwrite puts and the 412
path, many writers at once, leases (busy, renewal, expiry of a dead holder, shared and
exclusive), trial-key claims, and the local-folder object store's same guarantees."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from evals.store.audit import verify_workspace
from evals.store.backends.leases import Leases
from evals.store.backends.local import LocalObjectStore
from evals.store.backends.object_claims import ObjectKeyClaims
from evals.store.backends.object_workspace import ObjectWorkspace
from evals.store.backends.s3 import S3ObjectStore
from evals.store.query import query
from evals.store.workspace import LockBusy, StoreError, Workspace
from evals.testing.object_store import S3Server

REPO = Path(__file__).resolve().parents[3]


def count(ws: Workspace, kind: str) -> int:
    return int(query(ws, f'SELECT count(*) AS n FROM "raw_{kind}" WHERE body IS NOT NULL')[0]["n"])


@pytest.mark.parametrize("backend", ["s3", "local"])
def test_put_new_never_overwrites(backend: str, s3_url: str, tmp_path: Path) -> None:
    store = S3ObjectStore(s3_url) if backend == "s3" else LocalObjectStore(tmp_path / "objs")
    assert store.put_new("a/b.json", b"first")
    assert not store.put_new("a/b.json", b"second")  # 412 PreconditionFailed: a clash
    assert store.get("a/b.json") == b"first"
    assert [o.key for o in store.list("a/")] == ["a/b.json"]
    store.delete("a/b.json")
    assert store.get("a/b.json") is None and store.list("a/") == []


def test_workspace_url_selects_the_object_store(s3_url: str) -> None:
    ws = Workspace(s3_url)
    assert isinstance(ws, ObjectWorkspace) and ws.remote and ws.url == s3_url
    assert isinstance(Workspace(Path(s3_url), create=False), ObjectWorkspace)  # s3:/ form
    with pytest.raises(StoreError, match="not a workspace"):
        Workspace(s3_url + "-other", create=False)
    # Its local scratch folder (ws.root, handed to other processes by older code paths)
    # opens the same object-store workspace, never a local one.
    again = Workspace(str(ws.root), create=False)
    assert isinstance(again, ObjectWorkspace) and again.url == s3_url
    assert not (ws.root / "workspace.json").exists()


def test_a_missing_bucket_is_one_line_naming_it(moto_s3: S3Server, s3_url: str) -> None:
    with pytest.raises(StoreError, match=r"s3://no-such-bucket-x/ws: .*NoSuchBucket"):
        Workspace("s3://no-such-bucket-x/ws")


def test_a_name_clash_moves_the_segment_and_overwrites_nothing(
    s3_url: str, moto_s3: S3Server
) -> None:
    ws = Workspace(s3_url)
    writer = ws.writer("label")
    taken = writer._part_key(1)
    store = S3ObjectStore(s3_url)
    assert store.put_new(taken, b"someone else's object")
    writer.append({"id": "mine"})
    assert store.get(taken) == b"someone else's object"  # never overwritten
    assert writer._part_key(1) != taken  # the records went to a new segment name
    assert [b["id"] for b in ws.iter_bodies("label")] == ["mine"]
    ws.close()
    assert count(Workspace(s3_url), "label") == 1
    report = verify_workspace(Workspace(s3_url))
    assert report.findings and any("unreadable Parquet" in str(f) for f in report.findings)


WRITER = textwrap.dedent("""
    import sys, threading
    from evals.store.workspace import Workspace
    url, proc = sys.argv[1], sys.argv[2]
    ws = Workspace(url)
    def write(t):
        for i in range(15):
            ws.append("label", {"id": f"{proc}-{t}-{i}"})
    threads = [threading.Thread(target=write, args=(t,)) for t in range(3)]
    for t in threads: t.start()
    for t in threads: t.join()
    ws.close()
""")


def test_many_processes_append_at_once_and_nothing_is_lost(s3_url: str) -> None:
    Workspace(s3_url)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, s3_url, str(p)], env=env)
             for p in range(4)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    ws = Workspace(s3_url, create=False)
    ids = [r["id"] for r in query(ws, "SELECT body->>'$.id' AS id FROM raw_label "
                                      "WHERE body IS NOT NULL")]
    assert sorted(ids) == sorted(f"{p}-{t}-{i}" for p in range(4) for t in range(3)
                                 for i in range(15))
    report = verify_workspace(ws)
    assert report.ok, [str(f) for f in report.findings]
    assert report.segments == report.sealed == 4  # one segment per process, compacted
    assert all(p.suffix == ".parquet" for p in ws.segments("label"))


def test_audit_names_a_deleted_segment_and_a_cut_tail(s3_url: str) -> None:
    ws = Workspace(s3_url)
    for i in range(3):
        ws.append("label", {"id": str(i)})
    ws.append("event", {"id": "e"})
    ws.close(compact=False)  # parts stay: the seal is the last one
    store = S3ObjectStore(s3_url)
    label_parts = [o.key for o in store.list("records/label/")]
    store.delete(label_parts[-1])  # the seal's part: last record and seal gone
    (event_part,) = [o.key for o in store.list("records/event/")][:1]
    for o in store.list("records/event/"):
        store.delete(o.key)
    text = "\n".join(str(f) for f in verify_workspace(Workspace(s3_url)).findings or [])
    assert "says it was sealed; its seal is gone" in text or "last records deleted" in text
    assert "segment deleted (the manifest lists it)" in text and event_part


def test_a_pinned_checkpoint_detects_a_rewritten_manifest(s3_url: str) -> None:
    ws = Workspace(s3_url)
    ws.append("label", {"id": "a"})
    ws.close()
    pin = ws.checkpoint()
    assert verify_workspace(Workspace(s3_url), pin).ok
    store = S3ObjectStore(s3_url)
    seq = int(pin.split(":")[0])
    store.delete(f"manifest/{seq:012d}.json")
    report = verify_workspace(Workspace(s3_url), pin)
    assert any("pinned head" in str(f) for f in report.findings or [])


def test_try_lock_is_exclusive_across_workspaces(s3_url: str) -> None:
    first, second = Workspace(s3_url), Workspace(s3_url)
    with first.try_lock("run-x"), pytest.raises(LockBusy, match="expires"), \
            second.try_lock("run-x"):
        pass
    with second.try_lock("run-x"):
        pass


def test_an_exclusive_lock_waits_for_shared_holders(s3_url: str) -> None:
    holder, runner = Workspace(s3_url), Workspace(s3_url)
    entered = threading.Event()

    def take() -> None:
        with runner.lock("run-x.workers", fcntl.LOCK_EX):
            entered.set()

    with holder.lock("run-x.workers", fcntl.LOCK_SH):
        thread = threading.Thread(target=take)
        thread.start()
        assert not entered.wait(1.5)  # a live shared holder: the exclusive one waits
    thread.join(60)
    assert entered.is_set()


HOLDER = textwrap.dedent("""
    import sys, time
    from evals.store.backends.leases import Leases
    from evals.store.backends.s3 import S3ObjectStore
    leases = Leases(S3ObjectStore(sys.argv[1]), ttl=float(sys.argv[2]))
    assert leases.try_acquire("the-lock", "holder")
    print("held", flush=True)
    time.sleep(600)
""")


def test_a_dead_holders_lease_expires_and_a_live_one_is_renewed(s3_url: str) -> None:
    Workspace(s3_url)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, s3_url, "3"], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        leases = Leases(S3ObjectStore(s3_url), ttl=3)
        time.sleep(4)  # longer than the lease lives: only renewal keeps it
        assert not leases.try_acquire("the-lock", "me")
        assert leases.live_owner("the-lock") == "holder"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    leases.acquire("the-lock", "me")  # returns once the dead holder's lease expired
    assert leases.live_owner("the-lock") == "me"
    leases.close()
    assert leases.live_owner("the-lock") is None


def test_trial_key_claims_exclude_and_the_first_finisher_is_remembered(s3_url: str) -> None:
    store = S3ObjectStore(s3_url)
    a, b = ObjectKeyClaims(store, "run-a"), ObjectKeyClaims(store, "run-b")
    assert a.try_claim("k1") and not b.try_claim("k1") and b.try_claim("k2")
    assert b.finished_by("k1") is None
    a.mark_done("k1")
    a.release("k1")
    assert b.try_claim("k1") and b.finished_by("k1") == "run-a" and a.finished_by("k1") is None
    b.mark_done("k1")  # the first finisher stays
    assert ObjectKeyClaims(store, "run-c").finished_by("k1") == "run-a"
    a.close()
    b.close()


def test_leases_on_a_local_folder_store(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objs")
    one, two = Leases(store, ttl=30), Leases(store, ttl=30)
    assert one.try_acquire("x", "one") and not two.try_acquire("x", "two")
    one.release("x")
    assert two.try_acquire("x", "two")
    two.close()
    assert len(store.list("leases/x/")) <= 2  # old generations are collected


def test_a_part_compacted_away_under_a_reader_is_retried(s3_url: str) -> None:
    import duckdb

    from evals.store.backends.object_views import vanished
    from evals.store.query import connect

    ws = Workspace(s3_url)
    for i in range(3):
        ws.append("label", {"id": str(i)})
    with connect(ws) as con:  # views over the parts as listed now
        ws.close()  # seal and compact: the parts are deleted
        with pytest.raises(duckdb.Error) as failed:
            con.execute("SELECT count(*) FROM raw_label").fetchall()
    assert vanished(failed.value)  # recognised as "compacted meanwhile"
    assert count(Workspace(s3_url), "label") == 3  # query() lists again and succeeds


def test_racing_contenders_for_one_lease_exactly_one_wins(s3_url: str) -> None:
    store = S3ObjectStore(s3_url)
    for round_ in range(3):
        contenders = [Leases(store, ttl=30) for _ in range(8)]
        start, won = threading.Barrier(8), []
        threads = [threading.Thread(target=_contend, args=(start, won, i, c, f"race-{round_}"))
                   for i, c in enumerate(contenders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1  # one conditional put succeeded; the others saw it
        assert Leases(store).live_owner(f"race-{round_}") == f"owner-{won[0]}"
        for c in contenders:
            c.close()


def _contend(start: threading.Barrier, won: list[int], i: int, leases: Leases,
             name: str) -> None:
    start.wait()
    if leases.try_acquire(name, f"owner-{i}"):
        won.append(i)
