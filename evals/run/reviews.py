"""Review runs: each review's nodes in DAG order, upstream answers fed downstream.

A suite with ``review: true`` runs whole reviews (cases sharing ``Case.review``, one per
question) instead of independent cases. Within a review, nodes run in the questions'
topological order (evals.dataset.review_dag); each node's agent gets its upstream questions'
answers (``AgentContext.upstream``):

- **free** mode: the agent's own upstream answers, as in production, so an early
  mistake propagates; recorded under the run id;
- **teacher** mode: the golden references as upstream answers; recorded under
  ``<run id>-teacher``.

Comparing the two runs question by question (`evals report`, `evals compare`) measures
error propagation. Each node trial records the upstream trials it consumed
(``Trial.review``).

Identity and resume: a node's key adds its mode and its upstream (the upstream trials'
keys in free mode, the upstream cases' hashes in teacher mode) to the usual trial
identity, so keys are computed without running anything, and a rerun after kill -9
skips finished nodes; a pending node whose upstream finished earlier reads that answer
back from the store. Reviews run in parallel on the lanes; nodes within one review run
one after another.
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from evals.agents import UpstreamAnswer
from evals.dataset.case_refs import CaseRef, CaseRefs
from evals.errors import InputError
from evals.run.trial import TrialSpec
from evals.schema import ModelSpec, PromptVersion, ReviewLink, UpstreamLink, trial_key

if TYPE_CHECKING:
    from evals.run.lanes import LaneRun
    from evals.run.plan import RunPlan

Mode = Literal["free", "teacher"]

TEACHER_SUFFIX = "-teacher"
"""Teacher-mode trials are recorded under the run id plus this suffix."""


def mode_run_id(run_id: str, mode: Mode) -> str:
    """The run id a mode's trials are recorded under."""
    return run_id if mode == "free" else run_id + TEACHER_SUFFIX


@dataclass(frozen=True)
class Review:
    """One review of the plan: its id and its cases by question, in DAG order."""

    review_id: str
    nodes: tuple[tuple[str, CaseRef], ...]
    """(question id, case ref) in the order the nodes run."""


class ReviewPlanError(InputError, ValueError):
    """A golden set that cannot be run as reviews (one line for the CLI)."""


def group_reviews(refs: CaseRefs, order: list[str], limit: int | None) -> list[Review]:
    """The selected cases grouped into reviews (first appearance order), the first
    `limit` reviews when limited."""
    grouped: dict[str, dict[str, CaseRef]] = {}
    for ref in refs:
        if ref.review is None:
            raise ReviewPlanError(
                f"cases.jsonl:{ref.line}: review: a review suite needs every case to name "
                "its review (the subject it is a node of)"
            )
        grouped.setdefault(ref.review, {})[ref.question_id] = ref
    reviews = [
        Review(rid, tuple((q, nodes[q]) for q in order if q in nodes))
        for rid, nodes in grouped.items()
    ]
    return reviews if limit is None else reviews[:limit]


@dataclass(slots=True)
class ReviewNode:
    """One node of a review job: its case, key and upstream links (before it runs)."""

    question_id: str
    ref: CaseRef
    key: str
    upstream: list[UpstreamLink]


@dataclass
class ReviewJob:
    """One review in one cell (prompt, model, repetition) and mode: its nodes in order."""

    review_id: str
    mode: Mode
    run_id: str
    prompt: PromptVersion
    model: ModelSpec
    repetition: int
    nodes: list[ReviewNode] = field(default_factory=list)
    refs: dict[str, CaseRef] = field(default_factory=dict)
    """The review's cases by question (teacher mode reads upstream references)."""

    async def run_in(self, lanes: LaneRun, finished: Container[str]) -> None:
        """Run the job's pending nodes in order on one lane, each trial recorded as it
        finishes (LaneRun.run_claimed: under its key's claim)."""
        plan = lanes.plan
        answers: dict[str, str | None] = {}
        for node in self.nodes:
            if node.key in finished:
                answers[node.key] = None  # read back only if a pending node needs it
                continue
            case = plan.golden.load_case(node.ref)
            upstream = [self._answer(plan, link, answers) for link in node.upstream]
            consumed = [
                _consumed(link, up) for link, up in zip(node.upstream, upstream, strict=True)
            ]
            spec = TrialSpec(
                node.key,
                case,
                node.ref.hash,
                self.model,
                self.prompt,
                self.repetition,
                run_id=self.run_id,
                review=ReviewLink(review_id=self.review_id, mode=self.mode, upstream=consumed),
                upstream=upstream,
            )
            trial = await lanes.run_claimed(spec)
            # None: another run finished the key meanwhile; its answer is read back.
            answers[node.key] = None if trial is None else trial.trace.final_answer

    def _answer(
        self, plan: RunPlan, link: UpstreamLink, answers: dict[str, str | None]
    ) -> UpstreamAnswer:
        question = plan.golden.questions.get(link.question_id)
        title = question.title if question is not None else link.question_id
        text: str | None = None
        if link.source == "reference" and link.question_id in self.refs:
            text = plan.golden.load_case(self.refs[link.question_id]).reference
        elif link.source == "agent" and link.trial_key is not None:
            text = answers.get(link.trial_key)
            if text is None:
                text = stored_answer(plan, link.trial_key)
        source: Literal["agent", "reference", "missing"] = (
            link.source if text is not None else "missing"
        )
        return UpstreamAnswer(link.question_id, title, text, source)


