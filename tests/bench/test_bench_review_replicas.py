"""The replicas benchmark runs end to end (a PostgreSQL server, two real app replicas,
two reviewer processes) and reports its figures; no timing is asserted."""

from __future__ import annotations

import pytest

from bench.bench_review_replicas import main

pytestmark = pytest.mark.slow


def test_two_replicas_on_one_database_measure_and_never_double_assign() -> None:
    result = main(["--queued", "120", "--reviewers", "4", "--items", "3", "--runs", "1"])
    assert result["replicas"] == 2 and result["replicas_alive"]
    assert result["double_assignments"] == 0 and result["state_equals_records"] == 1
    assert result["claim_p95_ms"]["median"] > 0 and result["claims_per_s"]["median"] > 0
