"""The report of a cascade's thresholds (chosen by judges.cascade_calibration, or given:
:func:`evaluate_thresholds`): coverage, per-stage and overall agreement with Wilson
intervals, costs, the message in words, and the warnings (the spread over seeds, missing
shadow verdicts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from evals import stats
from judges.calibration import min_n_zero_errors
from judges.cascade_calibration import (
    SPREAD_SEEDS,
    CascadeCalibration,
    CascadeItem,
    DecideMode,
    StageReport,
    _Arrays,
    _arrays,
    _eligible,
    simulate,
)
from judges.cascade_ltt import calibrate_stages, n_start
from judges.cascade_split import GAMMA, SPLITS, _one_split, _pool, _Pooled

Method = Literal["full", "split"]
FULL_METHOD = "full sample, Learn-then-Test per stage (deterministic)"
DETERMINISTIC_NOTE = (
    "deterministic: no seed and no split, the same labels always give the same "
    "thresholds (spread of coverage over seeds: 0 by construction)"
)


def spread_note(coverage: Sequence[float]) -> str:
    """The spread of coverage over seeds, with the warning against picking one."""
    c = np.array(coverage)
    return (
        f"coverage over {len(c)} seeds of the split: min {c.min():.0%}, median "
        f"{float(np.median(c)):.0%}, max {c.max():.0%} (choosing a seed after seeing "
        "results voids the guarantee)"
    )


def report_of(
    a: _Arrays,
    rows: npt.NDArray[np.int64],
    chosen: list[float | None],
    names: Sequence[str],
    risk: tuple[float, float],
    decide: DecideMode,
    seed: int,
    sizes: tuple[int, int],
    test: tuple[int, int, float | None],
    tested: int,
    path: list[tuple[float | None, ...]],
    method: str = "held-out split + Learn-then-Test",
) -> CascadeCalibration:
    """The report of `chosen`, its figures measured on `rows` (the test part)."""
    alpha, confidence = risk
    n = len(rows)
    reached, decided, agreed = simulate(a, rows, chosen, decide)
    share = reached / n if n else np.zeros(len(chosen))
    stages = _stage_reports(a, names, chosen, (reached, decided, agreed), n, confidence)
    total_dec, total_agr = int(decided.sum()), int(agreed.sum())
    # Coverage is label-free (who is decided depends on confidences only): measured on
    # every labelled trial, it is not optimistic and varies less with the split.
    every = simulate(a, np.arange(len(a.helpful)), chosen, decide)[1]
    all_dec, n_all = int(every.sum()), len(a.helpful)
    report = CascadeCalibration(
        alpha=alpha,
        confidence=confidence,
        decide=decide,
        method=method,
        seed=seed,
        n=len(a.helpful),
        n_select=sizes[0],
        n_test=sizes[1],
        thresholds=chosen,
        stages=stages,
        test_decided=test[0],
        test_disagreed=test[1],
        test_upper=test[2],
        coverage=all_dec / n_all if n_all else 0.0,
        coverage_interval=_interval(all_dec, n_all, confidence),
        agreement=total_agr / total_dec if total_dec else None,
        agreement_interval=_interval(total_agr, total_dec, confidence),
        expected_cost_usd=float((share * a.cost).sum()),
        strongest_cost_usd=float(a.cost[-1]) if len(a.cost) else 0.0,
        expected_latency_s=float((share * a.latency).sum()),
        strongest_latency_s=float(a.latency[-1]) if len(a.latency) else 0.0,
        tuples_tested=tested,
        path=[list(p) for p in path],
        unshadowed=_unshadowed(a, decide),
    )
    report.message = _message(report, min_n_zero_errors(alpha, confidence))
    return report


def _stage_reports(
    a: _Arrays,
    names: Sequence[str],
    chosen: list[float | None],
    counts: tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]],
    n: int,
    confidence: float,
) -> list[StageReport]:
    """Each stage's figures over the ``n`` test trials: how many reached it, were decided
    there and agreed with people (``counts``, from simulate), with its mean cost and time."""
    reached, decided, agreed = counts
    return [
        StageReport(
            stage=k,
            name=names[k],
            threshold=chosen[k],
            reached=int(reached[k]),
            decided=int(decided[k]),
            agreed=int(agreed[k]),
            coverage=float(decided[k] / n) if n else 0.0,
            agreement=float(agreed[k] / decided[k]) if decided[k] else None,
            agreement_interval=_interval(int(agreed[k]), int(decided[k]), confidence),
            mean_cost_usd=float(a.cost[k]),
            mean_latency_s=float(a.latency[k]),
        )
        for k in range(len(chosen))
    ]


def _interval(k: int, n: int, confidence: float) -> list[float] | None:
    """Wilson interval [low, high] of k/n (None without data)."""
    if not n:
        return None
    iv = stats.wilson_interval(k, n, confidence)
    return [iv.low, iv.high]


def _unshadowed(a: _Arrays, decide: DecideMode) -> list[int]:
    """Per stage: labelled trials it has no verdict on although an earlier stage decided
    them (the recorded cascade stopped there and the stage ran without ``shadow``)."""
    eligible = _eligible(a, decide)
    out = []
    for k in range(a.codes.shape[1]):
        earlier = eligible[:, :k].any(axis=1) if k else np.zeros(len(a.helpful), bool)
        out.append(int((earlier & (a.codes[:, k] == 0)).sum()))
    return out


def evaluate_thresholds(
    items: Sequence[CascadeItem],
    stage_names: Sequence[str],
    thresholds: Sequence[float | None],
    *,
    alpha: float = 0.05,
    confidence: float = 0.95,
    decide: DecideMode = "fail",
) -> CascadeCalibration:
    """Fixed thresholds (nothing chosen, so every labelled trial is test data): the
    cascade's coverage and agreement with their Wilson intervals, per stage and overall,
    and the one-sided upper bound of its disagreement, e.g. to check a published
    cascade's figures from its raw predictions."""
    k_n = len(stage_names)
    if len(thresholds) != k_n or any(len(it.stages) != k_n for it in items):
        raise ValueError(f"give one threshold per stage ({k_n}) and one slot per stage")
    a = _arrays(items, k_n)
    rows = np.arange(len(items))
    _, dec, agr = simulate(a, rows, thresholds, decide)
    d, wrong = int(dec.sum()), int(dec.sum() - agr.sum())
    upper = stats.clopper_pearson_upper(wrong, d, confidence) if d else None
    return report_of(
        a,
        rows,
        list(thresholds),
        stage_names,
        (alpha, confidence),
        decide,
        0,
        (0, len(items)),
        (d, wrong, upper),
        0,
        [tuple(thresholds)],
        method="fixed thresholds (no selection: every labelled trial is test data)",
    )


