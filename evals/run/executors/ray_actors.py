"""What runs inside the Ray cluster: the shard actor and the cluster-wide rate limiter.

Plain classes (made remote by evals.run.executors.ray, so importing this module needs no
Ray): Ray pickles them by reference, so every node must have the harness installed (the
same version as the driver), the suite and its golden set at the same paths, and the
models' API keys in its environment (the harness never ships a secret through Ray).

`ShardWorker` is an async actor: `run_shard` runs one shard of trial keys on the
runner's own asyncio lanes (evals.run.lanes.LaneRun) and gateway, appending every trial to
the workspace it opens itself from the workspace's path or URL (one segment writer per
actor process, as for worker processes), under the store's per-key claims
(evals.store.key_claims); `progress` answers the driver's polls meanwhile. A shard re-queued
after its actor was lost first re-reads the finished keys from the store, so what the
lost actor recorded is not run again.

`RateLimiter` holds one token bucket per model and kind (rpm, tpm) for the whole
cluster. Actors do not call it per request: `ClusterBucket` reserves a batch of units
at a time and spends it locally; every unit comes from the one bucket, so N actors
together never exceed a model's rate (unused batch units only make them slower).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Container
from dataclasses import asdict, dataclass
from typing import Any

from evals.run.lanes import Counters

BATCH_S = 0.25
"""A batch is at most this long at the model's rate (fewer limiter calls at high rates)."""


class RateLimiter:
    """One token bucket per (model alias, rpm | tpm) for the cluster, by reservation: a
    caller is granted its units at once and told how long to wait before spending them,
    so the actor never blocks and the callers' order is the bucket's order."""

    def __init__(self, rates: dict[str, dict[str, int]]) -> None:
        """rates: alias -> {"rpm": per minute, "tpm": per minute} (the limits set)."""
        self._buckets: dict[tuple[str, str], list[float]] = {}
        for alias, kinds in rates.items():
            for kind, per_minute in kinds.items():
                rate = per_minute / 60.0
                capacity = max(1.0, rate * 10.0)  # ten seconds' worth, as TokenBucket
                self._buckets[(alias, kind)] = [rate, capacity, capacity, time.monotonic()]

    def reserve(self, alias: str, kind: str, amount: float) -> float:
        """Grant `amount` units; the seconds to wait before spending them."""
        bucket = self._buckets[(alias, kind)]
        rate, capacity, tokens, updated = bucket
        now = time.monotonic()
        tokens = min(capacity, tokens + (now - updated) * rate)
        needed = min(amount, capacity)  # as TokenBucket.take: a huge request waits for a full one
        wait = max(0.0, (needed - tokens) / rate)
        bucket[2], bucket[3] = tokens - amount, now
        return wait


class ClusterBucket:
    """A model's rate bucket inside one actor, drawing batches from the RateLimiter."""

    def __init__(self, limiter: Any, alias: str, kind: str, per_minute: int, actors: int) -> None:
        self._limiter, self._alias, self._kind = limiter, alias, kind
        rate = per_minute / 60.0
        capacity = max(1.0, rate * 10.0)
        # Small batches at low rates (each actor's share of a burst), ~BATCH_S at high ones.
        self.batch = max(1.0, min(capacity / (2 * max(1, actors)), rate * BATCH_S))
        self.local = 0.0
        self._lock = asyncio.Lock()

    async def take(self, amount: float = 1.0) -> None:
        """Spend `amount` units, reserving a batch from the cluster's bucket when short."""
        amount = max(0.0, amount)
        async with self._lock:  # one reservation at a time; its wait delays the others too
            if self.local < amount:
                want = max(amount - self.local, self.batch)
                wait = await self._limiter.reserve.remote(self._alias, self._kind, want)
                self.local += want
                if wait > 0:
                    await asyncio.sleep(wait)
            self.local -= amount

    def refund(self, amount: float) -> None:
        """Give back (or charge) units locally: they were reserved from the cluster."""
        self.local = min(self.local + amount, self.batch)


@dataclass(frozen=True)
class ShardTask:
    """One shard of a run, as an actor receives it (only strings and numbers: the actor
    opens the workspace and the suite itself)."""

    suite_path: str
    workspace: str
    """The workspace's path or URL (never a pickled Workspace)."""
    run_id: str
    limit: int | None
    full: bool
    lanes: int
    keys: tuple[str, ...]
    """The shard's pending trial keys."""
    attempt: int
    """0 the first time; more when re-queued after its actor was lost."""
    journal_at: int
    """Where the finished-keys journal ended before the driver read the finished keys."""
    actors: int
    """Actors running at once (each gets its share of a model's max_concurrency)."""
    open_gateway: Any
    """A module-level GatewayOpener (pickled by reference)."""


