"""`evals calibrate` end to end: every judge and cascade stage against the human labels
in the workspace, the cascade's thresholds, pairwise judges against human preferences,
and the records the cascade reads.

Which threshold is written for a judge: its own (judges.calibration: false fails and
helpful losses bounded under the target, a fixed-sequence test over all its labelled
verdicts, at its cascade stage when it ran in one). The cascade calibration
(judges.cascade_calibration: agreement >= 1 - target on what the whole cascade decides;
by default deterministic on every labelled trial, ``--method split`` on held-out halves)
is reported beside it, not written: with the harness's fail-only
cascade it bounds the same errors stage by stage.
The recorded outcome of imported runs (judge ``imported_outcome``) is reported, as a
check of the source's grader against people, but never written: no cascade runs it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from pydantic import BaseModel, Field

from evals.store.query import query, run_members_sql
from evals.store.rows import rows_as
from evals.store.workspace import Workspace
from judges.calibration import JudgeCalibration, JudgedItem, JudgeLabel, calibrate_judge
from judges.calibration_store import (
    Calibration,
    JudgeKey,
    calibration_record,
    human_truth,
    judged_items,
)
from judges.cascade_calibration import (
    CascadeCalibration,
    CascadeItem,
    DecideMode,
    StageObservation,
)
from judges.cascade_report import Method, calibrate_cascade, evaluate_thresholds

NOT_WRITTEN = ("imported_outcome",)


class CalibrationResult(BaseModel):
    """Everything `evals calibrate` reports and writes."""

    run_ids: list[str]
    target: float
    confidence: float
    labelled_trials: int
    """Trials with a (non-tied) human rating."""
    judges: list[JudgeCalibration]
    cascade_stages: list[list[str]] = Field(default_factory=list)
    """Judges per cascade stage, in order."""
    cascade: CascadeCalibration | None = None
    final: JudgeCalibration | None = None
    """The cascade's final verdicts against people (agreement only)."""
    unlabelled_judges: list[str] = Field(default_factory=list)
    """Judges with verdicts but no labelled trial among them."""
    simulated_ratings: int = 0
    """Counted ratings by simulated reviewers (ids 'sim:...'): demo data, not people."""
    include_simulated: bool = False
    """Those ratings were used as truth (--include-simulated): every number is SIMULATED."""
    records: list[Calibration] = Field(default_factory=list)


def run_calibration(
    ws: Workspace,
    run_ids: list[str] | None = None,
    judge: str | None = None,
    *,
    target: float = 0.05,
    confidence: float = 0.95,
    decide: DecideMode = "fail",
    seed: int = 0,
    include_simulated: bool = False,
    thresholds: list[float | None] | None = None,
    method: Method = "full",
) -> CalibrationResult:
    """Calibrate every judge (and the cascade) with labelled trials; nothing is written.
    Simulated reviewers' ratings (sim:*) are truth only with ``include_simulated``.
    ``thresholds`` (one for every stage, or one per stage): no thresholds are chosen; the
    cascade's coverage and agreement at those are reported (judges.cascade_calibration.
    evaluate_thresholds)."""
    truth = human_truth(ws, include_simulated)
    groups = judged_items(ws, run_ids, judge, include_simulated)
    reports = [
        calibrate_judge(items, name, version, stage=stage, target=target, confidence=confidence)
        for (name, version, stage), items in sorted(groups.items(), key=_order)
    ]
    for r in reports:
        r.run_ids = list(run_ids or [])
    result = CalibrationResult(
        run_ids=list(run_ids or []),
        target=target,
        confidence=confidence,
        labelled_trials=len(truth),
        judges=reports,
        unlabelled_judges=[] if judge else _unlabelled(ws, run_ids, {k[0] for k in groups}),
    )
    result.include_simulated = include_simulated
    result.simulated_ratings = query(
        ws, "SELECT count(*) AS n FROM counted_labels WHERE simulated AND helpful IS NOT NULL"
    )[0]["n"]
    staged = {k: v for k, v in groups.items() if k[2] is not None}
    if staged and judge is None:
        names, items = cascade_items(staged)
        result.cascade_stages = names
        labels = [" + ".join(n) for n in names]
        if thresholds is not None:
            fixed = thresholds * len(names) if len(thresholds) == 1 else thresholds
            result.cascade = evaluate_thresholds(
                items, labels, fixed, alpha=target, confidence=confidence, decide=decide
            )
        else:
            result.cascade = calibrate_cascade(
                items, labels, alpha=target, confidence=confidence, decide=decide,
                method=method, seed=seed,
            )  # fmt: skip
    result.final = _final(ws, run_ids, truth, target, confidence)
    result.records = records_of(result)
    return result


