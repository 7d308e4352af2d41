"""Building review queues: a run's survivors, or a sample of trials, plus control items.

* **survivors**: trials of the given runs whose final judge-cascade verdict (judge
  ``cascade``, the latest per trial) is not ``fail``; a run with no cascade verdicts is
  an error (judge it first, or build a sample).
* **sample**: a seeded sample of the trials (of the given runs, or of all runs) that
  produced an answer.

Control items: ``control_share`` is the share of the queue's items that are unassisted
(the reviewer gets the case and its tools' recorded data, not the agent's answer, and
answers it themselves). With n assisted items that is ``round(n * s / (1 - s))`` control
items, at most one per case, spread over the questions in turn so every question gets
its share (handling time is compared per question).

The queue keeps a snapshot of its cases and questions (read from the golden set named
by the run), so what reviewers saw stays on record even if the set changes later.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from evals.dataset.golden import GoldenSet, load_golden_set
from evals.errors import InputError
from evals.schema import Case, content_hash, utcnow
from evals.store.query import query, run_members_sql
from evals.store.rows import rows_as
from evals.store.workspace import Workspace
from labeling_app.queues.models import QueueItem, ReviewQueue
from labeling_app.queues.service import append_durable


class QueueBuildError(InputError):
    """The queue cannot be built as asked; the message says why."""


class QueueTrial(NamedTuple):
    """A trial a queue item is made of (a row of the ``trials`` view)."""

    key: str
    """The trial."""
    run_id: str
    """The run that recorded it."""
    case_id: str
    """Its case."""
    question_id: str
    """Its question."""
    model_alias: str
    """The model that answered."""
    prompt: str
    """The prompt version."""


_TRIAL_COLUMNS = ", ".join(QueueTrial._fields)


def _members(run_ids: list[str], table: str = "") -> tuple[str, list[Any]]:
    """SQL condition for the trials of the runs, including trials a run reused from an
    earlier run with the same key (evals.store.query.run_members_sql)."""
    one = run_members_sql("?", table)
    return "(" + " OR ".join(one for _ in run_ids) + ")", [r for r in run_ids for _ in (1, 2)]


def survivor_trials(ws: Workspace, run_ids: list[str]) -> list[QueueTrial]:
    """Trials of the runs that the judge cascade did not fail (latest cascade verdict)."""
    if not run_ids:
        raise QueueBuildError("survivors need at least one run id")
    missing = []
    for run_id in run_ids:
        members, params = _members([run_id], "t")
        judged = query(
            ws,
            f"SELECT count(*) AS n FROM final_verdicts v JOIN trials t ON "
            f"t.key = v.trial_key WHERE {members}",
            params,
        )
        if not judged[0]["n"]:
            missing.append(run_id)
    if missing:
        raise QueueBuildError(
            f"run(s) {', '.join(missing)} have no judge-cascade verdicts: judge them first, "
            "or build the queue from a sample of trials"
        )
    members, params = _members(run_ids, "t")
    rows = query(
        ws,
        f"SELECT {', '.join('t.' + c for c in QueueTrial._fields)} "
        f"FROM trials t JOIN final_verdicts f ON f.trial_key = t.key "
        f"WHERE {members} AND f.label <> 'fail' AND t.status = 'ok' ORDER BY t.key",
        params,
    )
    return rows_as(QueueTrial, rows)


def sample_trials(
    ws: Workspace, run_ids: list[str], size: int | None, seed: int
) -> list[QueueTrial]:
    """A seeded sample of the trials that produced an answer (all runs when none given)."""
    where = "status = 'ok'"
    params: list[Any] = []
    if run_ids:
        members, params = _members(run_ids)
        where += f" AND {members}"
    rows = query(ws, f"SELECT {_TRIAL_COLUMNS} FROM trials WHERE {where} ORDER BY key", params)
    trials = rows_as(QueueTrial, rows)
    if size is not None and size < len(trials):
        trials = sorted(random.Random(seed).sample(trials, size), key=lambda t: t.key)
    return trials


def dataset_path_for(ws: Workspace, run_ids: list[str], explicit: str | Path | None) -> Path:
    """The golden set's folder: given, or named by the run manifest's config, or
    ``datasets/<name>`` under the current folder."""
    if explicit:
        return Path(explicit)
    if not run_ids:
        raise QueueBuildError("give the golden set's folder (--dataset) for a sample of all runs")
    runs = query(ws, "SELECT run_id, dataset, config FROM runs WHERE run_id = ?", [run_ids[0]])
    if not runs:
        raise QueueBuildError(f"no run {run_ids[0]!r} in {ws.root}")
    config = _as_dict(runs[0]["config"])
    for key in ("dataset_path", "dataset"):
        value = config.get(key)
        if isinstance(value, str) and Path(value).is_dir():
            return Path(value)
    guess = Path("datasets") / str(runs[0]["dataset"])
    if guess.is_dir():
        return guess
    raise QueueBuildError(
        f"cannot find the golden set {runs[0]['dataset']!r} of run "
        f"{run_ids[0]}: give its folder with --dataset"
    )


def _as_dict(value: Any) -> dict[str, Any]:
    import orjson

    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def _control_cases(trials: Sequence[QueueTrial], share: float, seed: int) -> list[str]:
    if share <= 0 or not trials:
        return []
    wanted = round(len(trials) * share / (1.0 - share))
    by_question: dict[str, list[str]] = defaultdict(list)
    for case_id, qid in sorted({(t.case_id, t.question_id) for t in trials}):
        by_question[qid].append(case_id)
    rng = random.Random(f"control-{seed}")
    for cases in by_question.values():
        rng.shuffle(cases)
    chosen: list[str] = []
    while len(chosen) < wanted and any(by_question.values()):
        for qid in sorted(by_question):
            if by_question[qid] and len(chosen) < wanted:
                chosen.append(by_question[qid].pop())
    return chosen


def _check_settings(
    overlap: int, control_share: float, lease_s: float, idle_threshold_s: float
) -> None:
    if overlap < 1:
        raise QueueBuildError("overlap must be at least 1")
    if not 0.0 <= control_share < 1.0:
        raise QueueBuildError("control share must be in [0, 1)")
    if lease_s <= 0 or idle_threshold_s <= 0:
        raise QueueBuildError("lease and idle threshold must be positive")


def _golden_cases(trials: Sequence[QueueTrial], golden: GoldenSet) -> dict[str, Case]:
    """The golden set's cases by id; every trial's case must be one of them."""
    if not trials:
        raise QueueBuildError("no trials to review (nothing survived, or no trials match)")
    cases = {c.id: c for c in golden.cases}
    unknown = sorted({t.case_id for t in trials} - set(cases))
    if unknown:
        raise QueueBuildError(
            f"{len(unknown)} trial case(s) are not in the golden set "
            f"{golden.path}: {', '.join(unknown[:5])}"
        )
    return cases


def _item_drafts(
    trials: Sequence[QueueTrial],
    cases: dict[str, Case],
    control_share: float,
    seed: int,
    shuffle: bool,
) -> list[dict[str, Any]]:
    """The queue's items before they have ids: an assisted item per trial and the control
    (unassisted) cases, shuffled by the seed or in (question, case, model, prompt) order."""
    drafts = [
        dict(
            arm="assisted",
            case_id=t.case_id,
            question_id=t.question_id,
            trial_key=t.key,
            run_id=t.run_id,
            model_alias=t.model_alias,
            prompt=t.prompt,
        )
        for t in trials
    ]
    drafts += [
        dict(arm="unassisted", case_id=c, question_id=cases[c].question_id)
        for c in _control_cases(trials, control_share, seed)
    ]
    if shuffle:
        random.Random(f"order-{seed}").shuffle(drafts)
    else:
        drafts.sort(
            key=lambda d: tuple(
                str(d.get(k) or "")
                for k in ("question_id", "case_id", "model_alias", "prompt", "arm")
            )
        )
    return drafts


def build_queue(
    trials: Sequence[QueueTrial],
    golden: GoldenSet,
    *,
    name: str,
    created_by: str,
    source: str,
    run_ids: list[str],
    sample_size: int | None = None,
    seed: int = 0,
    overlap: int = 1,
    blind: bool = True,
    shuffle: bool = True,
    control_share: float = 0.0,
    lease_s: float = 1200.0,
    idle_threshold_s: float = 60.0,
    show_verdicts: bool = False,
    description: str = "",
    now: datetime | None = None,
) -> ReviewQueue:
    """A queue over the given trials (rows with key, run_id, case_id, question_id,
    model_alias, prompt) and the golden set's cases."""
    _check_settings(overlap, control_share, lease_s, idle_threshold_s)
    cases = _golden_cases(trials, golden)
    drafts = _item_drafts(trials, cases, control_share, seed, shuffle)
    created = now or utcnow()
    queue_id = "q-" + content_hash(
        {"name": name, "at": created.isoformat(), "items": drafts}, length=10
    )
    items = [
        QueueItem(item_id=f"{queue_id}-{i:04d}", position=i, **d)
        for i, d in enumerate(drafts)
    ]
    used = {it.case_id for it in items}
    return ReviewQueue(
        queue_id=queue_id,
        name=name,
        created_by=created_by,
        created_at=created,
        source=source,
        run_ids=run_ids,
        sample_size=sample_size,
        seed=seed,
        overlap=overlap,
        blind=blind,
        shuffle=shuffle,
        control_share=control_share,
        lease_s=lease_s,
        idle_threshold_s=idle_threshold_s,
        show_verdicts=show_verdicts,
        dataset=golden.name,
        dataset_path=str(golden.path),
        dataset_hash=golden.content_hash,
        cases={c: cases[c] for c in sorted(used)},
        questions={q: golden.questions[q] for q in sorted({cases[c].question_id for c in used})},
        items=items,
        description=description,
    )


def create_queue(
    ws: Workspace,
    *,
    source: str,
    run_ids: list[str],
    dataset: str | Path | None = None,
    sample_size: int | None = None,
    seed: int = 0,
    **options: Any,
) -> ReviewQueue:
    """Select the trials, build the queue and write it (fsync'd). ``options`` are
    `build_queue`'s keyword arguments (name, created_by, overlap, ...)."""
    if source == "survivors":
        trials = survivor_trials(ws, run_ids)
    elif source == "sample":
        trials = sample_trials(ws, run_ids, sample_size, seed)
    else:
        raise QueueBuildError(f"unknown source {source!r} (survivors or sample)")
    golden = load_golden_set(dataset_path_for(ws, run_ids, dataset))
    queue = build_queue(
        trials,
        golden,
        source=source,
        run_ids=run_ids,
        sample_size=sample_size,
        seed=seed,
        **options,
    )
    append_durable(ws, "queue", queue)
    return queue
