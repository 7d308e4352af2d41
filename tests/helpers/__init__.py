"""Builders shared by the tests: one place for golden sets, trials and workspaces.

``tests.helpers.judges``: a small golden set, trials and a populated workspace for judges;
``tests.helpers.reports``: a workspace with two runs, verdicts and labels for reports.
Library-level builders that benchmarks and demos use too live in the packages themselves:
``evals.testing`` (fake LLM server, scripted agents, synthetic runs) and
``labeling_app.testing`` / ``labeling_app.review_testing`` (queues and whole reviews).
"""
