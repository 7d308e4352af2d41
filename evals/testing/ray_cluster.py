"""A two-node Ray cluster inside this process's tree, on 127.0.0.1 only (tests, bench).

    with ray_test_cluster() as cluster:      # ~5 s; ray.init() done, ray.shutdown() after
        ...  # run a suite with executor ray: it uses this connection

Two "machines" on one host (`ray.cluster_utils.Cluster`: a head and one more node,
their own raylets and object stores), started from nothing and shut down after, never
with `ray stop` (which kills every Ray process on the machine by name). The settings
../shared/SCALEOUT.md measured are applied before Ray is imported: addresses kept at
127.0.0.1, token auth and usage stats off, Ray's files in a private temporary folder, the
memory monitor off (it kills workers when other jobs fill the RAM), an explicit object
store size. Worker processes inherit this process's environment (PYTHONPATH, API keys),
so set what they need (`env`) before starting.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TEST_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_memory_monitor_refresh_ms": "0",
}


@contextmanager
def ray_test_cluster(
    nodes: int = 2,
    cpus_per_node: int = 2,
    object_store_mb: int = 100,
    env: dict[str, str] | None = None,
    connect: bool = True,
) -> Iterator[Any]:
    """Start the cluster (and with `connect`, make this process its driver); yields the
    Cluster (`cluster.address` for other drivers, e.g. `evals run --ray-address`)."""
    tmp = Path(tempfile.mkdtemp(prefix="evals-ray-"))
    (tmp / "ray").mkdir()
    settings = {**TEST_ENV, "RAY_TMPDIR": str(tmp), **(env or {})}
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    import ray
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    if ray_constants.ENABLE_RAY_CLUSTER:  # read once, when Ray was first imported
        raise RuntimeError("Ray was imported before ray_test_cluster set its environment")

    store = object_store_mb << 20
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": cpus_per_node,
            "resources": {"node1": 100},
            "object_store_memory": store,
            "include_dashboard": False,
            "min_worker_port": 0,
            "max_worker_port": 0,
        },
    )
    try:
        for n in range(2, nodes + 1):
            cluster.add_node(
                num_cpus=cpus_per_node,
                resources={f"node{n}": 100},
                object_store_memory=store,
                min_worker_port=0,
                max_worker_port=0,
            )
        cluster.wait_for_nodes()
        if connect:
            ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
        yield cluster
    finally:
        if connect:
            ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
        for name, value in before.items():  # Ray reads its settings once; the rest goes
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def listening_addresses() -> set[str]:
    """The IP addresses this process's descendants (Ray's servers and workers) listen on."""
    import psutil

    found: set[str] = set()
    for proc in psutil.Process().children(recursive=True):
        try:
            conns = proc.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        found |= {c.laddr.ip for c in conns if c.status == psutil.CONN_LISTEN}
    return found
