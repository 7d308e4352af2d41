"""Replaying a suite: the matrix of cases x models x prompts x repetitions, resumably.

* `suite`: the suite YAML (`Suite`, `load_suite`);
* `plan`: which trials the suite asks for and which remain (`RunPlan`);
* `trial`: one cell before it runs (`TrialSpec`);
* `lanes`: running one trial with its errors classified, and N asyncio lanes of them;
* `runner`: the run itself (`run_suite`) and its manifest;
* `locks`, `links`: one invocation per run id; trials counted in a run that another
  run recorded (``run_links``);
* `executors/`: where trials run: in this process, local worker processes, Ray;
* `reviews`: review runs, each review's nodes in DAG order, free and teacher modes;
* `progress`: the live progress bar and the end-of-run summary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evals.lazy import lazy_exports

if TYPE_CHECKING:
    from evals.run.lanes import (
        Counters,
        LaneRun,
        run_trial,
    )
    from evals.run.links import (
        RunLink,
        link_finished_elsewhere,
        link_reused,
    )
    from evals.run.locks import (
        run_lock,
        workers_lock,
    )
    from evals.run.plan import (
        RunPlan,
        finished_keys,
        is_finished,
        make_plan,
        shard_of,
    )
    from evals.run.progress import (
        CellRow,
        ErrorRow,
        RunProgress,
        RunSummary,
        register_keys,
        render_summary,
        summarise,
    )
    from evals.run.reviews import (
        Review,
        ReviewJob,
        ReviewNode,
        ReviewPlanError,
        group_reviews,
        mode_run_id,
        pending_jobs,
        review_jobs,
        stored_answer,
    )
    from evals.run.runner import (
        Prepared,
        RunOptions,
        RunResult,
        manifest,
        prepare_run,
        run_suite,
    )
    from evals.run.suite import (
        Limits,
        Subset,
        Suite,
        SuiteConfig,
        SuiteError,
        case_selected,
        limit_round_robin,
        load_suite,
        select_cases,
    )
    from evals.run.trial import (
        TrialSpec,
    )

# Names resolve lazily (evals.lazy): importing the package runs none of its modules.
_EXPORTS: dict[str, str] = {
    "CellRow": "evals.run.progress",
    "Counters": "evals.run.lanes",
    "ErrorRow": "evals.run.progress",
    "LaneRun": "evals.run.lanes",
    "Limits": "evals.run.suite",
    "Prepared": "evals.run.runner",
    "Review": "evals.run.reviews",
    "ReviewJob": "evals.run.reviews",
    "ReviewNode": "evals.run.reviews",
    "ReviewPlanError": "evals.run.reviews",
    "RunLink": "evals.run.links",
    "RunOptions": "evals.run.runner",
    "RunPlan": "evals.run.plan",
    "RunProgress": "evals.run.progress",
    "RunResult": "evals.run.runner",
    "RunSummary": "evals.run.progress",
    "Subset": "evals.run.suite",
    "Suite": "evals.run.suite",
    "SuiteConfig": "evals.run.suite",
    "SuiteError": "evals.run.suite",
    "TrialSpec": "evals.run.trial",
    "case_selected": "evals.run.suite",
    "finished_keys": "evals.run.plan",
    "group_reviews": "evals.run.reviews",
    "is_finished": "evals.run.plan",
    "limit_round_robin": "evals.run.suite",
    "link_finished_elsewhere": "evals.run.links",
    "link_reused": "evals.run.links",
    "load_suite": "evals.run.suite",
    "make_plan": "evals.run.plan",
    "manifest": "evals.run.runner",
    "mode_run_id": "evals.run.reviews",
    "pending_jobs": "evals.run.reviews",
    "prepare_run": "evals.run.runner",
    "register_keys": "evals.run.progress",
    "render_summary": "evals.run.progress",
    "review_jobs": "evals.run.reviews",
    "run_lock": "evals.run.locks",
    "run_suite": "evals.run.runner",
    "run_trial": "evals.run.lanes",
    "select_cases": "evals.run.suite",
    "shard_of": "evals.run.plan",
    "stored_answer": "evals.run.reviews",
    "summarise": "evals.run.progress",
    "workers_lock": "evals.run.locks",
}

__all__ = [
    "CellRow",
    "Counters",
    "ErrorRow",
    "LaneRun",
    "Limits",
    "Prepared",
    "Review",
    "ReviewJob",
    "ReviewNode",
    "ReviewPlanError",
    "RunLink",
    "RunOptions",
    "RunPlan",
    "RunProgress",
    "RunResult",
    "RunSummary",
    "Subset",
    "Suite",
    "SuiteConfig",
    "SuiteError",
    "TrialSpec",
    "case_selected",
    "finished_keys",
    "group_reviews",
    "is_finished",
    "limit_round_robin",
    "link_finished_elsewhere",
    "link_reused",
    "load_suite",
    "make_plan",
    "manifest",
    "mode_run_id",
    "pending_jobs",
    "prepare_run",
    "register_keys",
    "render_summary",
    "review_jobs",
    "run_lock",
    "run_suite",
    "run_trial",
    "select_cases",
    "shard_of",
    "stored_answer",
    "summarise",
    "workers_lock",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