def _consumed(link: UpstreamLink, answer: UpstreamAnswer) -> UpstreamLink:
    """The link as recorded: 'missing' when the upstream node had no answer."""
    if answer.source == "missing":
        return link.model_copy(update={"source": "missing"})
    return link


def stored_answer(plan: RunPlan, key: str) -> str | None:
    """The final answer recorded for a trial key (a node finished by an earlier run)."""
    from evals.store.query import query  # DuckDB: loaded only by the process that asks

    assert plan.workspace is not None, "the runner sets the plan's workspace"
    rows = query(
        plan.workspace,
        "SELECT final_answer FROM trials WHERE key = ? AND final_answer IS NOT NULL LIMIT 1",
        [key],
    )
    return rows[0]["final_answer"] if rows else None


def review_jobs(plan: RunPlan) -> Iterator[ReviewJob]:
    """Every job of a review plan with its node keys, prompt-major like plan cells."""
    assert plan.reviews is not None
    cfg = plan.suite.config
    for mode in cfg.review_modes:
        for prompt in plan.suite.prompts:
            for model in plan.suite.models:
                for rep in range(cfg.repetitions):
                    for review in plan.reviews:
                        yield _job(plan, review, mode, prompt, model, rep)


def _job(
    plan: RunPlan, review: Review, mode: Mode, prompt: PromptVersion, model: ModelSpec, rep: int
) -> ReviewJob:
    """One review's job: each node's upstream links, then its key (which includes them)."""
    job = ReviewJob(
        review.review_id, mode, mode_run_id(plan.run_id, mode), prompt, model, rep,
        refs=dict(review.nodes),
    )  # fmt: skip
    by_question: dict[str, ReviewNode] = {}
    for qid, ref in review.nodes:
        links = _links(plan, review, qid, mode, by_question)
        upstream = [
            link.trial_key if mode == "free" else _hash_of(review, link) for link in links
        ]
        key = trial_key(
            ref.hash, plan.suite.agent, model, prompt.sha256, rep,
            review={"mode": mode, "upstream": upstream},
        )  # fmt: skip
        by_question[qid] = ReviewNode(qid, ref, key, links)
        job.nodes.append(by_question[qid])
    return job


def _links(
    plan: RunPlan, review: Review, qid: str, mode: Mode, done: dict[str, ReviewNode]
) -> list[UpstreamLink]:
    """A node's upstream links: each dependency's case and (free mode) trial key."""
    refs = dict(review.nodes)
    question = plan.golden.questions[qid]
    order = [q for q in plan.question_order if q in set(question.depends_on)]
    links = []
    for dep in order:
        ref = refs.get(dep)
        if ref is None:
            links.append(UpstreamLink(question_id=dep, source="missing"))
        elif mode == "teacher":
            links.append(
                UpstreamLink(question_id=dep, case_id=_case_id(plan, ref), source="reference")
            )
        else:
            links.append(
                UpstreamLink(
                    question_id=dep,
                    case_id=_case_id(plan, ref),
                    trial_key=done[dep].key,
                    source="agent",
                )
            )
    return links


def _case_id(plan: RunPlan, ref: CaseRef) -> str:
    """A case's id without holding cases: read from its line (cached per plan)."""
    cache = plan.case_ids
    if ref.offset not in cache:
        cache[ref.offset] = plan.golden.load_case(ref).id
    return cache[ref.offset]


def _hash_of(review: Review, link: UpstreamLink) -> str | None:
    ref = dict(review.nodes).get(link.question_id)
    return ref.hash if ref is not None else None


def pending_jobs(plan: RunPlan, finished: Container[str]) -> Iterator[ReviewJob]:
    """Jobs with at least one node still to run."""
    for job in review_jobs(plan):
        if any(node.key not in finished for node in job.nodes):
            yield job
