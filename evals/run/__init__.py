"""Replaying a suite: the matrix of cases x models x prompts x repetitions, resumably.

* `suite`: the suite YAML (`Suite`, `load_suite`);
* `plan`: which trials the suite asks for and which remain (`RunPlan`);
* `trial`: one cell before it runs (`TrialSpec`);
* `lanes`: running one trial with its errors classified, and N asyncio lanes of them;
* `runner`: the run itself (`run_suite`), its locks and manifest;
* `workers`: the run sharded over local worker processes (`--workers N`);
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
        RunLink,
        RunOptions,
        RunResult,
        link_finished_elsewhere,
        link_reused,
        manifest,
        prepare_run,
        run_lock,
        run_suite,
        show,
        tick,
        workers_lock,
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
    from evals.run.workers import (
        WorkerTask,
        run_sharded,
        share_limits,
        worker_main,
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
    "RunLink": "evals.run.runner",
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
    "WorkerTask": "evals.run.workers",
    "case_selected": "evals.run.suite",
    "finished_keys": "evals.run.plan",
    "group_reviews": "evals.run.reviews",
    "is_finished": "evals.run.plan",
    "limit_round_robin": "evals.run.suite",
    "link_finished_elsewhere": "evals.run.runner",
    "link_reused": "evals.run.runner",
    "load_suite": "evals.run.suite",
    "make_plan": "evals.run.plan",
    "manifest": "evals.run.runner",
    "mode_run_id": "evals.run.reviews",
    "pending_jobs": "evals.run.reviews",
    "prepare_run": "evals.run.runner",
    "register_keys": "evals.run.progress",
    "render_summary": "evals.run.progress",
    "review_jobs": "evals.run.reviews",
    "run_lock": "evals.run.runner",
    "run_sharded": "evals.run.workers",
    "run_suite": "evals.run.runner",
    "run_trial": "evals.run.lanes",
    "select_cases": "evals.run.suite",
    "shard_of": "evals.run.plan",
    "share_limits": "evals.run.workers",
    "show": "evals.run.runner",
    "stored_answer": "evals.run.reviews",
    "summarise": "evals.run.progress",
    "tick": "evals.run.runner",
    "worker_main": "evals.run.workers",
    "workers_lock": "evals.run.runner",
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
    "WorkerTask",
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
    "run_sharded",
    "run_suite",
    "run_trial",
    "select_cases",
    "shard_of",
    "share_limits",
    "show",
    "stored_answer",
    "summarise",
    "tick",
    "worker_main",
    "workers_lock",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
