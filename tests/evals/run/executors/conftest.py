"""The two-node Ray cluster (one per test session, started only when a test asks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

FAKE_KEY = {"FAKE_LLM_KEY": "sk-fake-not-secret"}
"""The fake server's API key, in the environment the Ray workers inherit."""


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A head and one more node, 2 CPUs each, on 127.0.0.1; shut down after the session."""
    from evals.testing.ray_cluster import ray_test_cluster

    with ray_test_cluster(nodes=2, cpus_per_node=2, env=FAKE_KEY) as cluster:
        yield cluster
