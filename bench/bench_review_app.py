"""Item 7: review app next-item latency with 100,000 queued items and 10 reviewers.

A review queue of N items is built with the app's own `build_queue` (over a synthetic
golden set of N cases and one trial per case) and written to a workspace. Ten threads
then act as ten concurrent reviewer sessions of one app process sharing one
`QueueService` (as the Streamlit app does): each claims its next item
(`QueueService.claim_next`, under the queue's cross-process lock: the queue's live state
reads the records appended since its last sync, the next item is picked, and the claim
is written with fsync) and submits a label for it (`QueueService.decide`), --items
times. The first read (parsing the queue record and building the live state, once per
process) is timed apart. The next-item latency is the wall time of
`claim_next`, lock waits included; p50 and p95 are taken per run over every claim of
every session, and reported as the median of --runs runs with min and max.

    python -m bench.bench_review_app [--queued 100000] [--sessions 10] [--items 10]
        [--runs 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import fmt, log, summary
from bench.workload import write_golden_set
from evals.dataset.golden import load_golden_set
from evals.store.workspace import Workspace
from labeling_app.queues.build import QueueTrial, build_queue
from labeling_app.queues.service import Decision, QueueService, append_durable


def make_queue(ws: Workspace, scratch: Path, queued: int, overlap: int = 1) -> str:
    """A queue of `queued` assisted items (one trial per case, k = overlap); its id."""
    golden = load_golden_set(write_golden_set(scratch / "dataset", queued))
    trials = [
        QueueTrial(
            key=f"t{i:08d}",
            run_id="bench-run",
            case_id=case.id,
            question_id=case.question_id,
            model_alias="fake",
            prompt="v1",
        )
        for i, case in enumerate(golden.cases)
    ]
    queue = build_queue(
        trials, golden, name="bench", created_by="bench", source="sample",
        run_ids=["bench-run"], overlap=overlap,
    )  # fmt: skip
    append_durable(ws, "queue", queue)
    return queue.queue_id


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def sessions_run(
    service: QueueService, queue_id: str, sessions: int, items: int, run: int
) -> dict[str, Any]:
    """`sessions` threads claiming and submitting `items` items each."""
    claims: list[float] = []
    decides: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(sessions)

    def reviewer(n: int) -> None:
        name = f"reviewer-{run}-{n}"
        start.wait()
        for _ in range(items):
            t0 = time.perf_counter()
            item = service.claim_next(queue_id, name)
            t1 = time.perf_counter()
            if item is None:
                with lock:
                    errors.append(f"{name}: nothing left to claim")
                return
            service.decide(
                queue_id,
                item.item_id,
                name,
                Decision(action="submit", helpful=True, correctness="correct"),
            )
            t2 = time.perf_counter()
            with lock:
                claims.append(t1 - t0)
                decides.append(t2 - t1)

    threads = [threading.Thread(target=reviewer, args=(n,)) for n in range(sessions)]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    return {
        "claims": len(claims),
        "p50_ms": 1000 * percentile(claims, 0.5) if claims else None,
        "p95_ms": 1000 * percentile(claims, 0.95) if claims else None,
        "mean_ms": 1000 * statistics.fmean(claims) if claims else None,
        "decide_p50_ms": 1000 * percentile(decides, 0.5) if decides else None,
        "items_per_s": len(claims) / wall if wall > 0 else 0.0,
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run and print; returns the results (also written to --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queued", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--items", type=int, default=10, help="items claimed per session")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-review-"))
    try:
        ws = Workspace(scratch / "ws")
        t0 = time.perf_counter()
        queue_id = make_queue(ws, scratch, args.queued)
        build_s = time.perf_counter() - t0
        service = QueueService(ws)
        t0 = time.perf_counter()
        service.claim_next(queue_id, "warm-up")  # the first read parses the queue record
        first_s = time.perf_counter() - t0
        log(f"  queue of {args.queued} items built in {build_s:.1f}s; first read {first_s:.1f}s")
        runs = []
        for run in range(args.runs):
            runs.append(sessions_run(service, queue_id, args.sessions, args.items, run))
            r = runs[-1]
            log(
                f"  run {run + 1}/{args.runs}: {r['claims']} claims, p50 {r['p50_ms']:.0f} ms, "
                f"p95 {r['p95_ms']:.0f} ms{'; ' + r['errors'][0] if r['errors'] else ''}"
            )
        ws.close(compact=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ok = [r for r in runs if r["claims"]]
    result = {
        "queued": args.queued,
        "sessions": args.sessions,
        "claims_per_run": args.sessions * args.items,
        "next_item_p50_ms": summary([r["p50_ms"] for r in ok], 1),
        "next_item_p95_ms": summary([r["p95_ms"] for r in ok], 1),
        "submit_p50_ms": summary([r["decide_p50_ms"] for r in ok], 1),
        "items_per_s": summary([r["items_per_s"] for r in ok], 2),
        "queue_build_s": round(build_s, 2),
        "first_read_s": round(first_s, 2),
        "errors": [e for r in runs for e in r["errors"]],
    }
    print(f"Review app: {args.queued:,} queued items, {args.sessions} concurrent sessions")
    print(f"  next-item latency p50 {fmt(result['next_item_p50_ms'], 'ms', 0)}")
    print(f"  next-item latency p95 {fmt(result['next_item_p95_ms'], 'ms', 0)}")
    print(
        f"  submit p50 {fmt(result['submit_p50_ms'], 'ms', 0)}; "
        f"throughput {fmt(result['items_per_s'], 'items/s', 1)}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
