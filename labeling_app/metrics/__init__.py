"""The review app's numbers: helpfulness, handling time, agreement, progress.

* `dashboard`: the dashboard's statistics (one definition each, shared with the reports);
* `reviews`: whole-review helpfulness and handling time per node and per review;
* `review_report`: the "Whole reviews" section of `evals report`;
* `timing`: active handling time recomputed from raw timing events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evals.lazy import lazy_exports

if TYPE_CHECKING:
    from labeling_app.metrics.dashboard import (
        agreement,
        counted_ids,
        effective,
        handling_time,
        helpfulness,
        is_simulated,
        label_frame,
        progress,
    )
    from labeling_app.metrics.review_report import (
        whole_review_data,
        whole_review_section,
        whole_review_tables,
    )
    from labeling_app.metrics.reviews import (
        reduction,
        review_frames,
        summary_tables,
    )
    from labeling_app.metrics.timing import (
        active_seconds,
        wall_seconds,
    )

# Names resolve lazily (evals.lazy): importing the package runs none of its modules.
_EXPORTS: dict[str, str] = {
    "active_seconds": "labeling_app.metrics.timing",
    "agreement": "labeling_app.metrics.dashboard",
    "counted_ids": "labeling_app.metrics.dashboard",
    "effective": "labeling_app.metrics.dashboard",
    "handling_time": "labeling_app.metrics.dashboard",
    "helpfulness": "labeling_app.metrics.dashboard",
    "is_simulated": "labeling_app.metrics.dashboard",
    "label_frame": "labeling_app.metrics.dashboard",
    "progress": "labeling_app.metrics.dashboard",
    "reduction": "labeling_app.metrics.reviews",
    "review_frames": "labeling_app.metrics.reviews",
    "summary_tables": "labeling_app.metrics.reviews",
    "wall_seconds": "labeling_app.metrics.timing",
    "whole_review_data": "labeling_app.metrics.review_report",
    "whole_review_section": "labeling_app.metrics.review_report",
    "whole_review_tables": "labeling_app.metrics.review_report",
}

__all__ = [
    "active_seconds",
    "agreement",
    "counted_ids",
    "effective",
    "handling_time",
    "helpfulness",
    "is_simulated",
    "label_frame",
    "progress",
    "reduction",
    "review_frames",
    "summary_tables",
    "wall_seconds",
    "whole_review_data",
    "whole_review_section",
    "whole_review_tables",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