def _order(entry: tuple[JudgeKey, list[JudgedItem]]) -> tuple[int, str, str]:
    (name, version, stage), _ = entry
    return (-1 if stage is None else stage, name, version)


def cascade_items(
    staged: dict[JudgeKey, list[JudgedItem]],
) -> tuple[list[list[str]], list[CascadeItem]]:
    """Per trial, each stage's combined verdict (a stage fails when any of its judges
    fails; its confidence is the most confident fail's, or the least confident pass's)."""
    stages = sorted({k[2] for k in staged if k[2] is not None})
    names = [sorted({k[0] for k in staged if k[2] == s}) for s in stages]
    per_trial: dict[str, dict[int, list[JudgedItem]]] = defaultdict(lambda: defaultdict(list))
    helpful: dict[str, bool] = {}
    for (_, _, stage), items in staged.items():
        for it in items:
            # A cascade judge's key always has a stage (JudgeKey allows None for others).
            per_trial[it.trial_key][stages.index(stage)].append(it)  # type: ignore[arg-type]
            helpful[it.trial_key] = it.helpful
    needed = [sum(1 for k in staged if k[2] == s) for s in stages]
    out = []
    for key in sorted(per_trial):
        obs: list[StageObservation | None] = []
        for i, want in enumerate(needed):
            got = per_trial[key].get(i, [])
            obs.append(_combine(got) if len(got) == want else None)
        out.append(CascadeItem(key, helpful[key], tuple(obs)))
    return names, out


def _combine(items: list[JudgedItem]) -> StageObservation:
    labels = {it.label for it in items}
    cost = sum(it.cost_usd for it in items)
    latency = sum(it.latency_s for it in items)
    if "fail" in labels:
        conf = max(it.fail_confidence for it in items if it.label == "fail")
        return StageObservation("fail", conf, cost, latency)
    if labels == {"pass"}:
        confs = [it.confidence for it in items if it.confidence is not None]
        return StageObservation("pass", min(confs) if confs else None, cost, latency)
    return StageObservation("abstain", None, cost, latency)


def _final(
    ws: Workspace,
    run_ids: list[str] | None,
    truth: dict[str, bool],
    target: float,
    confidence: float,
) -> JudgeCalibration | None:
    sql = (
        "SELECT v.trial_key, v.label, v.confidence "
        "FROM final_verdicts v JOIN trials t ON t.key = v.trial_key WHERE TRUE"
    )
    params: list[object] = []
    if run_ids:
        sql += " AND (" + " OR ".join(run_members_sql() for _ in run_ids) + ")"
        params += [r for r in run_ids for _ in (1, 2)]
    latest: dict[str, FinalVerdict] = {}
    for r in rows_as(FinalVerdict, query(ws, sql + " ORDER BY v.trial_key", params)):
        latest[r.trial_key] = r  # final_verdicts: the latest cascade verdict
    items = [
        JudgedItem(k, r.label, r.confidence, truth[k]) for k, r in latest.items() if k in truth
    ]
    if not items:
        return None
    return calibrate_judge(items, "cascade", "final", target=target, confidence=confidence)


class FinalVerdict(NamedTuple):
    """The cascade's final verdict on a trial (a row of the ``final_verdicts`` view)."""

    trial_key: str
    """The trial."""
    label: JudgeLabel
    """pass, fail or abstain."""
    confidence: float | None
    """The judge's confidence in its label."""


def _unlabelled(ws: Workspace, run_ids: list[str] | None, labelled: set[str]) -> list[str]:
    sql = (
        "SELECT DISTINCT v.judge FROM verdicts v JOIN trials t ON t.key = v.trial_key "
        "WHERE v.judge NOT IN ('cascade', 'imported_outcome')"
    )
    params: list[object] = []
    if run_ids:
        sql += " AND (" + " OR ".join(run_members_sql() for _ in run_ids) + ")"
        params += [r for r in run_ids for _ in (1, 2)]
    return sorted({r["judge"] for r in query(ws, sql, params)} - labelled)


def stricter(a: float | None, b: float | None) -> float | None:
    """The more demanding of two thresholds (None = never fails alone, the strictest)."""
    return None if a is None or b is None else max(a, b)


def records_of(result: CalibrationResult) -> list[Calibration]:
    """One record per judge version (its cascade stage's calibration preferred); for a
    deterministic check only when it is refused (judges.calibration_store, Policy)."""
    chosen: dict[tuple[str, str], JudgeCalibration] = {}
    for r in result.judges:
        if r.judge in NOT_WRITTEN or (r.deterministic and r.status != "refused"):
            continue  # a rule's fails stand until labels show it wrong
        key = (r.judge, r.judge_version)
        if key not in chosen or (chosen[key].stage is None and r.stage is not None):
            chosen[key] = r
    return [calibration_record(r) for r in chosen.values()]
