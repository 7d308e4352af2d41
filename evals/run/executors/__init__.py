"""Executors: where a run's trials execute (see evals.run.executors.base)."""
