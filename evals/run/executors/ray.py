"""The Ray executor: shards of trial keys run by Ray actors across a cluster.

Never one Ray call per trial (about 1 ms of CPU each): the driver cuts the pending keys
into `actors × shards_per_actor` shards by hash (evals.run.plan.shard_of), hands one shard
at a time to each actor (evals.run.executors.ray_actors.ShardWorker, running the runner's
asyncio lanes and gateway and writing its trials to the workspace itself), and gives an
actor that finishes the next shard. The driver polls the actors' counters twice a second
for the one progress bar, and sums the shards' counters at the end; the runner then
summarises the matrix from the store, as for every executor.

Limits: one RateLimiter actor holds each model's rpm/tpm bucket for the cluster (actors
reserve from it in batches); each actor gets floor(max_concurrency / actors) of a
model's concurrency, so together they stay within the model's limits.

Faults: a shard whose actor or node is lost (RayActorError) is re-queued on a new
actor, up to `max_attempts` times; the new attempt re-reads the finished keys from the
store first, and the store's per-key claims (evals.store.key_claims) keep any key from being
recorded twice. A shard that fails in the harness's own code (a bad suite on a node, a
missing API key) is not retried: the run ends with that error, the others' trials
recorded. A rerun skips the finished keys, as always.

Ray is an optional extra (`pip install 'agent-evals[ray]'`), imported only here.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from evals.run.executors.base import ExecutionJob, ExecutorError, show, total
from evals.run.executors.config import RAY_EXTRA, ExecutorConfig
from evals.run.executors.ray_actors import RateLimiter, ShardTask, ShardWorker
from evals.run.lanes import Counters
from evals.run.plan import shard_of

POLL_S = 0.5
"""How often the driver polls the actors' counters (the progress bar's refresh)..."""
POLLS_PER_S = 200.0
"""...at most this many polls a second in all (a call costs the driver ~1 ms of CPU, so
hundreds of actors are polled less often, not at a core's full cost)."""
CLOSE_S = 120.0
"""How long the actors may take to seal and compact their segments at the end."""
LOCAL_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # keeps 127.0.0.1 (else the external address)
    "RAY_AUTH_MODE": "disabled",  # a one-machine instance on 127.0.0.1 only
}
"""Set (unless already set) before Ray is imported for an instance started for the run."""


def import_ray(local: bool) -> ModuleType:
    """Ray, or ExecutorError naming the extra to install."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no telemetry from our runs
    if local:
        for name, value in LOCAL_ENV.items():
            os.environ.setdefault(name, value)
    try:
        import ray
    except ImportError:
        raise ExecutorError(f"the ray executor needs Ray, an optional extra: {RAY_EXTRA}") from None
    return ray


class RayExecutor:
    """Runs the pending cells as shards on Ray actors (see the module docstring)."""

    name = "ray"

    def __init__(self, config: ExecutorConfig) -> None:
        self.config = config

    def run(self, job: ExecutionJob) -> Counters:
        """Run every pending cell on the cluster (see Executor.run)."""
        address = self.config.address
        ray = import_ray(local=address is None)
        started = False
        if not ray.is_initialized():  # else: a connection the caller made (tests, notebooks)
            if address is None:
                ray.init(
                    object_store_memory=self.config.object_store_mb << 20,
                    include_dashboard=False,
                    _node_ip_address="127.0.0.1",
                )
            else:
                ray.init(address=address)
            started = True
        try:
            return _Driver(ray, job, self.config).run()
        finally:
            if started:
                ray.shutdown()


@dataclass
class _Shard:
    index: int
    keys: tuple[str, ...]
    attempt: int = 0


@dataclass
class _Slot:
    """One actor and the shard it runs (None: idle)."""

    actor: Any
    name: str
    shard: _Shard | None = None
    call: Any = None
    polled: Counters = field(default_factory=Counters)
    """The shard's counters at the last poll (kept when the actor is lost)."""
    closing: Any = None
    """Its close() call, once no shard is left for it (see _Driver._retire)."""
    ended: bool = False
    """Killed after closing: its CPUs are free for a lost shard's new actor."""


