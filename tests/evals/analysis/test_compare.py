"""evals.analysis.compare against reference implementations on runs written to a real workspace.

References: statsmodels (McNemar exact, Wilson interval), numpy percentiles, and an
independent Tango score interval: the restricted MLE found numerically (scipy
minimize_scalar) instead of the closed form, the bounds by brentq.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize
from scipy import stats as st
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

from evals import stats as S
from evals.analysis.compare import compare_runs
from evals.analysis.rundata import OutcomeSpec, RunRef, load_run
from evals.schema import Trial, TrialError
from evals.store.workspace import Workspace
from evals.testing.synthetic import make_label, make_trial, make_verdict, write_run

TOL = 1e-6
Table = tuple[int, int, int, int]  # (both pass, baseline only, candidate only, both fail)


def write_pair(
    ws: Workspace, tables: dict[str, Table], reps: int = 1
) -> tuple[list[Trial], list[Trial]]:
    """Two runs over the same cases whose cascade verdicts give the 2x2 table per question."""
    base: list[Trial] = []
    cand: list[Trial] = []
    verdicts = []
    for q, (n11, b10, b01, n00) in tables.items():
        pattern = (
            [(True, True)] * n11
            + [(True, False)] * b10
            + [(False, True)] * b01
            + [(False, False)] * n00
        )
        for i, (a_pass, b_pass) in enumerate(pattern):
            for r in range(reps):
                ta = make_trial(
                    "base",
                    f"{q}-c{i}",
                    q,
                    repetition=r,
                    cost_usd=0.002 * (i % 3),
                    latency_s=1.0 + i,
                    input_tokens=100 + i,
                    cached_input_tokens=i,
                    output_tokens=10,
                    tool_calls=i % 2,
                )
                tb = make_trial(
                    "cand",
                    f"{q}-c{i}",
                    q,
                    model_alias="model-b",
                    repetition=r,
                    cost_usd=0.001,
                    latency_s=0.5 + i % 7,
                    tool_calls=2,
                )
                base.append(ta)
                cand.append(tb)
                verdicts += [
                    make_verdict(ta, "pass" if a_pass else "fail"),
                    make_verdict(tb, "pass" if b_pass else "fail"),
                ]
    write_run(ws, "base", base)
    write_run(ws, "cand", cand)
    ws.writer("verdict").append_many(verdicts)
    return base, cand


def tango_reference(n: int, b01: int, b10: int, confidence: float) -> tuple[float, float]:
    """Tango's score interval with the restricted MLE maximised numerically."""
    z = st.norm.ppf(0.5 + confidence / 2)
    diff = (b01 - b10) / n

    def statistic(d: float) -> float:
        lo, hi = max(0.0, -d), (1.0 - d) / 2.0

        def nll(q: float) -> float:
            terms = [(b10, q), (b01, q + d), (n - b01 - b10, 1.0 - 2.0 * q - d)]
            return -sum(k * math.log(max(p, 1e-300)) for k, p in terms if k)

        q = optimize.minimize_scalar(
            nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13}
        ).x
        return (diff - d) / math.sqrt((2.0 * q + d - d * d) / n)

    low = optimize.brentq(lambda d: statistic(d) - z, -1 + 1e-12, diff, xtol=1e-13)
    high = optimize.brentq(lambda d: statistic(d) + z, diff, 1 - 1e-12, xtol=1e-13)
    return low, high


