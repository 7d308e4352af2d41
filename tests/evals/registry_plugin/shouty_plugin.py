"""A tiny third-party plugin: one of each kind of extension, as docs/extending.md shows.

tests/evals/test_registry.py loads it by module path (``shouty_plugin:...``) and as an
installed distribution whose entry points name the same objects.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from evals.agents import AgentContext
from evals.blueprints import BlueprintRun
from evals.importers import ImportBatch, ImportOptions
from evals.importers.jsonl import parse_jsonl
from evals.schema import Case, FinalAnswerStep, ModelSpec, PromptVersion, Trace, Verdict
from evals.store import Workspace
from judges import BaseJudge, JudgeContext, make_verdict
from judges.base import LabelName
from reports import Section, SectionContext, TextBlock


def shout_agent(suffix: str = "!") -> Any:
    """Agent factory: answers the case's question in capitals."""

    async def agent(
        case: Case, model: ModelSpec, prompt: PromptVersion, ctx: AgentContext
    ) -> Trace:
        answer = case.input.question.upper() + suffix
        ctx.trace.steps.append(FinalAnswerStep(text=answer))
        ctx.trace.final_answer = answer
        return ctx.trace

    return agent


async def shout_blueprint(run: BlueprintRun) -> str:
    """A blueprint of one rule node: the question in capitals."""
    return run.rule("shout", lambda q: q.upper(), run.case.input.question, kind="rule")


class ShoutJudge(BaseJudge):
    """Passes answers written in capitals (at least `min_chars` of them)."""

    min_chars: int = 1
    """Shortest answer that can pass."""

    async def __call__(self, ctx: JudgeContext) -> Verdict:
        started = time.perf_counter()
        ok = ctx.answer.isupper() and len(ctx.answer) >= self.min_chars
        label: LabelName = "pass" if ok else "fail"
        return make_verdict(self, ctx.trial, label, f"capitals: {ok}", started=started)


class OldJudge:
    """A judge written before JudgeContext: three positional arguments."""

    def __init__(self, spec: Any, env: Any) -> None:
        self.name, self.version = spec.display_name, "old-1"

    async def __call__(self, trial: Any, case: Any, question: Any) -> Verdict:
        return make_verdict(self, trial, "pass", "old style", started=time.perf_counter())


def old_factory(spec: Any, env: Any) -> OldJudge:
    """A legacy judge factory."""
    return OldJudge(spec, env)


def parse_shout(path: Path, options: ImportOptions, ws: Workspace) -> ImportBatch:
    """Shouted JSONL: the generic JSONL trials, recorded under their own format name."""
    batch = parse_jsonl(path, options, ws)
    batch.format = "shout"
    return batch


def shout_section(ctx: SectionContext) -> Section:
    """How many trials the run holds, shouted."""
    text = f"THIS RUN HOLDS {len(ctx.run.trials)} TRIALS"
    return Section(id="shout", title="Shout", blocks=[TextBlock(text=text)])
