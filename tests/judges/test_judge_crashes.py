"""A judge that crashes (here: a plugin whose data file is missing) is an error, counted
and printed apart from honest abstentions; a stage where every judge crashed fails
`evals judge`; once fixed, the next `evals judge` asks the crashed judge again."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.cli.main import app
from evals.dataset.golden import load_golden_set
from evals.schema import RunManifest
from evals.store.query import query
from evals.store.workspace import Workspace
from judges.config import parse_cascade
from judges.judging import judge_run
from tests.helpers import judges as kit

DATASET = Path(__file__).resolve().parents[2] / "datasets" / "edd_demo"

PLUGIN = '''
from pathlib import Path

from judges.base import judge_version, make_verdict


class FileJudge:
    """Passes a trial when its data file says so; the file may be missing."""

    def __init__(self, spec, env):
        self.name, self.spec = spec.display_name, spec
        self.version = judge_version(spec, "file:1")

    async def __call__(self, ctx):
        import time

        started = time.perf_counter()
        trial = ctx.trial
        label = Path(self.spec.params["file"]).read_text().strip()  # may raise
        return make_verdict(self, trial, label, "from the file", started=started)


def factory(spec, env):
    return FileJudge(spec, env)
'''


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "crashy_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path / "label.txt"  # not written yet: the judge crashes


def items(label_file: Path) -> list[dict[str, object]]:
    return [
        {"judge": "answered"},
        {"judge": "crashy_plugin:factory", "name": "file", "params": {"file": str(label_file)}},
    ]


def test_crashes_are_counted_apart_and_retried_once_fixed(tmp_path: Path, plugin: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    _trials, gs = kit.populate(ws)
    spec = parse_cascade(items(plugin))
    result = judge_run(ws, "run-test", spec, gs)
    assert result.crashes == {"file/file": 5}  # the 5 trials the first stage passed
    assert result.first_crash["file/file"].startswith("FileNotFoundError")
    assert result.all_crashed == ["file"]
    stage_rows = query(ws, "SELECT crashed, label FROM verdicts WHERE judge = 'file'")
    assert all(r["crashed"] and r["label"] == "abstain" for r in stage_rows)
    plugin.write_text("pass\n")
    again = judge_run(ws, "run-test", spec, gs)
    assert again.crashes == {} and again.all_crashed == [] and again.judged == 5
    finals = query(ws, "SELECT label, crashed FROM verdicts WHERE judge = 'cascade'")
    assert len(finals) == 6 and not any(r["crashed"] for r in finals)


def test_evals_judge_fails_when_every_judge_of_a_stage_crashed(
    tmp_path: Path, plugin: Path
) -> None:
    golden = load_golden_set(DATASET)
    ws = Workspace(tmp_path / "ws")
    ws.append(
        "run",
        RunManifest(
            run_id="demo-run",
            suite=str(tmp_path / "gone.yaml"),
            suite_hash="s",
            dataset="edd_demo",
            dataset_hash=golden.content_hash,
            config={"dataset": str(DATASET)},
        ),
    )
    good = golden.case("e2011-ubo")
    ws.append("trial", kit.trial(good, good.reference, run_id="demo-run"))
    ws.append("trial", kit.trial(good, "Someone owns it.", run_id="demo-run", rep=1))
    ws.close()
    judges = tmp_path / "judges.yaml"
    judges.write_text(
        "judges:\n"
        "  - judge: answered\n"
        "  - judge: crashy_plugin:factory\n"
        "    name: file\n"
        f"    params: {{file: '{plugin}'}}\n"
    )
    args = ["judge", "demo-run", "--judges", str(judges), "-w", str(ws.root), "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "every judge of stage(s) file crashed" in result.stderr
    assert "judge file/file crashed on 2 trial(s) (errors, not abstentions): " in result.output
    assert "FileNotFoundError" in result.output
    assert "funnel: 2 candidates" in result.output  # the funnel is still shown
    plugin.write_text("pass\n")
    fixed = CliRunner().invoke(app, args)
    assert fixed.exit_code == 0, fixed.output
    assert "crashed" not in fixed.output
