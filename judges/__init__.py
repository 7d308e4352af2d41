"""Judges: deterministic checks, LLM judges, pairwise comparison, and the fail-fast cascade.

A judge is a class whose fields are its params (judges.base.BaseJudge) and which
receives one JudgeContext; it turns a trial into a Verdict (pass | fail | abstain, with
score, confidence, a reason naming the evidence, and its own cost). Judges are
configured in a suite's ``judges:`` list (judges.config), built by name from
evals.registry (judges.base), run
cheapest first by the cascade (judges.cascade) over a whole run, exactly once and
resumably (judges.judging), and summarised as a funnel (judges.funnel). Candidate text
is data, never instructions (judges.render).
"""

from judges.base import (
    BaseJudge,
    Judge,
    JudgeConfigError,
    JudgeContext,
    JudgeEnv,
    LegacyJudge,
    LegacyJudgeWarning,
    build_judge,
    is_infra_error,
    judge,
    make_verdict,
    register_judge,
    registered_judges,
    verdict_key,
)
from judges.cascade import CASCADE_JUDGE, Cascade, build_cascade, stage_label
from judges.config import (
    CascadeSpec,
    JudgeConfigFileError,
    JudgeSpec,
    StageSpec,
    load_cascade_file,
    parse_cascade,
)
from judges.funnel import Funnel, StageFunnel, compute_funnel
from judges.judging import (
    JudgeRunResult,
    JudgingError,
    judge_candidates,
    judge_run,
    load_run_trials,
    load_verdicts,
)
from judges.pairwise import PairwiseJudge, PairwiseResult, build_pairwise, pair_trials
from judges.render import PromptTemplate, load_template, render, split_data_blocks

__all__ = [
    "CASCADE_JUDGE",
    "BaseJudge",
    "Cascade",
    "CascadeSpec",
    "Funnel",
    "Judge",
    "JudgeConfigError",
    "JudgeConfigFileError",
    "JudgeContext",
    "JudgeEnv",
    "JudgeRunResult",
    "JudgeSpec",
    "JudgingError",
    "LegacyJudge",
    "LegacyJudgeWarning",
    "PairwiseJudge",
    "PairwiseResult",
    "PromptTemplate",
    "StageFunnel",
    "StageSpec",
    "build_cascade",
    "build_judge",
    "build_pairwise",
    "compute_funnel",
    "is_infra_error",
    "judge",
    "judge_candidates",
    "judge_run",
    "load_cascade_file",
    "load_run_trials",
    "load_template",
    "load_verdicts",
    "make_verdict",
    "pair_trials",
    "parse_cascade",
    "register_judge",
    "registered_judges",
    "render",
    "split_data_blocks",
    "stage_label",
    "verdict_key",
]
