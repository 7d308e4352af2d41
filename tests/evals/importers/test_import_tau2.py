"""`evals import tau2-bench` on the real tau2 retail runs (GPT-4.1 and its fine-tune).

Every test that reads the runs runs twice: on the six-task cut kept in the repository
(data/tau2_retail, see its README) and on the full 40-task files in ../shared/data when
present."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from evals import stats
from evals.importers import IMPORTERS, OUTCOME_JUDGE, ImportFormatError, ImportOptions
from evals.schema import ModelCallStep, ToolCallStep, Trial
from evals.store.query import query
from evals.store.workspace import Workspace

IN_REPO = Path(__file__).resolve().parent / "data" / "tau2_retail"
SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "tau2_retail"


@dataclass(frozen=True)
class Tau2Data:
    """The two results files of one copy of the data and what is known of them."""

    folder: Path
    base_passes: int  # tasks GPT-4.1 solves: a fixed figure, not read from the file

    @property
    def base(self) -> Path:
        return self.folder / "gpt-4.1_retail.json"

    @property
    def sft(self) -> Path:
        return self.folder / "gpt-4.1-sft_retail.json"

    @property
    def n(self) -> int:
        return len(raw_outcomes(self.base))


COPIES = {
    "repo": Tau2Data(IN_REPO, base_passes=5),
    "shared": Tau2Data(SHARED, base_passes=34),  # 0.85: the acceptance figure for GPT-4.1
}


@pytest.fixture(scope="module", params=sorted(COPIES))
def data(request: pytest.FixtureRequest) -> Tau2Data:
    copy = COPIES[request.param]
    if copy.folder == SHARED and not copy.base.exists():  # the repository's copy must be there
        pytest.skip(f"tau2 retail data not present in {copy.folder}")
    return copy


def evals(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evals.cli.main", *args], capture_output=True, text=True
    )


def raw_outcomes(path: Path) -> dict[str, bool]:
    """Pass/fail per task straight from the results file (reward 1 = solved)."""
    data = json.loads(path.read_text())
    return {s["task_id"]: s["reward_info"]["reward"] >= 1.0 - 1e-9 for s in data["simulations"]}


@pytest.fixture(scope="module")
def imported(data: Tau2Data, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tau2") / "ws"
    n = data.n
    runs = ((data.base, "gpt-4.1", "tau2-base"), (data.sft, "gpt-4.1-sft", "tau2-sft"))
    for path, alias, run in runs:
        proc = evals(
            "import", "tau2-bench", str(path), "--model", alias, "--run-id", run, "-w", str(root)
        )
        assert proc.returncode == 0, proc.stderr
        assert f"as run {run}: {n} imported_case, {n} trial, {n} verdict, 1 run" in proc.stdout
    return root


def test_pass_rates_and_mcnemar_from_imported_verdicts(data: Tau2Data, imported: Path) -> None:
    ws = Workspace(imported, create=False)
    rows = query(
        ws,
        """
        SELECT t.run_id, t.case_id, v.label FROM trials t
        JOIN verdicts v ON v.trial_key = t.key AND v.judge = ?""",
        [OUTCOME_JUDGE],
    )
    got: dict[str, dict[str, bool]] = {}
    for r in rows:
        got.setdefault(r["run_id"], {})[r["case_id"]] = r["label"] == "pass"
    base, sft = got["tau2-base"], got["tau2-sft"]
    assert base == raw_outcomes(data.base) and sft == raw_outcomes(data.sft)
    assert len(base) == data.n and base.keys() == sft.keys()
    assert sum(base.values()) == data.base_passes
    cases = sorted(base)
    a, b = [base[c] for c in cases], [sft[c] for c in cases]
    b01 = sum(1 for x, y in zip(a, b, strict=True) if not x and y)
    b10 = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    assert b01 and b10  # both copies have tasks only one of the runs solves
    assert stats.mcnemar_exact(b01, b10) == pytest.approx(
        stats.mcnemar_exact(*_discordant(raw_outcomes(data.base), raw_outcomes(data.sft)))
    )
    for margin in (0.05, 0.10):
        ni = stats.noninferiority_paired(a, b, margin)
        assert ni.n == data.n and ni.verdict in ("non-inferior", "inferior", "undecided")


def _discordant(a: dict[str, bool], b: dict[str, bool]) -> tuple[int, int]:
    return (sum(1 for k in a if not a[k] and b[k]), sum(1 for k in a if a[k] and not b[k]))


def test_traces_keep_tool_calls_observations_tokens_and_cost(
    data: Tau2Data, imported: Path
) -> None:
    ws = Workspace(imported, create=False)
    raw = json.loads(data.base.read_text())
    sim = raw["simulations"][0]
    body = next(
        b
        for b in ws.iter_bodies("trial")
        if b["run_id"] == "tau2-base" and b["case_id"] == sim["task_id"]
    )
    trial = Trial.model_validate(body)
    calls = [m for m in sim["messages"] if m["role"] == "assistant" and m["usage"]]
    tool_msgs = {m["id"]: m["content"] for m in sim["messages"] if m["role"] == "tool"}
    steps = trial.trace.tool_calls()
    assert [s.tool for s in steps] == [
        c["name"]
        for m in sim["messages"]
        if m["role"] == "assistant"
        for c in m["tool_calls"] or []
    ]
    first = steps[0]
    assert (
        first.call_id in tool_msgs
        and first.arguments == sim["messages"][4]["tool_calls"][0]["arguments"]
    )
    assert first.observation == tool_msgs[first.call_id]
    assert len([s for s in trial.trace.steps if isinstance(s, ModelCallStep)]) == len(calls)
    assert trial.trace.usage.input_tokens == sum(m["usage"]["prompt_tokens"] for m in calls)
    assert trial.trace.usage.output_tokens == sum(m["usage"]["completion_tokens"] for m in calls)
    assert trial.trace.usage.cost_usd == pytest.approx(sim["agent_cost"])
    assert trial.imported_outcome == sim["reward_info"]["reward"]
    assert trial.imported_meta["user_cost"] == pytest.approx(sim["user_cost"])
    assert trial.trace.messages[0].role == "system"  # the domain policy
    assert trial.trace.final_answer and trial.trace.latency_s == pytest.approx(sim["duration"])
    assert all(isinstance(s, ToolCallStep) and s.observation is not None for s in steps)


def test_runs_are_imports_over_the_same_cases(data: Tau2Data, imported: Path) -> None:
    ws = Workspace(imported, create=False)
    runs = {r["run_id"]: r for r in query(ws, "SELECT * FROM runs")}
    assert {r["source"] for r in runs.values()} == {"import"}
    assert runs["tau2-base"]["dataset_hash"] == runs["tau2-sft"]["dataset_hash"]
    pairs = query(
        ws,
        """SELECT count(*) AS n FROM trials a JOIN trials b
                        ON a.case_id = b.case_id AND a.case_hash = b.case_hash
                        WHERE a.run_id = 'tau2-base' AND b.run_id = 'tau2-sft'""",
    )
    assert pairs[0]["n"] == data.n
    fails = query(ws, "SELECT reason FROM verdicts WHERE label = 'fail' AND run_id = 'tau2-base'")
    assert len(fails) == data.n - data.base_passes
    assert all(r["reason"].startswith("tau2 reward 0") for r in fails)


def test_reimport_writes_nothing_and_other_run_id_is_refused(
    data: Tau2Data, imported: Path
) -> None:
    before = len(list(Workspace(imported).iter_bodies("trial")))
    again = evals(
        "import",
        "tau2-bench",
        str(data.base),
        "--model",
        "gpt-4.1",
        "--run-id",
        "tau2-base",
        "-w",
        str(imported),
    )
    assert again.returncode == 0 and "already imported as run tau2-base" in again.stdout
    other = evals("import", "tau2-bench", str(data.base), "--run-id", "x", "-w", str(imported))
    assert other.returncode == 1 and "already imported as run tau2-base" in other.stderr
    assert len(list(Workspace(imported).iter_bodies("trial"))) == before


def test_bad_records_are_named_and_nothing_is_written(data: Tau2Data, tmp_path: Path) -> None:
    raw = json.loads(data.base.read_text())
    del raw["simulations"][1]["reward_info"]["reward"]
    raw["simulations"][3]["messages"][2]["role"] = "robot"
    raw["simulations"][5]["task_id"] = "nope"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw))
    ws = tmp_path / "ws"
    proc = evals("import", "tau2-bench", str(bad), "-w", str(ws))
    assert proc.returncode == 2
    err = proc.stderr
    t1, t3 = raw["simulations"][1]["task_id"], raw["simulations"][3]["task_id"]
    assert f"{bad}: simulation 1 (task_id {t1}): reward_info.reward: Field required" in err
    assert f"simulation 3 (task_id {t3}): messages[2].role:" in err and "robot" in err
    assert "simulation 5 (task_id nope): task_id: not among the file's tasks" in err
    assert "3 problem(s)" in err and "nothing written" in err
    assert not (ws / "records").exists()


def test_broken_json_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"info": {},\n "tasks": [,]}')
    with pytest.raises(ImportFormatError) as exc:
        IMPORTERS["tau2-bench"].parse(bad, ImportOptions(), Workspace(tmp_path / "ws"))
    assert f"{bad}:2: invalid JSON: " in str(exc.value) and "(column 12)" in str(exc.value)


def test_evals_compare_reports_pass_rates_mcnemar_and_noninferiority(
    data: Tau2Data, imported: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    proc = evals(
        "compare",
        "tau2-base",
        "tau2-sft",
        "--margin",
        "0.05",
        "--margin",
        "0.10",
        "--format",
        "json",
        "--out",
        str(out),
        "-w",
        str(imported),
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())["data"]
    overall = report["overall"]["outcome"]
    base, sft = raw_outcomes(data.base), raw_outcomes(data.sft)
    cases = sorted(base)
    a, b = [base[c] for c in cases], [sft[c] for c in cases]
    n, base_rate = data.n, data.base_passes / data.n
    assert report["baseline_outcome_source"] == "imported"
    assert overall["n"] == n and overall["baseline_rate"] == pytest.approx(base_rate)
    assert overall["candidate_rate"] == pytest.approx(sum(b) / n)
    b01, b10 = _discordant(base, sft)
    assert (overall["candidate_only"], overall["baseline_only"]) == (b01, b10)
    assert overall["mcnemar_p"] == pytest.approx(stats.mcnemar_exact(b01, b10))
    got = {ni["margin"]: ni for ni in overall["noninferiority"]}
    for margin in (0.05, 0.10):
        # compare reads the two-sided 95% interval: one-sided 97.5% per bound.
        ref = stats.noninferiority_paired(a, b, margin, confidence=0.975)
        assert got[margin]["verdict"] == ref.verdict
        assert got[margin]["p_value"] == pytest.approx(ref.p_value)
        assert got[margin]["low"] == pytest.approx(ref.low)
    table = proc.stdout
    assert f"{base_rate:.3f}" in table and "McNemar" in table


def test_imported_runs_can_be_judged_and_queued(
    data: Tau2Data, imported: Path, tmp_path: Path
) -> None:
    from evals.dataset.golden import case_hash, load_golden_set

    ws = Workspace(imported, create=False)
    manifest = query(ws, "SELECT config FROM runs WHERE run_id = 'tau2-base'")[0]["config"]
    folder = Path(json.loads(manifest)["dataset_path"])
    golden = load_golden_set(folder)
    assert len(golden.cases) == data.n and set(golden.questions) == {"retail"}
    hashes = {
        r["case_id"]: r["case_hash"]
        for r in query(ws, "SELECT case_id, case_hash FROM trials WHERE run_id = 'tau2-sft'")
    }
    assert all(case_hash(c) == hashes[c.id] for c in golden.cases)
    judges = tmp_path / "judges.yaml"
    judges.write_text(
        "judges:\n  - stage: checks\n    judges:\n      - judge: answered\n"
        "      - judge: required_tools\n"
    )
    proc = evals("judge", "tau2-base", "--judges", str(judges), "-w", str(imported))
    assert proc.returncode == 0, proc.stderr
    assert f"judged {data.n} trial(s)" in proc.stdout
    final = query(
        ws,
        "SELECT count(*) AS n FROM verdicts v JOIN trials t ON t.key = "
        "v.trial_key WHERE v.judge = 'cascade' AND t.run_id = 'tau2-base'",
    )
    assert final[0]["n"] == data.n
    sample = str(min(10, data.n))
    queue = evals(
        "label", "queue", "create", "--run", "tau2-base", "--sample", sample, "-w", str(imported)
    )
    assert queue.returncode == 0, queue.stderr
