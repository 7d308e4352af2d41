"""Dashboard statistics from labels and raw events (through evals.stats)."""

from __future__ import annotations

import math

import pytest

from evals.stats import wilson_interval
from evals.store.workspace import Workspace
from labeling_app.metrics import dashboard as metrics
from labeling_app.queues.service import QueueService
from labeling_app.queues.simulate import judge_answer, simulate


def test_simulated_day_feeds_every_dashboard_number(
    trial_ws: Workspace, queue_factory, clock
) -> None:
    q = queue_factory(overlap=2, control_share=0.25)
    svc = QueueService(trial_ws)
    summary = simulate(svc, q.queue_id, reviewers=4, seed=1, end=clock(10 * 3600))
    assert summary.submitted > 0 and all(r.startswith("sim:") for r in summary.reviewers)
    labels, events = svc.index.labels(q.queue_id), svc.index.events(q.queue_id)
    counted = metrics.counted_ids(trial_ws, [q.queue_id])
    df = metrics.label_frame({q.queue_id: q}, labels, events, counted=counted)
    assert len(df) == summary.submitted
    # The label's own active time is what the events give at the queue's threshold.
    own = {lb.id: lb.active_seconds for lb in labels}
    assert df["active_s"].tolist() == pytest.approx([own[i] for i in df["label_id"]], abs=0.01)

    helpful = metrics.helpfulness(df, "model_alias")
    assert helpful["simulated"].all()  # every number built on sim:* labels says so
    for _, row in helpful.iterrows():
        ci = wilson_interval(int(row["helpful"]), int(row["n"]))
        assert (row["low"], row["high"]) == pytest.approx((ci.low, ci.high))
    rates = dict(zip(helpful["model_alias"], helpful["rate"], strict=True))
    assert rates["model-a"] > rates["model-b"]  # model-a states the key facts

    times = metrics.handling_time(df, "question_id")
    assert set(times["question_id"]) == {"registration", "ubo"}
    assert (times["n_unassisted"] > 0).all()
    assert times["reduction"].between(-1, 1).all()
    longer = metrics.label_frame(
        {q.queue_id: q}, labels, events, threshold_s=3600, counted=counted
    )
    assert (longer["active_s"] >= df["active_s"] - 1e-9).all()  # idle gaps now count

    agree = metrics.agreement(df, "helpful")
    assert agree["items"] > 0 and not math.isnan(agree["krippendorff"])
    prog = metrics.progress(df, {})
    assert prog["submitted"].sum() == summary.submitted


def test_agreement_and_undo_handling(trial_ws: Workspace, queue_factory, clock) -> None:
    from labeling_app.queues.service import Decision

    q = queue_factory(overlap=2)
    svc = QueueService(trial_ws)
    for i, item in enumerate(q.items[:6]):
        for j, r in enumerate(("ann", "ben")):
            svc.claim_next(q.queue_id, r, now=clock(100 * i + j))
            verdict = (i % 2 == 0) if r == "ann" or i < 5 else i % 2 == 1
            svc.decide(
                q.queue_id, item.item_id, r, Decision(helpful=verdict), now=clock(100 * i + j + 10)
            )
    svc.undo_last(q.queue_id, "ben", now=clock(2000))
    counted = metrics.counted_ids(trial_ws, [q.queue_id])
    df = metrics.label_frame({q.queue_id: q}, svc.index.labels(q.queue_id), [], counted=counted)
    assert len(df) == 11  # the undone label is gone
    assert int(df["counted"].sum()) == 11 and len(counted) == 11
    agree = metrics.agreement(df, "helpful")
    assert agree["items"] == 5 and agree["fleiss"] == pytest.approx(1.0)
    assert agree["pairs"] == [{"pair": "ann / ben", "items": 5, "cohen": pytest.approx(1.0)}]


def test_simulated_reviewer_rule(dataset) -> None:
    from evals.dataset.golden import load_golden_set

    case = load_golden_set(dataset).case("ubo-0")
    assert judge_answer(case.reference, case) == (True, "correct")
    assert judge_answer("Jane Smith is involved.", case) == (False, "partly")
    assert judge_answer("Jane Smith owns 75%, no owner else.", case) == (False, "wrong")
