"""Calibration in the workspace: reading judged and labelled trials, writing the
thresholds (record kind ``calibration``, view ``calibrations``), and applying them.

**Where the cascade reads it.** A ``calibration`` record is keyed by judge name and
version (the latest record wins). `judges.cascade.Cascade` applies it to that judge's
stage verdicts when combining them (:func:`apply_calibration`): a fail with confidence
below the threshold, or any fail of a judge that may not fail alone, counts as an
abstention, so the trial escalates and ends with people. The stored stage verdicts stay
the judge's own; the cascade's version includes the thresholds, so after a new
calibration `evals judge` recomputes the final verdicts without calling any judge again.

**Policy.** Judges never calibrated keep their fails, so a new team sees the funnel
before it has labels; `evals calibrate` lists them. An LLM judge's first calibration,
whatever its outcome, takes that right away unless it earned it (too few labels means it
may not fail alone yet). Deterministic checks (no LLM call behind any verdict) are rules:
their fails stand until labels show them wrong, so a record is written for one only when
it is *refused* (its fails are rated helpful more often than the target).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from evals.schema import Record, Verdict, content_hash, utcnow
from evals.store.query import ViewSpec, query, register_view, run_members_sql
from evals.store.workspace import Workspace

if TYPE_CHECKING:  # judges.calibration needs scipy; the cascade imports this module
    from judges.calibration import JudgeCalibration, JudgedItem

CALIBRATION_KIND = "calibration"
EXCLUDED_JUDGES = ("cascade",)
"""Verdicts that are not one judge's: the cascade's final verdict is reported apart."""


class Calibration(Record):
    """A judge's calibrated right to fail alone (what the cascade reads)."""

    id: str
    """Record id."""
    judge: str
    """Judge name."""
    judge_version: str
    """Judge version the calibration holds for."""
    stage: int | None = None
    """Cascade stage whose verdicts were used (None: standalone verdicts)."""
    status: Literal["calibrated", "insufficient", "refused"]
    """'calibrated': may fail alone at >= threshold; otherwise it may not fail alone."""
    threshold: float | None
    """Minimum confidence of a fail that stands; None: no fail stands."""
    target: float
    """Target for the upper bound of the false-fail (and helpful-loss) rate."""
    confidence: float
    """Confidence of the one-sided bounds."""
    n: int
    """Labelled trials behind the calibration."""
    fails: int
    """Its fails among them."""
    false_fails: int
    """Fails rated helpful."""
    false_fail_upper: float
    """Upper bound of the false-fail rate over all its fails."""
    kappa: float | None = None
    """Cohen's kappa with people on decided trials."""
    fail_coverage: float = 0.0
    """Share of trials it fails alone at the threshold."""
    run_ids: list[str] = Field(default_factory=list)
    """Runs whose labelled trials were used (empty: all)."""
    message: str = ""
    """The verdict in words."""
    created_at: datetime = Field(default_factory=utcnow)
    """When it was calibrated."""

    @property
    def may_fail_alone(self) -> bool:
        """True when some fails stand."""
        return self.threshold is not None


register_view(ViewSpec(CALIBRATION_KIND, "calibrations", Calibration, key="id"))


def calibration_record(report: JudgeCalibration) -> Calibration:
    """The record of a judge's calibration (what the cascade reads)."""
    body = dict(
        judge=report.judge,
        judge_version=report.judge_version,
        stage=report.stage,
        status=report.status,
        threshold=report.threshold,
        target=report.target,
        confidence=report.confidence,
        n=report.n,
        fails=report.false_fail.n,
        false_fails=report.false_fail.k,
        false_fail_upper=report.false_fail.upper,
        kappa=report.kappa,
        fail_coverage=report.fail_coverage,
        run_ids=report.run_ids,
        message=report.message,
    )
    return Calibration(id=content_hash({**body, "at": utcnow().isoformat()}), **body)


def load_calibrations(ws: Workspace) -> dict[tuple[str, str], Calibration]:
    """The latest calibration per (judge name, judge version)."""
    latest: dict[tuple[str, str], Calibration] = {}
    for body in ws.iter_bodies(CALIBRATION_KIND):
        cal = Calibration.model_validate(body)
        key = (cal.judge, cal.judge_version)
        if key not in latest or cal.created_at >= latest[key].created_at:
            latest[key] = cal
    return latest


