"""Review queues, without Streamlit: building, claiming, deciding, and their derived state.

* `models`: the ``queue``, ``queue_setting`` and ``claim`` records;
* `build`: a queue from a run's survivors or a sample (`build_queue`);
* `service`: claims with leases, decisions, skips, flags, undo (`QueueService`);
* `state`, `live`, `picking`, `records`: a queue's state from its records, kept live,
  and the next item chosen without sorting;
* `drafts`: drafts kept server-side per user; `export`: CSV and Parquet;
* `lead`, `lead_records`: adjudications and label edits;
* `review_items`, `review_work`: whole reviews in a queue;
* `simulate`, `review_simulate`: simulated reviewers (``sim:*``, never counted as people).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evals.lazy import lazy_exports

if TYPE_CHECKING:
    from labeling_app.queues.build import (
        QueueBuildError,
        QueueTrial,
        build_queue,
        create_queue,
        dataset_path_for,
        sample_trials,
        survivor_trials,
    )
    from labeling_app.queues.decisions import (
        Decision,
        QueueError,
        new_id,
        undo_label,
    )
    from labeling_app.queues.drafts import (
        DraftBackend,
        clean_value,
        discard_draft,
        load_choice,
        load_draft,
        save_choice,
        save_draft,
        use_backend,
    )
    from labeling_app.queues.export import (
        export,
        frame_of,
        labels_frame,
        to_bytes,
        trials_frame,
    )
    from labeling_app.queues.lead import (
        ItemLabels,
        adjudicate,
        disagreements,
        edit_label,
        effective_submits,
        history,
        resolved_items,
    )
    from labeling_app.queues.lead_records import (
        Adjudication,
        LabelEdit,
    )
    from labeling_app.queues.live import (
        LiveQueue,
        LiveQueues,
        QueueSummary,
        ReviewerTally,
    )
    from labeling_app.queues.models import (
        Claim,
        QueueItem,
        QueueSetting,
        ReviewNode,
        ReviewQueue,
    )
    from labeling_app.queues.picking import (
        CountIndex,
        Picker,
    )
    from labeling_app.queues.records import (
        RecordIndex,
    )
    from labeling_app.queues.review_items import (
        ReviewTrial,
        build_review_queue,
        create_review_queue,
        group_reviews,
        node_of,
        node_seconds,
        nodes_done,
        review_trials,
    )
    from labeling_app.queues.review_simulate import (
        SimulatedWholeReviewer,
        simulate_reviews,
    )
    from labeling_app.queues.review_work import (
        current_node,
        decide_node,
        done_nodes,
    )
    from labeling_app.queues.service import (
        QueueService,
        append_durable,
    )
    from labeling_app.queues.simulate import (
        SimulatedReviewer,
        SimulationSummary,
        judge_answer,
        run_team,
        simulate,
        trial_answers,
    )
    from labeling_app.queues.state import (
        ItemState,
        QueueState,
        compute_state,
    )

# Names resolve lazily (evals.lazy): importing the package runs none of its modules.
_EXPORTS: dict[str, str] = {
    "Adjudication": "labeling_app.queues.lead_records",
    "Claim": "labeling_app.queues.models",
    "CountIndex": "labeling_app.queues.picking",
    "Decision": "labeling_app.queues.decisions",
    "DraftBackend": "labeling_app.queues.drafts",
    "ItemLabels": "labeling_app.queues.lead",
    "ItemState": "labeling_app.queues.state",
    "LabelEdit": "labeling_app.queues.lead_records",
    "LiveQueue": "labeling_app.queues.live",
    "LiveQueues": "labeling_app.queues.live",
    "Picker": "labeling_app.queues.picking",
    "QueueBuildError": "labeling_app.queues.build",
    "QueueError": "labeling_app.queues.decisions",
    "QueueItem": "labeling_app.queues.models",
    "QueueService": "labeling_app.queues.service",
    "QueueSetting": "labeling_app.queues.models",
    "QueueState": "labeling_app.queues.state",
    "QueueSummary": "labeling_app.queues.live",
    "QueueTrial": "labeling_app.queues.build",
    "RecordIndex": "labeling_app.queues.records",
    "ReviewNode": "labeling_app.queues.models",
    "ReviewQueue": "labeling_app.queues.models",
    "ReviewTrial": "labeling_app.queues.review_items",
    "ReviewerTally": "labeling_app.queues.live",
    "SimulatedReviewer": "labeling_app.queues.simulate",
    "SimulatedWholeReviewer": "labeling_app.queues.review_simulate",
    "SimulationSummary": "labeling_app.queues.simulate",
    "adjudicate": "labeling_app.queues.lead",
    "append_durable": "labeling_app.queues.service",
    "build_queue": "labeling_app.queues.build",
    "build_review_queue": "labeling_app.queues.review_items",
    "clean_value": "labeling_app.queues.drafts",
    "compute_state": "labeling_app.queues.state",
    "create_queue": "labeling_app.queues.build",
    "create_review_queue": "labeling_app.queues.review_items",
    "current_node": "labeling_app.queues.review_work",
    "dataset_path_for": "labeling_app.queues.build",
    "decide_node": "labeling_app.queues.review_work",
    "disagreements": "labeling_app.queues.lead",
    "discard_draft": "labeling_app.queues.drafts",
    "done_nodes": "labeling_app.queues.review_work",
    "edit_label": "labeling_app.queues.lead",
    "effective_submits": "labeling_app.queues.lead",
    "export": "labeling_app.queues.export",
    "frame_of": "labeling_app.queues.export",
    "group_reviews": "labeling_app.queues.review_items",
    "history": "labeling_app.queues.lead",
    "judge_answer": "labeling_app.queues.simulate",
    "labels_frame": "labeling_app.queues.export",
    "load_choice": "labeling_app.queues.drafts",
    "load_draft": "labeling_app.queues.drafts",
    "new_id": "labeling_app.queues.decisions",
    "node_of": "labeling_app.queues.review_items",
    "node_seconds": "labeling_app.queues.review_items",
    "nodes_done": "labeling_app.queues.review_items",
    "resolved_items": "labeling_app.queues.lead",
    "review_trials": "labeling_app.queues.review_items",
    "run_team": "labeling_app.queues.simulate",
    "sample_trials": "labeling_app.queues.build",
    "save_choice": "labeling_app.queues.drafts",
    "save_draft": "labeling_app.queues.drafts",
    "simulate": "labeling_app.queues.simulate",
    "simulate_reviews": "labeling_app.queues.review_simulate",
    "survivor_trials": "labeling_app.queues.build",
    "to_bytes": "labeling_app.queues.export",
    "trial_answers": "labeling_app.queues.simulate",
    "trials_frame": "labeling_app.queues.export",
    "undo_label": "labeling_app.queues.decisions",
    "use_backend": "labeling_app.queues.drafts",
}

__all__ = [
    "Adjudication",
    "Claim",
    "CountIndex",
    "Decision",
    "DraftBackend",
    "ItemLabels",
    "ItemState",
    "LabelEdit",
    "LiveQueue",
    "LiveQueues",
    "Picker",
    "QueueBuildError",
    "QueueError",
    "QueueItem",
    "QueueService",
    "QueueSetting",
    "QueueState",
    "QueueSummary",
    "QueueTrial",
    "RecordIndex",
    "ReviewNode",
    "ReviewQueue",
    "ReviewTrial",
    "ReviewerTally",
    "SimulatedReviewer",
    "SimulatedWholeReviewer",
    "SimulationSummary",
    "adjudicate",
    "append_durable",
    "build_queue",
    "build_review_queue",
    "clean_value",
    "compute_state",
    "create_queue",
    "create_review_queue",
    "current_node",
    "dataset_path_for",
    "decide_node",
    "disagreements",
    "discard_draft",
    "done_nodes",
    "edit_label",
    "effective_submits",
    "export",
    "frame_of",
    "group_reviews",
    "history",
    "judge_answer",
    "labels_frame",
    "load_choice",
    "load_draft",
    "new_id",
    "node_of",
    "node_seconds",
    "nodes_done",
    "resolved_items",
    "review_trials",
    "run_team",
    "sample_trials",
    "save_choice",
    "save_draft",
    "simulate",
    "simulate_reviews",
    "survivor_trials",
    "to_bytes",
    "trial_answers",
    "trials_frame",
    "undo_label",
    "use_backend",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
