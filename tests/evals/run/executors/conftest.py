"""The two-node Ray cluster (one per test session, started only when a test asks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

FAKE_KEY = {"FAKE_LLM_KEY": "sk-fake-not-secret"}
"""The fake server's API key, in the environment the Ray workers inherit."""


@pytest.fixture(scope="session")
def ray_cluster(moto_s3: Any) -> Iterator[Any]:
    """A head and one more node, 2 CPUs each, on 127.0.0.1; shut down after the session.
    Its workers inherit the fake key and the S3 server's endpoint and credentials (the
    harness never ships a secret through Ray), and short leases so that a killed actor's
    trial-key leases on an ``s3://`` workspace expire in seconds."""
    from evals.testing.ray_cluster import ray_test_cluster

    env = {**FAKE_KEY, **moto_s3.env(), "EVALS_LEASE_TTL_S": "3"}
    with ray_test_cluster(nodes=2, cpus_per_node=2, env=env) as cluster:
        yield cluster