def apply_calibration(
    verdict: Verdict, calibrations: Mapping[tuple[str, str], Calibration]
) -> Verdict:
    """The verdict as the cascade counts it: a fail under the calibrated threshold (or
    from a judge that may not fail alone) becomes an abstention; anything else is kept."""
    cal = calibrations.get((verdict.judge, verdict.judge_version))
    if cal is None or verdict.label != "fail":
        return verdict
    conf = 1.0 if verdict.confidence is None else verdict.confidence
    if cal.threshold is not None and conf >= cal.threshold:
        return verdict
    rule = (
        f"fails stand only at confidence >= {cal.threshold:.3g}"
        if cal.threshold is not None
        else "it may not fail alone"
    )
    return verdict.model_copy(
        update={
            "label": "abstain",
            "raw_label": verdict.raw_label or "fail",
            "reason": f"calibrated ({cal.status}): {rule}; this fail (confidence {conf:.2f}) "
            f"escalates. Judge said: {verdict.reason}",
        }
    )


def calibration_fingerprint(
    calibrations: Mapping[tuple[str, str], Calibration], judges: Iterable[tuple[str, str]]
) -> list[object]:
    """What of the calibrations matters to a cascade of these judges (for its version)."""
    out: list[object] = []
    for key in judges:
        cal = calibrations.get(key)
        if cal is not None:
            out.append([key[0], key[1], cal.threshold])
    return out


# --------------------------------------------------------------------------- reading


def human_truth(ws: Workspace, include_simulated: bool = False) -> dict[str, bool]:
    """Trial key -> helpful, by strict majority of its counted assisted ratings (the
    ``counted_labels`` view, as everywhere else); tied votes are left out. Simulated
    reviewers' labels (``sim:*``) count only with ``include_simulated``."""
    sim = "" if include_simulated else " AND NOT simulated"
    rows = query(
        ws,
        "SELECT trial_key, resolved_helpful AS helpful FROM resolved_labels "
        "WHERE arm = 'assisted' AND trial_key IS NOT NULL AND resolved_helpful IS NOT NULL"
        f"{sim} ORDER BY trial_key",
    )
    votes: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        votes[str(r["trial_key"])].append(bool(r["helpful"]))
    return {k: 2 * sum(v) > len(v) for k, v in votes.items() if 2 * sum(v) != len(v)}


JudgeKey = tuple[str, str, int | None]
"""(judge name, judge version, cascade stage)."""


def judged_items(
    ws: Workspace,
    run_ids: list[str] | None = None,
    judge: str | None = None,
    include_simulated: bool = False,
) -> dict[JudgeKey, list[JudgedItem]]:
    """Per judge (and stage), its verdicts on trials people rated."""
    from judges.calibration import JudgedItem

    truth = human_truth(ws, include_simulated)
    sql = (
        "SELECT v.trial_key, v.judge, v.judge_version, v.stage, "
        "coalesce(v.raw_label, v.label) AS label, v.confidence, v.judge_cost_usd, "
        "v.latency_s, CAST(v.usage->>'$.calls' AS BIGINT) AS llm_calls "
        "FROM verdicts v JOIN trials t ON t.key = v.trial_key "
        f"WHERE v.judge NOT IN ({', '.join('?' for _ in EXCLUDED_JUDGES)})"
    )
    params: list[object] = list(EXCLUDED_JUDGES)
    if run_ids:
        sql += " AND (" + " OR ".join(run_members_sql() for _ in run_ids) + ")"
        params += [r for r in run_ids for _ in (1, 2)]
    if judge:
        sql += " AND v.judge = ?"
        params.append(judge)
    out: dict[JudgeKey, list[JudgedItem]] = defaultdict(list)
    for r in query(ws, sql + " ORDER BY v.trial_key", params):
        if r["trial_key"] in truth:
            out[(r["judge"], r["judge_version"], r["stage"])].append(
                JudgedItem(
                    r["trial_key"],
                    r["label"],
                    r["confidence"],
                    truth[r["trial_key"]],
                    r["judge_cost_usd"] or 0.0,
                    r["latency_s"] or 0.0,
                    r["llm_calls"] or 0,
                )
            )
    return dict(out)
