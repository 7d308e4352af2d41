"""Error propagation in a review DAG: free mode against teacher mode, per question.

A review suite records each node twice: in ``free`` mode (upstream answers are the
agent's own, as in production) and in ``teacher`` mode (upstream answers are the golden
references; run ``RUN-teacher``). Paired by case, the difference in pass rate
(free - teacher) per question is what upstream mistakes cost downstream: a root
question (no dependencies) differs only by chance; a question fed by a weak upstream
node loses. The numbers come from evals.analysis.compare (the same paired statistics as
`evals compare`: difference with its interval, McNemar).
"""

from __future__ import annotations

from evals.analysis.compare import Comparison, PairedOutcomes
from reports.charts import forest_chart
from reports.model import Block, Cell, Section, TableBlock, TextBlock


def _rate(p: PairedOutcomes, which: str) -> str:
    rate = p.baseline_rate if which == "teacher" else p.candidate_rate
    return "n/a" if rate is None else f"{rate:.1%}"


def propagation_rows(cmp: Comparison) -> list[list[Cell]]:
    """One row per question (then overall): pairs, teacher and free pass rates, the
    difference with its interval, McNemar p."""
    rows: list[list[Cell]] = []
    for scope in [*cmp.questions, cmp.overall]:
        p = scope.outcome
        diff = "n/a" if p.diff is None else f"{p.diff:+.1%} [{p.low:+.3f}, {p.high:+.3f}]"
        rows.append(
            [scope.scope, p.n, _rate(p, "teacher"), _rate(p, "free"), diff, round(p.mcnemar_p, 4)]
        )
    return rows


def propagation_section(cmp: Comparison) -> Section:
    """The report section: a table and a forest chart of free - teacher per question."""
    blocks: list[Block] = [
        TextBlock(
            text=(
                "Each review node ran twice: with the agent's own upstream answers (free, as "
                "in production) and with the golden references as upstream answers (teacher). "
                "A negative difference is the pass rate lost to upstream mistakes. Paired by "
                f"case; {cmp.confidence:.0%} intervals (Tango), McNemar p."
            )
        ),
        TableBlock(
            title="Pass rate by mode",
            columns=["question", "pairs", "teacher", "free", "free - teacher", "McNemar p"],
            rows=propagation_rows(cmp),
            evidence=[
                [k for ks in s.outcome.cells.values() for k in ks]
                for s in [*cmp.questions, cmp.overall]
            ],
        ),
        forest_chart("propagation", [(s.scope, s.outcome) for s in cmp.questions], []),
    ]
    return Section(id="propagation", title="Error propagation (review DAG)", blocks=blocks)
