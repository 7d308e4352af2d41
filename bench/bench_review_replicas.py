"""Issue 16 item 6: the review app as two replicas on one PostgreSQL, 20 reviewers.

A throwaway PostgreSQL server is started from nothing (`labeling_app.queues.pg.server`),
a review queue of --queued items (overlap 2) is written to a workspace, and two app
replicas are started on it (`evals label --queue-db URL`, two real Streamlit processes on
two ports). The reviewers are driven through the queue service the replicas run
(`PgQueueService`: Streamlit's websocket protocol has no load client here), in two
processes, one per replica, with --reviewers / 2 threads each: every reviewer claims its
next item (`claim_next`: the records-derived preferred item, then one ``UPDATE ... FOR
UPDATE SKIP LOCKED`` statement applying the overlap rule) and submits a label for it
(`decide`: label appended with fsync, decision committed), --items times, with no pause.
The claim latency is the wall time of `claim_next`; p50/p95 are taken per run over every
claim, claims/s over the run's wall time, each reported as the median of --runs runs.
After the runs, the state in PostgreSQL is compared with the state the records give
(`double_assignments` counts items held or filled by more than k reviewers: must be 0).

    python -m bench.bench_review_replicas [--queued 10000] [--reviewers 20] [--items 10]
        [--runs 3] [--no-replicas] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.bench_review_app import make_queue, percentile
from bench.common import PYTHON, ROOT, base_env, fmt, log, summary
from evals.store.workspace import Workspace

ROSTER = ROOT / "labeling_app" / "demo_roster.yaml"


def start_replica(root: Path, url: str) -> subprocess.Popen[bytes]:
    """One `evals label` replica on a free port, up when this returns."""
    from labeling_app.queues.pg.server import free_port

    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, "-m", "evals.cli.main", "label", "-w", str(root), "--port", str(port),
         "--roster", str(ROSTER), "--queue-db", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=base_env(),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("a replica did not come up")


def worker(root: Path, url: str, queue_id: str, names: list[str], items: int) -> dict[str, Any]:
    """One replica's reviewers (threads) at work; their latencies and wall times."""
    from labeling_app.queues.pg import service_for
    from labeling_app.queues.service import Decision

    svc = service_for(Workspace(root), url)
    svc.holding(queue_id, "warm-up")  # the first read parses the queue record
    with svc.live(queue_id):
        pass
    claims: list[float] = []
    decides: list[float] = []
    lock = threading.Lock()
    starts: list[float] = []
    ends: list[float] = []

    def reviewer(name: str) -> None:
        yes = Decision(action="submit", helpful=True, correctness="correct")
        start = time.time()
        for _ in range(items):
            t0 = time.perf_counter()
            item = svc.claim_next(queue_id, name)
            t1 = time.perf_counter()
            if item is None:
                break
            svc.decide(queue_id, item.item_id, name, yes)
            t2 = time.perf_counter()
            with lock:
                claims.append(t1 - t0)
                decides.append(t2 - t1)
        with lock:
            starts.append(start)
            ends.append(time.time())

    threads = [threading.Thread(target=reviewer, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    svc.ws.close(compact=False)
    return {"claims": claims, "decides": decides, "start": min(starts), "end": max(ends)}


def one_run(
    root: Path, url: str, queue_id: str, reviewers: int, items: int, run: int
) -> dict[str, Any]:
    """Two reviewer processes (one per replica) at once; the run's figures."""
    half = reviewers // 2
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        for p in range(2):
            names = [f"r{run}-{p}-{n}" for n in range(half if p == 0 else reviewers - half)]
            out = Path(tmp) / f"w{p}.json"
            cmd = [PYTHON, "-m", "bench.bench_review_replicas", "--worker", str(root), url,
                   queue_id, ",".join(names), str(items), str(out)]  # fmt: skip
            procs.append((out, subprocess.Popen(cmd, env=base_env())))
        parts = []
        for out, proc in procs:
            if proc.wait(timeout=1800) != 0:
                raise RuntimeError(f"a reviewer process failed ({proc.returncode})")
            parts.append(json.loads(out.read_text()))
    claims = [c for part in parts for c in part["claims"]]
    wall = max(p["end"] for p in parts) - min(p["start"] for p in parts)
    return {
        "claims": len(claims),
        "p50_ms": 1000 * percentile(claims, 0.5),
        "p95_ms": 1000 * percentile(claims, 0.95),
        "decide_p50_ms": 1000 * percentile([d for p in parts for d in p["decides"]], 0.5),
        "claims_per_s": len(claims) / wall if wall > 0 else 0.0,
    }


def check(root: Path, url: str, queue_id: str) -> dict[str, int]:
    """PostgreSQL's state against the records'; items held beyond k."""
    from evals.schema import utcnow
    from labeling_app.queues.pg.db import Database
    from labeling_app.queues.pg.rebuild import live_state, records_state

    db = Database(url)
    now = utcnow()
    ws = Workspace(root, create=False)
    state = live_state(db, queue_id, now)
    db.close()
    same = state == records_state(ws, queue_id, now)
    over = sum(1 for s in state.values() if len(s["done"]) + len(s["claims"]) > 2)
    return {"state_equals_records": int(same), "double_assignments": over}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Server, queue, replicas, runs; the result."""
    from labeling_app.queues.pg.server import LocalPostgres

    scratch = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    server = LocalPostgres.start()
    replicas: list[subprocess.Popen[bytes]] = []
    try:
        url = server.create_database("bench")
        ws = Workspace(scratch / "ws")
        queue_id = make_queue(ws, scratch, args.queued, overlap=2)
        ws.close(compact=False)
        if not args.no_replicas:
            replicas = [start_replica(ws.root, url) for _ in range(2)]
        runs = []
        for run in range(args.runs):
            runs.append(one_run(ws.root, url, queue_id, args.reviewers, args.items, run))
            r = runs[-1]
            log(f"  run {run + 1}/{args.runs}: {r['claims']} claims, p50 {r['p50_ms']:.0f} ms,"
                f" p95 {r['p95_ms']:.0f} ms, {r['claims_per_s']:.0f} claims/s")  # fmt: skip
        alive = all(p.poll() is None for p in replicas)
        verdict = check(ws.root, url, queue_id)
    finally:
        for p in replicas:
            p.terminate()
            p.wait(timeout=30)
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        "queued": args.queued,
        "overlap": 2,
        "replicas": 0 if args.no_replicas else 2,
        "replicas_alive": alive,
        "reviewers": args.reviewers,
        "claims_per_run": args.reviewers * args.items,
        "claim_p50_ms": summary([r["p50_ms"] for r in runs], 1),
        "claim_p95_ms": summary([r["p95_ms"] for r in runs], 1),
        "submit_p50_ms": summary([r["decide_p50_ms"] for r in runs], 1),
        "claims_per_s": summary([r["claims_per_s"] for r in runs], 1),
        **verdict,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run and print; returns the results (also written to --json)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        root, url, qid, names, items, out = argv[1:7]
        result = worker(Path(root), url, qid, names.split(","), int(items))
        Path(out).write_text(json.dumps(result))
        return result
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--queued", type=int, default=10_000)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--items", type=int, default=10, help="items claimed per reviewer")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-replicas", action="store_true", help="no Streamlit processes")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = measure(args)
    print(f"Review app, {result['replicas']} replicas on one PostgreSQL: {args.queued:,} queued"
          f" items (k=2), {args.reviewers} concurrent reviewers")  # fmt: skip
    print(f"  claim latency p50 {fmt(result['claim_p50_ms'], 'ms', 0)}, "
          f"p95 {fmt(result['claim_p95_ms'], 'ms', 0)}")  # fmt: skip
    print(f"  submit p50 {fmt(result['submit_p50_ms'], 'ms', 0)}; "
          f"{fmt(result['claims_per_s'], 'claims/s', 0)}")  # fmt: skip
    print(f"  double assignments: {result['double_assignments']}; state equals the records:"
          f" {bool(result['state_equals_records'])}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    main()
