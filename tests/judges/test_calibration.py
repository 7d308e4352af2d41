"""Single-judge calibration: known thresholds, too few labels, and a chance-level judge."""

from __future__ import annotations

import numpy as np
import pytest

from evals import stats
from judges.calibration import (
    JudgedItem,
    calibrate_judge,
    min_n_zero_errors,
    n_needed_at_rate,
)


def planted_judge(n: int, seed: int, cut: float = 0.7, p_helpful: float = 0.6) -> list[JudgedItem]:
    """Above confidence `cut` the judge's label is the truth; below it a coin flip."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        helpful, conf = bool(rng.random() < p_helpful), float(rng.random())
        if conf >= cut:
            label = "pass" if helpful else "fail"
        else:
            label = "fail" if rng.random() < 0.5 else "pass"
        items.append(JudgedItem(f"t{i}", label, conf, helpful))
    return items


def critical_threshold(target: float, cut: float = 0.7, p_helpful: float = 0.6) -> float:
    """Lowest t whose fails (confidence >= t) are helpful at exactly the target rate:
    fails above `cut` are never helpful (density 1 - p_helpful), below it half the
    trials fail and p_helpful of those are helpful, so with d = cut - t,
    p_helpful d / 2 = target ((1 - p_helpful)(1 - cut) + d / 2)."""
    d = target * (1 - p_helpful) * (1 - cut) / (p_helpful / 2 - target / 2)
    return cut - d


def test_n_min_is_the_rule_of_three_exact_form() -> None:
    assert min_n_zero_errors(0.05, 0.95) == 59
    assert (
        stats.clopper_pearson_upper(0, 59, 0.95) < 0.05 <= stats.clopper_pearson_upper(0, 58, 0.95)
    )
    assert min_n_zero_errors(0.01, 0.95) == 299
    assert n_needed_at_rate(0.0, 0.05, 0.95) == 59
    assert n_needed_at_rate(0.06, 0.05, 0.95) is None


@pytest.mark.parametrize("seed", [1, 2])
def test_threshold_lands_just_above_the_planted_critical_value(seed: int) -> None:
    items = planted_judge(20_000, seed)
    report = calibrate_judge(items, "j", "v1", target=0.05, confidence=0.95)
    t_star = critical_threshold(0.05)
    assert report.status == "calibrated" and report.threshold is not None
    # Safe: never below the value where the true false-fail rate reaches the target;
    # efficient: no higher than where the judge is perfect.
    assert t_star <= report.threshold <= 0.7
    assert report.threshold_false_fail is not None and report.threshold_false_fail.upper < 0.05
    # On fresh data from the same judge the rate at that threshold stays under target.
    fresh = planted_judge(200_000, seed + 100)
    fails = [it for it in fresh if it.label == "fail" and it.fail_confidence >= report.threshold]
    assert sum(it.helpful for it in fails) / len(fails) < 0.05
    assert report.fail_coverage == pytest.approx(len(fails) / len(fresh), abs=0.01)


def test_too_few_labels_says_how_many_more() -> None:
    # A judge that is right every time, but with only 30 labelled trials (10 fails).
    items = [JudgedItem(f"t{i}", "fail" if i < 10 else "pass", 0.9, i >= 10) for i in range(30)]
    report = calibrate_judge(items, "j", "v1")
    assert report.status == "insufficient" and report.threshold is None
    assert report.fail_coverage == 0.0 and report.n_min == 59
    # 59 fails at its fail rate of 1/3 -> 177 labelled trials, 147 more than it has.
    assert report.more_labels_needed == 147
    assert "needs at least 59 labelled fails" in report.message
    assert "about 147 more labelled trials needed" in report.message
    assert "has 10 labelled fails, 0 of them rated helpful" in report.message


def test_message_counts_every_fail_and_estimates_fall_as_the_target_loosens() -> None:
    # 252 fails over many confidences, 1 in 12 rated helpful (mostly the unconfident
    # ones): the message names all 252, not the 59 of the first threshold tested.
    rng = np.random.default_rng(5)
    items = []
    for i in range(600):
        conf = float(rng.random())
        fail = i < 252
        helpful = (not fail and rng.random() < 0.8) or (fail and rng.random() < 0.16 * (1 - conf))
        items.append(JudgedItem(f"t{i}", "fail" if fail else "pass", round(conf, 3), helpful))
    needed = []
    for target in (0.02, 0.03, 0.04, 0.05, 0.07, 0.1):
        report = calibrate_judge(items, "j", "v1", target=target)
        if report.status == "insufficient":
            assert f"has 252 labelled fails, {report.false_fail.k} of them" in report.message
        needed.append(0 if report.status == "calibrated" else report.more_labels_needed)
    known = [n for n in needed if n is not None]
    assert len(known) >= 3 and known == sorted(known, reverse=True)  # monotone in target


def test_chance_level_judge_may_not_fail_anything_alone() -> None:
    rng = np.random.default_rng(7)
    items = [
        JudgedItem(
            f"t{i}",
            "fail" if rng.random() < 0.5 else "pass",
            float(rng.random()),
            bool(rng.random() < 0.8),
        )
        for i in range(3000)
    ]
    report = calibrate_judge(items, "smol", "v1")
    assert report.status == "refused" and report.threshold is None
    assert report.fail_coverage == 0.0
    assert report.kappa is not None and abs(report.kappa) < 0.1
    assert report.accuracy is not None and abs(report.accuracy - 0.5) < 0.05
    assert "may not fail anything alone" in report.message
    assert "more labels will not change that" in report.message


def test_confusion_accuracy_kappa_and_coverage() -> None:
    items = [
        JudgedItem("a", "pass", 0.9, True),
        JudgedItem("b", "fail", 0.8, False),
        JudgedItem("c", "fail", 0.6, True),
        JudgedItem("d", "abstain", None, False),
        JudgedItem("e", "pass", 0.7, False),
    ]
    report = calibrate_judge(items, "j", "v1")
    c = report.confusion
    assert (
        c.pass_helpful,
        c.pass_unhelpful,
        c.fail_helpful,
        c.fail_unhelpful,
        c.abstain_unhelpful,
    ) == (1, 1, 1, 1, 1)
    assert report.accuracy == 0.5 and report.coverage == 0.8
    assert report.kappa == pytest.approx(
        stats.cohens_kappa(["pass", "fail", "fail", "pass"], ["pass", "fail", "pass", "fail"])
    )
    assert (report.false_fail.k, report.false_fail.n) == (1, 2)
    assert (report.helpful_loss.k, report.helpful_loss.n) == (1, 2)
    assert report.false_fail.upper == pytest.approx(stats.clopper_pearson_upper(1, 2, 0.95))


def test_rules_keep_their_fails_unless_refused_llm_judges_do_not() -> None:
    from judges.calibration_run import CalibrationResult, records_of

    few = [JudgedItem(f"t{i}", "fail" if i < 5 else "pass", 1.0, i >= 5) for i in range(20)]
    rule = calibrate_judge(few, "key_facts", "v1", stage=0)
    llm = calibrate_judge(
        [JudgedItem(it.trial_key, it.label, 0.9, it.helpful, llm_calls=1) for it in few],
        "rubric",
        "v1",
        stage=1,
    )
    assert rule.deterministic and not llm.deterministic
    assert rule.status == llm.status == "insufficient"
    result = CalibrationResult(
        run_ids=[], target=0.05, confidence=0.95, labelled_trials=20, judges=[rule, llm]
    )
    written = {r.judge: r for r in records_of(result)}
    assert set(written) == {"rubric"} and written["rubric"].threshold is None
    bad = calibrate_judge(
        [JudgedItem(f"t{i}", "fail", 1.0, i % 2 == 0) for i in range(80)], "key_facts", "v1"
    )
    assert bad.status == "refused"
    result.judges = [bad]
    assert [r.judge for r in records_of(result)] == ["key_facts"]
