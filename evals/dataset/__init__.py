"""Golden sets: what a team replays its agents on.

* `golden`: loading and validating ``datasets/<name>/`` (questions, cases, recorded tool
  observations), lazily for large sets; content hashes that identify each case;
* `limits`: what a golden set may hold (safe ids, files inside the set, bounded sizes);
* `case_refs`: compact references to cases, so a run need not hold every Case;
* `review_dag`: a review's questions and the order their answers feed each other;
* `countries`: country names and ISO codes shared by the generator and the EDD rules;
* `preferences`: pairwise preference records (a human's choice between two answers);
* `edd_demo/`: the generator of the EDD demo set from public data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evals.lazy import lazy_exports

if TYPE_CHECKING:
    from evals.dataset.case_refs import (
        CaseRef,
        CaseRefs,
    )
    from evals.dataset.golden import (
        GoldenSet,
        GoldenSetError,
        Problem,
        case_hash,
        load_golden_set,
    )
    from evals.dataset.limits import (
        check_case_id,
        check_sizes,
        inside_set,
        largest_string,
        read_record_lines,
    )
    from evals.dataset.preferences import (
        PairwiseJudgment,
        PairwisePreference,
        item_id_of,
        judgment_key,
    )
    from evals.dataset.review_dag import (
        DagProblem,
        dag_problems,
        question_order,
        upstream_of,
    )

# Names resolve lazily (evals.lazy): importing the package runs none of its modules.
_EXPORTS: dict[str, str] = {
    "CaseRef": "evals.dataset.case_refs",
    "CaseRefs": "evals.dataset.case_refs",
    "DagProblem": "evals.dataset.review_dag",
    "GoldenSet": "evals.dataset.golden",
    "GoldenSetError": "evals.dataset.golden",
    "PairwiseJudgment": "evals.dataset.preferences",
    "PairwisePreference": "evals.dataset.preferences",
    "Problem": "evals.dataset.golden",
    "case_hash": "evals.dataset.golden",
    "check_case_id": "evals.dataset.limits",
    "check_sizes": "evals.dataset.limits",
    "dag_problems": "evals.dataset.review_dag",
    "inside_set": "evals.dataset.limits",
    "item_id_of": "evals.dataset.preferences",
    "judgment_key": "evals.dataset.preferences",
    "largest_string": "evals.dataset.limits",
    "load_golden_set": "evals.dataset.golden",
    "question_order": "evals.dataset.review_dag",
    "read_record_lines": "evals.dataset.limits",
    "upstream_of": "evals.dataset.review_dag",
}

__all__ = [
    "CaseRef",
    "CaseRefs",
    "DagProblem",
    "GoldenSet",
    "GoldenSetError",
    "PairwiseJudgment",
    "PairwisePreference",
    "Problem",
    "case_hash",
    "check_case_id",
    "check_sizes",
    "dag_problems",
    "inside_set",
    "item_id_of",
    "judgment_key",
    "largest_string",
    "load_golden_set",
    "question_order",
    "read_record_lines",
    "upstream_of",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
