"""One module per import format; importing a module registers its format by name.

* `jsonl`: any harness, one trial per line;
* `messages`: OpenAI-format messages into a trace;
* `tau2_bench`, `tau_bench`: tau2-bench and tau-bench results files;
* `labels`: human labels (CSV/JSONL);
* `pairwise`: pairwise preferences and judge outputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evals.lazy import lazy_exports

if TYPE_CHECKING:
    from evals.importers.formats.jsonl import (
        JsonlTrial,
        parse_jsonl,
        read_jsonl,
    )
    from evals.importers.formats.labels import (
        LabelledTrial,
        LabelRow,
        parse_labels,
        read_rows,
    )
    from evals.importers.formats.messages import (
        openai_tool_call,
        parse_observation,
        trace_from_messages,
        usage_of,
    )
    from evals.importers.formats.pairwise import (
        PairwiseRow,
        parse_pairwise,
        to_choice,
    )
    from evals.importers.formats.tau2_bench import (
        Tau2Info,
        Tau2Message,
        Tau2RewardInfo,
        Tau2Simulation,
        Tau2Task,
        Tau2ToolCall,
        parse_tau2,
    )
    from evals.importers.formats.tau_bench import (
        TauResult,
        parse_tau,
        react_to_tool_calls,
    )

# Names resolve lazily (evals.lazy): importing the package runs none of its modules.
_EXPORTS: dict[str, str] = {
    "JsonlTrial": "evals.importers.formats.jsonl",
    "LabelRow": "evals.importers.formats.labels",
    "LabelledTrial": "evals.importers.formats.labels",
    "PairwiseRow": "evals.importers.formats.pairwise",
    "Tau2Info": "evals.importers.formats.tau2_bench",
    "Tau2Message": "evals.importers.formats.tau2_bench",
    "Tau2RewardInfo": "evals.importers.formats.tau2_bench",
    "Tau2Simulation": "evals.importers.formats.tau2_bench",
    "Tau2Task": "evals.importers.formats.tau2_bench",
    "Tau2ToolCall": "evals.importers.formats.tau2_bench",
    "TauResult": "evals.importers.formats.tau_bench",
    "openai_tool_call": "evals.importers.formats.messages",
    "parse_jsonl": "evals.importers.formats.jsonl",
    "parse_labels": "evals.importers.formats.labels",
    "parse_observation": "evals.importers.formats.messages",
    "parse_pairwise": "evals.importers.formats.pairwise",
    "parse_tau": "evals.importers.formats.tau_bench",
    "parse_tau2": "evals.importers.formats.tau2_bench",
    "react_to_tool_calls": "evals.importers.formats.tau_bench",
    "read_jsonl": "evals.importers.formats.jsonl",
    "read_rows": "evals.importers.formats.labels",
    "to_choice": "evals.importers.formats.pairwise",
    "trace_from_messages": "evals.importers.formats.messages",
    "usage_of": "evals.importers.formats.messages",
}

__all__ = [
    "JsonlTrial",
    "LabelRow",
    "LabelledTrial",
    "PairwiseRow",
    "Tau2Info",
    "Tau2Message",
    "Tau2RewardInfo",
    "Tau2Simulation",
    "Tau2Task",
    "Tau2ToolCall",
    "TauResult",
    "openai_tool_call",
    "parse_jsonl",
    "parse_labels",
    "parse_observation",
    "parse_pairwise",
    "parse_tau",
    "parse_tau2",
    "react_to_tool_calls",
    "read_jsonl",
    "read_rows",
    "to_choice",
    "trace_from_messages",
    "usage_of",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