@pytest.mark.parametrize(
    "tables",
    [
        {"q1": (59, 6, 16, 80)},  # Cavo et al. (2012), Fagerland et al. ch. 8
        {"q1": (20, 3, 5, 4), "q2": (10, 6, 1, 3)},
        {"q1": (30, 0, 4, 6)},
    ],
)
def test_paired_statistics_match_references(workspace: Workspace, tables: dict[str, Table]) -> None:
    write_pair(workspace, tables)
    base = load_run(workspace, RunRef("base"))
    cand = load_run(workspace, RunRef("cand"))
    cmp = compare_runs(base, cand, margins=[0.05, 0.10])
    total = tuple(sum(t[i] for t in tables.values()) for i in range(4))
    scopes = {"overall": total, **tables}
    got = {s.scope: s for s in [cmp.overall, *cmp.questions]}
    for scope, (n11, b10, b01, n00) in scopes.items():
        p = got[scope].outcome
        n = n11 + b10 + b01 + n00
        assert (p.n, p.both_pass, p.baseline_only, p.candidate_only, p.both_fail) == (
            n,
            n11,
            b10,
            b01,
            n00,
        )
        assert p.diff == pytest.approx((b01 - b10) / n, abs=1e-12)
        ref_p = mcnemar([[n11, b10], [b01, n00]], exact=True).pvalue
        assert p.mcnemar_p == pytest.approx(ref_p, abs=TOL)
        low, high = tango_reference(n, b01, b10, 0.95)
        assert p.low == pytest.approx(low, abs=TOL)
        assert p.high == pytest.approx(high, abs=TOL)
        for arm, k in (
            (got[scope].baseline.outcome, n11 + b10),
            (got[scope].candidate.outcome, n11 + b01),
        ):
            lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
            assert (arm.k, arm.n) == (k, n)
            assert arm.low == pytest.approx(lo, abs=TOL)
            assert arm.high == pytest.approx(hi, abs=TOL)
        for ni in p.noninferiority:
            # Read off the two-sided 95% interval; one-sided p-value of the score test.
            expected = (
                "non-inferior"
                if low > -ni.margin
                else "inferior"
                if high < -ni.margin
                else "undecided"
            )
            assert ni.verdict == expected
            z_ref = S.tango_score_statistic(n, b01, b10, -ni.margin)
            assert ni.p_value == pytest.approx(st.norm.sf(z_ref), abs=TOL)
            if expected == "undecided" and p.diff is not None and p.diff > -ni.margin:
                need = S.sample_size_noninferiority_paired(
                    (b01 + b10) / n, p.diff, ni.margin, alpha=0.025, power=0.8
                )
                assert (ni.n_needed, ni.n_more) == (need, need - n)
    # Published values, Fagerland, Lydersen & Laake (2017) ch. 8 (4 decimals).
    if tables == {"q1": (59, 6, 16, 80)}:
        # Their table has the candidate as the first margin; sign flipped here.
        assert (cmp.overall.outcome.low, cmp.overall.outcome.high) == pytest.approx(
            (0.0054, 0.1240), abs=5e-5
        )
        assert cmp.overall.outcome.mcnemar_p == pytest.approx(0.052479, abs=1e-6)


def test_descriptive_statistics(workspace: Workspace) -> None:
    base_trials, cand_trials = write_pair(workspace, {"q1": (5, 2, 3, 2), "q2": (4, 1, 0, 3)})
    cmp = compare_runs(load_run(workspace, RunRef("base")), load_run(workspace, RunRef("cand")))
    b = cmp.overall.baseline
    lat = [t.trace.latency_s for t in base_trials]
    assert b.trials == len(base_trials) and b.cases == len(base_trials)
    assert b.latency_p50_s == pytest.approx(float(np.percentile(lat, 50)), abs=1e-12)
    assert b.latency_p95_s == pytest.approx(float(np.percentile(lat, 95)), abs=1e-12)
    assert b.cost_per_trial_usd == pytest.approx(
        np.mean([t.trace.usage.cost_usd for t in base_trials]), abs=1e-12
    )
    assert b.cost_total_usd == pytest.approx(sum(t.trace.usage.cost_usd for t in base_trials))
    assert b.cached_input_tokens_per_trial == pytest.approx(
        np.mean([t.trace.usage.cached_input_tokens for t in base_trials])
    )
    assert b.input_tokens_per_trial == pytest.approx(
        np.mean([t.trace.usage.input_tokens for t in base_trials])
    )
    assert b.tool_calls_per_trial == pytest.approx(
        np.mean([len(t.trace.tool_calls()) for t in base_trials])
    )
    assert cmp.overall.candidate.tool_calls_per_trial == 2.0
    assert b.verdicts == {"pass": 12, "fail": 8, "abstain": 0, "none": 0}
    assert sorted(cmp.overall.outcome.cells["baseline_only"]) == sorted(
        [t.key for t in base_trials if t.case_id in {"q1-c5", "q1-c6", "q2-c4"}]
        + [t.key for t in cand_trials if t.case_id in {"q1-c5", "q1-c6", "q2-c4"}]
    )
    assert cmp.warnings == []


def test_repetitions_pair_by_case_majority_or_by_repetition(workspace: Workspace) -> None:
    base = [make_trial("base", "c1", repetition=r) for r in range(3)] + [
        make_trial("base", "c2", repetition=r) for r in range(2)
    ]
    cand = [make_trial("cand", "c1", model_alias="b", repetition=r) for r in range(3)] + [
        make_trial("cand", "c2", model_alias="b", repetition=r) for r in range(2)
    ]
    write_run(workspace, "base", base)
    write_run(workspace, "cand", cand)
    labels = {
        ("base", "c1"): ["pass", "pass", "fail"],
        ("cand", "c1"): ["fail", "fail", "pass"],
        ("base", "c2"): ["pass", "fail"],
        ("cand", "c2"): ["pass", "pass"],
    }
    workspace.writer("verdict").append_many(
        [make_verdict(t, labels[(t.run_id, t.case_id)][t.repetition]) for t in base + cand]
    )
    a, b = load_run(workspace, RunRef("base")), load_run(workspace, RunRef("cand"))
    by_case = compare_runs(a, b, pair_by="case").overall.outcome
    # c1: baseline 2/3 pass -> pass, candidate 1/3 -> fail; c2: 1/2 is a tie -> fail vs pass.
    assert (by_case.n, by_case.baseline_only, by_case.candidate_only) == (2, 1, 1)
    by_rep = compare_runs(a, b, pair_by="case_repetition").overall.outcome
    assert (
        by_rep.n,
        by_rep.both_pass,
        by_rep.baseline_only,
        by_rep.candidate_only,
        by_rep.both_fail,
    ) == (5, 1, 2, 2, 0)


