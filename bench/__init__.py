"""Benchmarks of agent-evals: each module prints its figures (median, min, max of several
runs) as values or ratios, never pass/fail; `python -m bench.run_all` runs them all and
writes bench/results.json (see docs/benchmarks.md)."""
