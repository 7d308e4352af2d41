"""The suite's `executor:` key (kept apart from evals.run.executors.base so that loading a
suite imports no runner code)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from evals.schema import Record

ExecutorKind = Literal["inprocess", "processes", "ray"]
EXECUTOR_KINDS: tuple[ExecutorKind, ...] = ("inprocess", "processes", "ray")
RAY_EXTRA = "pip install 'agent-evals[ray]'"
"""How to install the Ray executor's optional dependency (named in its error)."""


class ExecutorConfig(Record):
    """The suite's `executor:` key: where the trials run (`executor: ray` is short for
    `executor: {kind: ray}`). Not part of the run's identity: the same suite run on
    another executor continues the same run."""

    kind: ExecutorKind | None = None
    """inprocess, processes or ray (None: processes when `--workers`/limits.workers > 1,
    else inprocess)."""
    workers: int | None = Field(None, ge=1, le=64)
    """processes: worker processes (`--workers` overrides; default limits.workers)."""
    address: str | None = None
    """ray: the cluster to join ("auto", "HOST:6379", "ray://HOST:10001"; `--ray-address`
    overrides); None: a Ray instance on this machine, started for the run."""
    actors: int | None = Field(None, ge=1, le=10_000)
    """ray: actors running shards at once (default: the cluster's CPUs / actor_cpus)."""
    actor_cpus: float = Field(1.0, gt=0, le=1024)
    """ray: CPUs each actor reserves on its node."""
    shards_per_actor: int = Field(2, ge=1, le=1000)
    """ray: the pending keys are cut into actors × this many shards; an actor that
    finishes a shard takes the next one, so a slow or lost node delays only its shard."""
    max_attempts: int = Field(3, ge=1, le=100)
    """ray: times a shard is started before the run gives up on it (an actor or node
    lost mid-shard re-queues it)."""
    object_store_mb: int = Field(256, ge=64, le=1_000_000)
    """ray, local instance only: its object store size (always explicit: Ray's default
    takes a third of the machine's memory)."""


def parse_executor(value: Any) -> Any:
    """The validator of the suite's `executor:` key (a kind name or a mapping)."""
    return {"kind": value} if isinstance(value, str) else value
