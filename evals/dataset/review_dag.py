"""Review DAGs: the questions of a review and the order their answers feed each other.

A compliance review is a DAG of bite-sized questions: "the registration country" feeds
"the jurisdiction risk", "the owners" feed "the ownership transparency". Each
`Question` names the questions it uses in ``depends_on``; each `Case` names the review
(subject) it is a node of in ``review``. This module holds the rules about both:

- the DAG is valid when every ``depends_on`` names a known question and there is no
  cycle (a cycle is reported with its path: ``a -> b -> a``);
- the order nodes run in is topological, ties broken by the order of questions.yaml,
  so it is the same on every machine;
- a review holds at most one case per question.

Nothing here reads files or runs anything: evals.dataset.golden reports the problems with
file:line, evals.run.plan builds review jobs from the order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from evals.schema import Question


@dataclass(frozen=True)
class DagProblem:
    """One problem of the questions' DAG, located at the question that has it."""

    question_id: str
    """The question whose ``depends_on`` is wrong."""
    message: str
    """What is wrong."""


def dag_problems(questions: Mapping[str, Question]) -> list[DagProblem]:
    """Unknown or self dependencies, and every cycle (once, at its first question)."""
    problems: list[DagProblem] = []
    for qid, q in questions.items():
        for dep in q.depends_on:
            if dep == qid:
                problems.append(DagProblem(qid, "a question cannot depend on itself"))
            elif dep not in questions:
                known = ", ".join(questions) or "none"
                problems.append(DagProblem(qid, f"unknown question {dep!r} (known: {known})"))
    reported: set[str] = set()
    for cycle in _cycles(questions):
        if not reported.intersection(cycle):
            reported.update(cycle)
            path = " -> ".join([*cycle, cycle[0]])
            problems.append(DagProblem(cycle[0], f"dependency cycle: {path}"))
    return problems


def _cycles(questions: Mapping[str, Question]) -> Iterable[list[str]]:
    """Cycles found by depth-first search (each yielded as the path around it)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(qid: str) -> Iterable[list[str]]:
        state[qid] = 1
        path.append(qid)
        for dep in questions[qid].depends_on:
            if dep not in questions or dep == qid:
                continue
            if state.get(dep) == 1:
                yield path[path.index(dep) :]
            elif dep not in state:
                yield from visit(dep)
        path.pop()
        state[qid] = 2

    for qid in questions:
        if qid not in state:
            yield from visit(qid)


def question_order(questions: Mapping[str, Question]) -> list[str]:
    """Question ids in topological order (dependencies first), ties in file order.

    Raises ValueError on a cycle or unknown dependency (validation reports them first)."""
    index = {qid: i for i, qid in enumerate(questions)}
    waiting = {qid: {d for d in q.depends_on} for qid, q in questions.items()}
    for qid, deps in waiting.items():
        if not deps <= index.keys() or qid in deps:
            raise ValueError(f"question {qid!r} has an invalid depends_on")
    order: list[str] = []
    ready = sorted((q for q, d in waiting.items() if not d), key=index.__getitem__)
    while ready:
        qid = ready.pop(0)
        order.append(qid)
        for other, deps in waiting.items():
            if qid in deps:
                deps.discard(qid)
                if not deps and other not in order and other not in ready:
                    ready.append(other)
        ready.sort(key=index.__getitem__)
    if len(order) != len(questions):
        raise ValueError("the questions' depends_on has a cycle")
    return order


def upstream_of(questions: Mapping[str, Question], question_id: str) -> list[str]:
    """The direct dependencies of a question, in topological order."""
    deps = set(questions[question_id].depends_on)
    return [q for q in question_order(questions) if q in deps]