def _message(r: CascadeCalibration, n_min: int) -> str:
    promise = f"agreement >= {1 - r.alpha:.0%} with {r.confidence:.0%} confidence"
    shadow = _shadow_note(r)
    if r.method.startswith("fixed"):
        cov, agr = r.coverage_interval, r.agreement_interval
        return (
            f"at the given thresholds the cascade decides {r.coverage:.1%} of "
            f"{r.n} trials alone [{_pct_iv(cov)}], agreeing with people on "
            f"{'-' if r.agreement is None else f'{r.agreement:.1%}'} of them [{_pct_iv(agr)}]"
            + ("" if r.test_upper is None else f"; disagreement upper bound {r.test_upper:.1%}")
            + shadow
        )
    if r.deterministic:
        return _full_message(r, promise, shadow)
    if r.test_decided == 0:
        return (
            f"no stage may decide alone: no threshold tuple kept {promise} on the test "
            f"part ({r.n_test} trials; a tuple needs >= {n_min} decided test trials with "
            "next to no disagreement); everything goes to people" + shadow
        )
    return (
        f"the cascade decides {r.coverage:.0%} of trials alone "
        f"[{_pct_iv(r.coverage_interval)}] with {promise} (test part: {r.test_disagreed} of "
        f"{r.test_decided} decided disagreed, upper bound {r.test_upper:.1%}); expected cost "
        f"per trial ${r.expected_cost_usd:.5f} vs ${r.strongest_cost_usd:.5f} for the "
        "strongest judge on everything" + shadow
    )


def _full_message(r: CascadeCalibration, promise: str, shadow: str, start: int = 0) -> str:
    if r.test_decided == 0:
        return (
            f"no stage may decide alone: no stage's thresholds kept {promise} on the "
            f"{r.n} labelled trials (a stage's first test needs >= {start} "
            "decided trials, disagreeing well under the target); everything goes to people; "
            + DETERMINISTIC_NOTE
            + shadow
        )
    return (
        f"the cascade decides {r.coverage:.0%} of trials alone "
        f"[{_pct_iv(r.coverage_interval)}] with {promise}: every stage that decides is "
        f"certified at disagreement <= {r.alpha:.0%} (its bound in the table); the same "
        f"{r.n} trials chose and tested the thresholds, so the agreement shown "
        f"({r.test_decided - r.test_disagreed}/{r.test_decided}) is in-sample; "
        f"expected cost per trial ${r.expected_cost_usd:.5f} vs "
        f"${r.strongest_cost_usd:.5f} for the strongest judge on everything; "
        + DETERMINISTIC_NOTE
        + shadow
    )


def _pct_iv(iv: list[float] | None) -> str:
    return "-" if iv is None else f"{iv[0]:.1%}, {iv[1]:.1%}"