def test_infra_errors_unjudged_and_unpaired_are_left_out(workspace: Workspace) -> None:
    infra = TrialError(kind="infra", code="timeout", message="provider timed out")
    agent = TrialError(kind="agent", code="max_steps", message="gave up")
    base = [make_trial("base", f"c{i}") for i in range(5)]
    cand = [
        make_trial("cand", "c0", model_alias="b", error=infra),
        make_trial("cand", "c1", model_alias="b", error=agent),
        make_trial("cand", "c2", model_alias="b"),  # never judged
        make_trial("cand", "c3", model_alias="b"),
        make_trial("cand", "c9", model_alias="b"),
    ]
    write_run(workspace, "base", base)
    write_run(workspace, "cand", cand)
    workspace.writer("verdict").append_many(
        [make_verdict(t, "pass") for t in base]
        + [make_verdict(cand[3], "pass"), make_verdict(cand[4], "fail")]
    )
    cmp = compare_runs(load_run(workspace, RunRef("base")), load_run(workspace, RunRef("cand")))
    o = cmp.overall.outcome
    # Paired: c1 (agent error = fail) and c3; c0 infra and c2 unjudged have no outcome.
    assert (o.n, o.both_pass, o.baseline_only) == (2, 1, 1)
    assert (o.unpaired_baseline, o.unpaired_candidate) == (3, 1)
    c = cmp.overall.candidate
    assert (c.infra_errors, c.agent_errors, c.outcome.n) == (1, 1, 3)
    assert any("infra errors" in w for w in cmp.warnings)
    assert any("unpaired" in w for w in cmp.warnings)


def test_imported_outcome_source_and_threshold(workspace: Workspace) -> None:
    rewards_a = [1.0, 1.0, 0.0, 0.5, 1.0 - 1e-12]
    rewards_b = [1.0, 0.0, 1.0, 0.8, 1.0]
    base = [
        make_trial("ia", f"t{i}", "retail", imported_outcome=r) for i, r in enumerate(rewards_a)
    ]
    cand = [
        make_trial("ib", f"t{i}", "retail", model_alias="ft", imported_outcome=r)
        for i, r in enumerate(rewards_b)
    ]
    write_run(workspace, "ia", base, source="import")
    write_run(workspace, "ib", cand, source="import")
    # The importer's ground-truth verdicts for the candidate only (a run may lack them).
    workspace.writer("verdict").append_many(
        [
            make_verdict(t, "pass" if r >= 1 - 1e-9 else "fail", judge="imported_outcome")
            for t, r in zip(cand, rewards_b, strict=True)
        ]
    )
    a, b = load_run(workspace, RunRef("ia")), load_run(workspace, RunRef("ib"))
    assert a.outcome_source == b.outcome_source == "imported"
    assert [t.outcome for t in a.trials] == [True, True, False, False, True]
    assert [t.outcome for t in b.trials] == [True, False, True, False, True]
    spec = OutcomeSpec(source="imported", imported_threshold=0.5)
    lenient = load_run(workspace, RunRef("ib"), spec)
    assert [t.outcome for t in lenient.trials] == [True, False, True, True, True]
    cascade = load_run(workspace, RunRef("ib"), OutcomeSpec(source="cascade"))
    assert all(t.outcome is None for t in cascade.trials)  # never judged by a cascade


def test_labels_undo_and_latest_submit(workspace: Workspace) -> None:
    trials = write_run(workspace, "run", [make_trial("run", f"c{i}") for i in range(2)])
    t0, t1 = trials
    first = make_label("ann", trial=t0, helpful=False, label_id="l1")
    second = make_label("ann", trial=t0, helpful=True, label_id="l2")
    undo = make_label("ann", trial=t0, action="undo", retracts="l2", label_id="l3")
    bob = make_label("bob", trial=t1, helpful=True, label_id="l4")
    skip = make_label("bob", trial=t1, action="skip", helpful=None, label_id="l5")
    writer = workspace.writer("label")
    for lb in (first, second, undo, bob, skip):
        writer.append(lb)
    run = load_run(workspace, RunRef("run"))
    counted = {(lb.reviewer, lb.trial_key): lb.helpful for lb in run.assisted}
    # l2 was undone, so ann's earlier l1 (not helpful) counts again; bob's skip is no rating.
    assert counted == {("ann", t0.key): False, ("bob", t1.key): True}