class _NotInShard(Container[str]):
    """`finished` for RunPlan.pending: every key outside the shard counts as done."""

    def __init__(self, keys: set[str]) -> None:
        self.keys = keys

    def __contains__(self, key: object) -> bool:
        return key not in self.keys


class ShardWorker:
    """The shard actor (async: its methods run on one event loop, so `progress` answers
    while `run_shard` runs)."""

    def __init__(self, limiter: Any = None) -> None:
        self._limiter = limiter
        self._live: dict[int, Counters] = {}
        self._workspaces: dict[str, Any] = {}

    async def run_shard(self, shard: int, task: ShardTask) -> dict[str, Any]:
        """Run one shard; returns its counters (as a dict)."""
        from evals.run.executors.base import ExecutorError

        try:
            return asdict(await self._run(shard, task))
        except ExecutorError:
            raise
        except Exception as exc:  # one line for the driver, not a remote traceback
            raise ExecutorError(f"{type(exc).__name__}: {exc}") from None

    async def _run(self, shard: int, task: ShardTask) -> Counters:
        from evals.agents import resolve_agent
        from evals.run.lanes import LaneRun
        from evals.run.links import link_finished_elsewhere
        from evals.run.plan import finished_keys, make_plan
        from evals.run.suite import load_suite
        from evals.store.key_claims import journal_end

        ws = self._workspace(task.workspace)
        suite = load_suite(task.suite_path)
        _check_keys(suite.models)
        plan = make_plan(suite, limit=task.limit, full=task.full, lanes=task.lanes, workers=1)
        if plan.run_id != task.run_id:
            raise RuntimeError(
                f"the suite changed since the run started ({plan.run_id} != {task.run_id})"
            )
        plan.workspace = ws
        keys, journal_at = set(task.keys), task.journal_at
        if task.attempt > 0:  # what the lost actor recorded is finished: skip it
            journal_at = journal_end(ws.root)
            finished = finished_keys(ws)
            keys = {k for k in keys if k not in finished}
        models = [_share_concurrency(m, task.actors) for m in suite.models]
        claims = ws.key_claims(task.run_id, journal_at)
        try:
            async with task.open_gateway(models, ws) as gateway:
                self._share_rates(gateway, task.actors)
                agent = resolve_agent(suite.agent)
                lanes = LaneRun(plan, ws.writer("trial"), gateway, agent, task.lanes, claims=claims)
                self._live[shard] = lanes.counters
                try:
                    return await lanes.run(plan.pending(_NotInShard(keys)))
                finally:
                    link_finished_elsewhere(ws, task.run_id, lanes.reused)
        finally:
            claims.close()
            self._live.pop(shard, None)

    def _workspace(self, where: str) -> Any:
        from evals.store.workspace import Workspace

        ws = self._workspaces.get(where)
        if ws is None:
            ws = self._workspaces[where] = Workspace(where, create=False)
        return ws

    def _share_rates(self, gateway: Any, actors: int) -> None:
        from evals.models.gateway import Gateway

        limiter = self._limiter
        if limiter is not None and isinstance(gateway, Gateway):
            gateway.share_buckets(
                lambda alias, kind, per_minute: ClusterBucket(
                    limiter, alias, kind, per_minute, actors
                )
            )

    async def progress(self) -> dict[int, dict[str, Any]]:
        """The counters of the shards running now (polled by the driver)."""
        return {shard: asdict(c) for shard, c in self._live.items()}

    async def close(self) -> str:
        """Seal and compact this actor's segments (the driver's last call); the node."""
        for ws in self._workspaces.values():
            await asyncio.to_thread(ws.close)
        self._workspaces.clear()
        return socket.gethostname()


def _share_concurrency(model: Any, actors: int) -> Any:
    """An actor's part of a model's max_concurrency (floor, at least 1: together the
    actors stay within it whenever it is at least the number of actors)."""
    share = max(1, model.max_concurrency // max(1, actors))
    return model.model_copy(update={"max_concurrency": share})


def _check_keys(models: Any) -> None:
    """The models' API keys must be in the node's environment (never sent through Ray)."""
    from evals.run.executors.base import ExecutorError

    for model in models:
        if model.api_key_env and not os.environ.get(model.api_key_env):
            raise ExecutorError(
                f"model {model.alias!r}: environment variable {model.api_key_env} (its API "
                f"key) is not set on Ray node {socket.gethostname()}"
            )