def _shadow_note(r: CascadeCalibration) -> str:
    missing = [(s.name, n) for s, n in zip(r.stages, r.unshadowed, strict=True) if n]
    if not missing:
        return ""
    which = ", ".join(f"{name} ({n})" for name, n in missing)
    return (
        f"; WARNING: no shadow verdicts: later stages have no verdict on trials an earlier "
        f"stage decided: {which}; those stages are scored only on what earlier stages "
        "passed on, and their thresholds rest on that (mark them `shadow: true` and judge "
        "again for unbiased figures)"
    )


def calibrate_cascade(
    items: Sequence[CascadeItem],
    stage_names: Sequence[str],
    *,
    alpha: float = 0.05,
    confidence: float = 0.95,
    decide: DecideMode = "fail",
    method: Method = "full",
    select_fraction: float = 0.5,
    seed: int = 0,
    splits: int = SPLITS,
    spread_seeds: int = SPREAD_SEEDS,
) -> CascadeCalibration:
    """Choose per-stage thresholds and report what they give. ``method="full"`` (the
    default): deterministic, every labelled trial, stage by stage (judges.cascade_ltt;
    `seed` and the split arguments are unused). ``"split"``: held-out splits with
    pooled p-values (judges.cascade_split), with the spread of coverage over
    `spread_seeds` seeds (0: not computed)."""
    k_n = len(stage_names)
    if any(len(it.stages) != k_n for it in items):
        raise ValueError("every item needs one observation slot per stage")
    a = _arrays(items, k_n)
    if method == "full":
        return _full_sample(a, stage_names, alpha, confidence, decide)
    if splits < 1:
        raise ValueError("splits must be at least 1")
    return _split(a, stage_names, (alpha, confidence), decide, select_fraction, seed,
                  (splits, spread_seeds))  # fmt: skip


def _full_sample(
    a: _Arrays, names: Sequence[str], alpha: float, confidence: float, decide: DecideMode
) -> CascadeCalibration:
    """The default procedure (judges.cascade_ltt): the figures are on every labelled
    trial, which also chose the thresholds; each stage's certified bound beside them."""
    tests, level = calibrate_stages(a, alpha, confidence, decide)
    chosen = [t.threshold for t in tests]
    rows = np.arange(len(a.helpful))
    _, dec, agr = simulate(a, rows, chosen, decide)
    d, wrong = int(dec.sum()), int(dec.sum() - agr.sum())
    upper = stats.clopper_pearson_upper(wrong, d, confidence) if d else None
    report = report_of(
        a, rows, chosen, names, (alpha, confidence), decide, 0, (len(rows), len(rows)),
        (d, wrong, upper), sum(t.tested for t in tests), [tuple(chosen)], method=FULL_METHOD,
    )  # fmt: skip
    for stage, t in zip(report.stages, tests, strict=True):
        if t.threshold is not None:
            stage.upper = stats.clopper_pearson_upper(t.wrong, t.decided, level)
    report.deterministic = True
    promise = f"agreement >= {1 - alpha:.0%} with {confidence:.0%} confidence"
    report.message = _full_message(report, promise, _shadow_note(report), n_start(alpha, level))
    return report


def _split(
    a: _Arrays,
    stage_names: Sequence[str],
    risk: tuple[float, float],
    decide: DecideMode,
    select_fraction: float,
    seed: int,
    counts: tuple[int, int],
) -> CascadeCalibration:
    """``method="split"`` (judges.cascade_split): seed s draws `splits` independent
    splits (seeded (s, 0), (s, 1), ...), tests the tuples of each in a fixed sequence
    and pools the splits' p-values per tuple (Meinshausen, Meier & Buehlmann 2009,
    Theorem 3.2); the coverage over `spread_seeds` seeds is listed (0: not computed)."""
    alpha, confidence = risk
    splits, spread_seeds = counts
    delta = 1.0 - confidence
    level = 1.0 - delta * GAMMA  # the loosest level any tuple can pass at

    def pick(s: int) -> _Pooled:
        runs = [_one_split(a, alpha, level, decide, select_fraction, (s, b)) for b in range(splits)]
        return _pool(a, runs, delta, decide)

    best = pick(seed)
    d, wrong = best.kept.counts.get(best.chosen, (0, 0))
    upper = stats.clopper_pearson_upper(wrong, d, level) if d else None
    report = report_of(
        a, best.kept.test, list(best.chosen), stage_names, risk, decide, seed,
        best.kept.sizes, (d, wrong, upper), best.tested, best.kept.path,
        method=f"held-out splits + Learn-then-Test, p-values pooled over {splits} splits",
    )  # fmt: skip
    report.splits, report.split_seed = splits, best.kept.seed[1]
    if spread_seeds:
        report.seed_coverage = [
            best.coverage if s == seed else pick(s).coverage for s in range(spread_seeds)
        ]
        report.message += "; " + spread_note(report.seed_coverage)
    return report
