"""Executors: where a run's trials execute (see evals.executors.base)."""