class _Driver:
    """One invocation's shards, actors and counters."""

    def __init__(self, ray: ModuleType, job: ExecutionJob, config: ExecutorConfig) -> None:
        self.ray, self.job, self.config = ray, job, config
        plan = job.plan
        keys = [k for k in plan.keys() if k not in job.finished]  # noqa: SIM118
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        wanted = config.actors or max(1, int(cpus // config.actor_cpus))
        self.actors = max(1, min(wanted, len(keys)))
        shards = max(1, min(len(keys), self.actors * config.shards_per_actor))
        parts: list[list[str]] = [[] for _ in range(shards)]
        for key in keys:
            parts[shard_of(key, shards)].append(key)
        self.queue = deque(_Shard(i, tuple(p)) for i, p in enumerate(parts) if p)
        self.lanes = max(1, math.ceil(plan.lanes / self.actors))
        self.finished: list[Counters] = []
        self.lost: list[Counters] = []
        self.errors: list[str] = []
        self.generations: dict[int, int] = {}
        self.limiter = self._limiter()
        self.remote_worker = ray.remote(ShardWorker)

    def _limiter(self) -> Any:
        rates = {
            m.alias: {k: v for k, v in (("rpm", m.rpm), ("tpm", m.tpm)) if v}
            for m in self.job.plan.suite.models
        }
        rates = {alias: kinds for alias, kinds in rates.items() if kinds}
        if not rates:
            return None
        return self.ray.remote(RateLimiter).options(num_cpus=0).remote(rates)

    def _new_slot(self, index: int) -> _Slot:
        generation = self.generations.get(index, 0)
        self.generations[index] = generation + 1
        name = f"evals-{self.job.plan.run_id}-{index}.{generation}"  # findable: ray.get_actor
        options = {"num_cpus": self.config.actor_cpus, "name": name}
        actor = self.remote_worker.options(**options).remote(self.limiter)
        return _Slot(actor, name)

    def _task(self, shard: _Shard) -> ShardTask:
        plan, job = self.job.plan, self.job
        return ShardTask(
            suite_path=str(plan.suite.path.resolve()),
            workspace=job.ws.url if job.ws.remote else str(job.ws.root.resolve()),  # actors open it
            run_id=plan.run_id,
            limit=plan.limit,
            full=plan.limit is None,
            lanes=self.lanes,
            keys=shard.keys,
            attempt=shard.attempt,
            journal_at=job.journal_at,
            actors=self.actors,
            open_gateway=job.open_gateway,
        )

    def run(self) -> Counters:
        """Dispatch shards until every one finished or failed for good."""
        slots = [self._new_slot(i) for i in range(min(self.actors, len(self.queue)))]
        next_poll = time.monotonic()
        try:
            while True:
                self._dispatch(slots)
                self._retire(slots)
                busy = [s for s in slots if s.call is not None]
                if not busy:
                    break
                ready, _ = self.ray.wait([s.call for s in busy], num_returns=1, timeout=POLL_S)
                for slot in busy:
                    if slot.call in ready:
                        self._collect(slots, slot)
                if time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + max(POLL_S, len(slots) / POLLS_PER_S)
                    self._poll([s for s in slots if s.call is not None])
                    show(self.job.progress, self.counters(slots))
        except BaseException:  # Ctrl-C, a lost driver connection: stop the actors now
            self._kill(slots)  # (what they recorded stays; a rerun finishes the rest)
            raise
        show(self.job.progress, self.counters(slots))  # the final counts
        self._close(slots)
        if self.errors:
            raise ExecutorError("; ".join(self.errors[:3]))
        return self.counters(slots)

    def _dispatch(self, slots: list[_Slot]) -> None:
        for slot in slots:
            if slot.call is None and slot.closing is None and self.queue:
                slot.shard = self.queue.popleft()
                slot.polled = Counters()
                slot.call = slot.actor.run_shard.remote(slot.shard.index, self._task(slot.shard))

    def _retire(self, slots: list[_Slot]) -> None:
        """With no shard left to give, close idle actors and then end them: a lost node's
        shard re-queued on a new actor may need their CPUs (else it would wait for the
        end of the run, and the run for it)."""
        if self.queue:
            return
        for slot in slots:
            if slot.call is None and slot.closing is None:
                slot.closing = slot.actor.close.remote()
            elif slot.closing is not None and not slot.ended:
                ready, _ = self.ray.wait([slot.closing], timeout=0)
                if ready:
                    self.ray.kill(slot.actor)
                    slot.ended = True

    def _collect(self, slots: list[_Slot], slot: _Slot) -> None:
        """A shard's call returned: its counters, a lost actor (re-queue) or an error."""
        shard, call = slot.shard, slot.call
        assert shard is not None
        slot.call, slot.shard = None, None
        try:
            self.finished.append(Counters(**self.ray.get(call)))
        except self.ray.exceptions.RayActorError:
            self.lost.append(slot.polled)  # recorded before the loss; the store has them
            slots[slots.index(slot)] = self._new_slot(slots.index(slot))
            if shard.attempt + 1 >= self.config.max_attempts:
                self.errors.append(
                    f"shard {shard.index} lost its actor {shard.attempt + 1} times; "
                    "rerun to finish it"
                )
            else:
                self.queue.append(_Shard(shard.index, shard.keys, shard.attempt + 1))
                self.job.progress.console.print(
                    f"ray: shard {shard.index} lost its actor {slot.name}; re-queued "
                    f"(attempt {shard.attempt + 2} of {self.config.max_attempts})",
                    markup=False,
                    highlight=False,
                )
        except self.ray.exceptions.RayTaskError as exc:
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            self.errors.append(f"shard {shard.index}: {str(cause).splitlines()[-1]}")

    def _poll(self, busy: list[_Slot]) -> None:
        """The running shards' counters, for the progress bar (a lost actor is skipped)."""
        calls = {slot.actor.progress.remote(): slot for slot in busy}
        ready, _ = self.ray.wait(list(calls), num_returns=len(calls), timeout=POLL_S)
        for ref in ready:
            slot = calls[ref]
            try:
                live = self.ray.get(ref)
            except self.ray.exceptions.RayError:
                continue
            if slot.shard is not None and slot.shard.index in live:
                slot.polled = Counters(**live[slot.shard.index])

    def counters(self, slots: list[_Slot]) -> Counters:
        """Finished shards, lost attempts (as last polled) and running shards."""
        running = [s.polled for s in slots if s.call is not None]
        return total([*self.finished, *self.lost, *running])

    def _close(self, slots: list[_Slot]) -> None:
        """Seal the actors' segments, then end the actors and the limiter."""
        closing = [s.closing or s.actor.close.remote() for s in slots if not s.ended]
        if closing:
            self.ray.wait(closing, num_returns=len(closing), timeout=CLOSE_S)
        self._kill(slots)

    def _kill(self, slots: list[_Slot]) -> None:
        for slot in slots:
            if not slot.ended:
                self.ray.kill(slot.actor)
                slot.ended = True
        if self.limiter is not None:
            self.ray.kill(self.limiter)