def test_cells_must_be_named_when_a_run_holds_several(workspace: Workspace) -> None:
    from evals.analysis.rundata import RunSelectionError, resolve_run_ref

    trials = [
        make_trial("m", "c1", model_alias=m, prompt=p) for m in ("a", "b") for p in ("v1", "v2")
    ]
    write_run(workspace, "m", trials)
    with pytest.raises(RunSelectionError, match="m:a:v1, m:a:v2, m:b:v1, m:b:v2"):
        load_run(workspace, RunRef("m"), single_cell=True)
    assert len(load_run(workspace, resolve_run_ref(workspace, "m:a:v2")).trials) == 1
    assert len(load_run(workspace, resolve_run_ref(workspace, "latest::v1")).trials) == 2
    with pytest.raises(RunSelectionError, match="no trials for that model"):
        load_run(workspace, resolve_run_ref(workspace, "m:zzz"))


@pytest.mark.slow
def test_tau2_retail_comparison_through_the_cli(tmp_path: Path) -> None:
    """Real GPT-4.1 traces: import both tau2 runs, compare them with the CLI, and check the
    numbers against the rewards in the files (McNemar by statsmodels)."""
    import json
    import subprocess
    import sys

    data = Path(__file__).resolve().parents[4] / "shared" / "data" / "tau2_retail"
    if not data.exists():
        pytest.skip("tau2 retail data not present")
    ws = tmp_path / "ws"
    exe = [sys.executable, "-m", "evals.cli.main"]
    for run_id, name in (("gpt41", "gpt-4.1_retail.json"), ("sft", "gpt-4.1-sft_retail.json")):
        subprocess.run(
            [*exe, "import", "tau2-bench", str(data / name), "--run-id", run_id, "-w", str(ws)],
            check=True,
            capture_output=True,
        )
    out = tmp_path / "report"
    proc = subprocess.run(
        [
            *exe,
            "compare",
            "gpt41",
            "sft",
            "--margin",
            "0.05",
            "--margin",
            "0.10",
            "--out",
            str(out),
            "-w",
            str(ws),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "report:" in proc.stdout
    report = json.loads((out / "report.json").read_text())["data"]["overall"]["outcome"]

    def solved(name: str) -> dict[str, bool]:
        sims = json.loads((data / name).read_text())["simulations"]
        return {s["task_id"]: s["reward_info"]["reward"] >= 1 - 1e-9 for s in sims}

    a, b = solved("gpt-4.1_retail.json"), solved("gpt-4.1-sft_retail.json")
    tasks = sorted(a.keys() & b.keys())
    table = [
        [sum(a[t] and b[t] for t in tasks), sum(a[t] and not b[t] for t in tasks)],
        [sum(not a[t] and b[t] for t in tasks), sum(not a[t] and not b[t] for t in tasks)],
    ]
    assert report["n"] == len(tasks) == 40
    assert report["baseline_rate"] == pytest.approx(0.85)
    assert report["candidate_rate"] == pytest.approx(sum(b[t] for t in tasks) / 40)
    assert report["mcnemar_p"] == pytest.approx(mcnemar(table, exact=True).pvalue, abs=TOL)
    assert [ni["margin"] for ni in report["noninferiority"]] == [0.05, 0.10]
    assert {ni["verdict"] for ni in report["noninferiority"]} <= {
        "non-inferior",
        "inferior",
        "undecided",
    }


def test_run_patterns_pick_the_latest_match(workspace: Workspace) -> None:
    from evals.analysis.rundata import RunSelectionError, resolve_run_ref

    for run_id in ("edd_demo-aaa", "edd_demo-bbb", "other-ccc"):
        write_run(workspace, run_id, [make_trial(run_id, "c1", model_alias="greedy")])
    assert resolve_run_ref(workspace, "edd_demo-*:greedy:v1") == RunRef(
        "edd_demo-bbb", "greedy", "v1"
    )
    assert resolve_run_ref(workspace, "latest") == RunRef("other-ccc")
    assert resolve_run_ref(workspace, "edd_demo-aaa") == RunRef("edd_demo-aaa")
    with pytest.raises(RunSelectionError, match="no run matches 'nope-\\*'"):
        resolve_run_ref(workspace, "nope-*")
