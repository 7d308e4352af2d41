"""From recorded evidence to ship decisions.

* `rundata`: a run's evidence loaded once: trials, outcomes, human labels (`load_run`);
  `trial_sql`: the one column list of a run's trials and the counted labels' query;
* `runstats`: rates with intervals, funnel, cost, time, helpfulness, handling time;
* `pairing`: the paired 2x2 table of two runs (units, counts in memory or in DuckDB)
  and its analysis (`paired_from_counts`, the one constructor of `PairedOutcomes`);
* `compare`: paired comparison of two runs over the same cases (`compare_runs`);
* `runfacts`, `tallies`: the same statistics over a run whose trials stay in DuckDB
  (typed columns), as tallies and paired counts (`evals gate`, `evals report`);
* `gates`, `gate_checks`: ship gates as YAML, evaluated into a `Decision`; `evidence`:
  the trial keys behind a check, found again from its selection; `accepted`: the
  last accepted run;
* `suite_gates`: the gates a suite applies at the end of `evals run`;
* `junit`: JUnit XML for CI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evals.lazy import lazy_exports

if TYPE_CHECKING:
    from evals.analysis.compare import (
        Comparison,
        ScopeComparison,
        by_question,
        compare_runs,
        in_question,
    )
    from evals.analysis.gate_checks import (
        scope_checks,
    )
    from evals.analysis.gates import (
        Gate,
        GateFileError,
        GateSpec,
        evaluate_gate,
        last_accepted,
        load_gate,
        record_decision,
        run_scope,
        summarize,
        threshold_problems,
    )
    from evals.analysis.junit import (
        check_text,
        decision_suite,
        junit_xml,
        run_suite,
        write_junit,
    )
    from evals.analysis.pairing import (
        NonInferiority,
        PairedOutcomes,
        paired_outcomes,
        pairing_units,
    )
    from evals.analysis.rundata import (
        LabelFacts,
        OutcomeSpec,
        RunData,
        RunRef,
        RunRow,
        RunSelectionError,
        TrialFacts,
        load_run,
        no_gc,
        parse_run_ref,
        resolve_run_ref,
        run_ids,
        trial_outcome,
    )
    from evals.analysis.runstats import (
        ArmStats,
        Funnel,
        HandlingTime,
        RateStat,
        arm_stats,
        funnel,
        handling_time,
        helpful_by_trial,
        helpful_stat,
        known_costs,
        outcome_stat,
        rate_stat,
    )
    from evals.analysis.suite_gates import (
        SuiteGate,
        SuiteGateEntry,
        load_suite_gates,
    )

# Names resolve lazily (evals.lazy): importing the package runs none of its modules.
_EXPORTS: dict[str, str] = {
    "ArmStats": "evals.analysis.runstats",
    "Comparison": "evals.analysis.compare",
    "Funnel": "evals.analysis.runstats",
    "Gate": "evals.analysis.gates",
    "GateFileError": "evals.analysis.gates",
    "GateSpec": "evals.analysis.gates",
    "HandlingTime": "evals.analysis.runstats",
    "LabelFacts": "evals.analysis.rundata",
    "NonInferiority": "evals.analysis.pairing",
    "OutcomeSpec": "evals.analysis.rundata",
    "PairedOutcomes": "evals.analysis.pairing",
    "RateStat": "evals.analysis.runstats",
    "RunData": "evals.analysis.rundata",
    "RunRef": "evals.analysis.rundata",
    "RunRow": "evals.analysis.rundata",
    "RunSelectionError": "evals.analysis.rundata",
    "ScopeComparison": "evals.analysis.compare",
    "SuiteGate": "evals.analysis.suite_gates",
    "SuiteGateEntry": "evals.analysis.suite_gates",
    "TrialFacts": "evals.analysis.rundata",
    "arm_stats": "evals.analysis.runstats",
    "by_question": "evals.analysis.compare",
    "check_text": "evals.analysis.junit",
    "compare_runs": "evals.analysis.compare",
    "decision_suite": "evals.analysis.junit",
    "evaluate_gate": "evals.analysis.gates",
    "funnel": "evals.analysis.runstats",
    "handling_time": "evals.analysis.runstats",
    "helpful_by_trial": "evals.analysis.runstats",
    "helpful_stat": "evals.analysis.runstats",
    "in_question": "evals.analysis.compare",
    "junit_xml": "evals.analysis.junit",
    "known_costs": "evals.analysis.runstats",
    "last_accepted": "evals.analysis.gates",
    "load_gate": "evals.analysis.gates",
    "load_run": "evals.analysis.rundata",
    "load_suite_gates": "evals.analysis.suite_gates",
    "no_gc": "evals.analysis.rundata",
    "outcome_stat": "evals.analysis.runstats",
    "paired_outcomes": "evals.analysis.pairing",
    "pairing_units": "evals.analysis.pairing",
    "parse_run_ref": "evals.analysis.rundata",
    "rate_stat": "evals.analysis.runstats",
    "record_decision": "evals.analysis.gates",
    "resolve_run_ref": "evals.analysis.rundata",
    "run_ids": "evals.analysis.rundata",
    "run_scope": "evals.analysis.gates",
    "run_suite": "evals.analysis.junit",
    "scope_checks": "evals.analysis.gate_checks",
    "summarize": "evals.analysis.gates",
    "threshold_problems": "evals.analysis.gates",
    "trial_outcome": "evals.analysis.rundata",
    "write_junit": "evals.analysis.junit",
}

__all__ = [
    "ArmStats",
    "Comparison",
    "Funnel",
    "Gate",
    "GateFileError",
    "GateSpec",
    "HandlingTime",
    "LabelFacts",
    "NonInferiority",
    "OutcomeSpec",
    "PairedOutcomes",
    "RateStat",
    "RunData",
    "RunRef",
    "RunRow",
    "RunSelectionError",
    "ScopeComparison",
    "SuiteGate",
    "SuiteGateEntry",
    "TrialFacts",
    "arm_stats",
    "by_question",
    "check_text",
    "compare_runs",
    "decision_suite",
    "evaluate_gate",
    "funnel",
    "handling_time",
    "helpful_by_trial",
    "helpful_stat",
    "in_question",
    "junit_xml",
    "known_costs",
    "last_accepted",
    "load_gate",
    "load_run",
    "load_suite_gates",
    "no_gc",
    "outcome_stat",
    "paired_outcomes",
    "pairing_units",
    "parse_run_ref",
    "rate_stat",
    "record_decision",
    "resolve_run_ref",
    "run_ids",
    "run_scope",
    "run_suite",
    "scope_checks",
    "summarize",
    "threshold_problems",
    "trial_outcome",
    "write_junit",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
