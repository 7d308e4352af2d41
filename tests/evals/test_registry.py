"""One registry, five kinds: each loaded from a module path and from an installed
distribution's entry points (a throwaway ``*.dist-info`` on sys.path, in a subprocess),
through the public API and the `evals` CLI that uses it. The plugin and its entry points
are the ones docs/extending.md shows, read from that page."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest

from evals import registry
from evals.agents import AgentContext, ToolBox, UnknownAgentError, resolve_agent
from evals.importers import UnknownFormatError, find_importer
from evals.schema import (
    AgentSpec,
    Case,
    CaseInput,
    FinalAnswerStep,
    ModelSpec,
    PromptVersion,
    Question,
    Trace,
    Trial,
)
from judges import (
    JudgeConfigError,
    JudgeContext,
    JudgeEnv,
    JudgeSpec,
    LegacyJudge,
    build_judge,
    parse_cascade,
)

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "extending.md").read_text()
PLUGIN = re.search(r"```python\n# file: shouty_plugin.py\n(.*?)```", DOC, re.DOTALL)
PYPROJECT = re.search(r"```toml\n(\[project.entry-points.*?)```", DOC, re.DOTALL)
assert PLUGIN and PYPROJECT, "docs/extending.md lost its plugin example"
PLUGIN_CODE, PYPROJECT_TOML = PLUGIN.group(1), PYPROJECT.group(1)


def entry_points_txt() -> str:
    """The doc's pyproject entry points as the entry_points.txt pip would write."""
    groups = tomllib.loads(PYPROJECT_TOML)["project"]["entry-points"]
    groups["agent_evals.judge"]["broken"] = "no_such_module:Judge"  # a plugin that fails
    return "".join(
        f"[{group}]\n" + "".join(f"{n} = {v}\n" for n, v in eps.items()) + "\n"
        for group, eps in groups.items()
    )


CASE = Case(id="c1", question_id="q", input=CaseInput(question="is it up?"), reference="yes")
QUESTION = Question(id="q", title="Up?", rubric="Says whether it is up.")
MODEL = ModelSpec(alias="m", model="openai/m")
PROMPT = PromptVersion(name="v1", path="v1.md", text="Answer.", sha256="0")


def a_trial(answer: str) -> Trial:
    """A finished trial of CASE answering `answer`."""
    trace = Trace(steps=[FinalAnswerStep(text=answer)], final_answer=answer)
    return Trial(
        key=f"k-{answer}",
        run_id="r",
        dataset="d",
        dataset_hash="h",
        case_id=CASE.id,
        case_hash="c",
        question_id="q",
        agent=AgentSpec(name="x"),
        model=MODEL,
        prompt="v1",
        prompt_hash="p",
        trace=trace,
    )


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shouty_plugin.py").write_text(PLUGIN_CODE)
    monkeypatch.syspath_prepend(str(tmp_path))


async def run_agent(name: str, **params: object) -> str | None:
    agent = resolve_agent(AgentSpec(name=name, params=dict(params)))
    ctx = AgentContext(gateway=None, tools=ToolBox([], CASE))  # type: ignore[arg-type]
    return (await agent(CASE, MODEL, PROMPT, ctx)).final_answer


async def test_agent_and_blueprint_from_module_paths(plugin_path: None) -> None:
    assert await run_agent("shouty_plugin:shout_agent", suffix="?!") == "IS IT UP??!"
    assert await run_agent("shouty_plugin:shout_blueprint") == "IS IT UP?"
    bp = registry.registry_info(resolve_agent(AgentSpec(name="shouty_plugin:shout_blueprint")))
    assert bp is not None and bp.kind == "blueprint"
    built = resolve_agent(AgentSpec(name="shouty_plugin:shout_agent", params={"suffix": "."}))
    info = registry.registry_info(built)
    assert info is not None and (info.kind, info.params) == ("agent", {"suffix": "."})
    with pytest.raises(UnknownAgentError, match=r"unknown agent 'shoutx'.*edd_template"):
        resolve_agent(AgentSpec(name="shoutx"))


async def test_judge_class_from_module_path_records_name_and_params(plugin_path: None) -> None:
    spec = JudgeSpec(judge="shouty_plugin:ShoutJudge", name="caps", params={"min_chars": 3})
    judge = build_judge(spec, JudgeEnv())
    passed = await judge(JudgeContext(a_trial("YES"), CASE, QUESTION, spec))
    failed = await judge(JudgeContext(a_trial("yes"), CASE, QUESTION, spec))
    assert (passed.label, failed.label, passed.judge) == ("pass", "fail", "caps")
    assert passed.judge_kind == "shouty_plugin:ShoutJudge"
    assert passed.judge_params == {"min_chars": 3}
    with pytest.raises(JudgeConfigError, match=r"judge 'x': params.min_char: Extra inputs"):
        build_judge(JudgeSpec(judge="shouty_plugin:ShoutJudge", name="x",
                              params={"min_char": 3}), JudgeEnv())  # fmt: skip


async def test_builtin_verdicts_record_defaults_filled_in() -> None:
    judge = build_judge(JudgeSpec(judge="key_facts"), JudgeEnv())
    verdict = await judge(JudgeContext(a_trial("anything"), CASE, QUESTION))
    assert (verdict.judge_kind, verdict.judge_params) == ("key_facts", {"min_fraction": 1.0})


async def test_a_three_argument_judge_runs_through_the_adapter_with_a_warning(
    plugin_path: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("judges.base._WARNED", set())
    spec = JudgeSpec(judge="shouty_plugin:old_factory", name="old")
    with pytest.warns(DeprecationWarning, match="takes \\(trial, case, question\\)"):
        judge = build_judge(spec, JudgeEnv())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_judge(spec, JudgeEnv())  # once per judge: building it again says nothing
    assert isinstance(judge, LegacyJudge)
    verdict = await judge(JudgeContext(a_trial("x"), CASE, QUESTION))
    assert (verdict.label, verdict.judge, verdict.judge_version) == ("pass", "old", "old-1")
    assert verdict.judge_kind == "shouty_plugin:old_factory" and verdict.judge_params == {}
    parse_cascade([{"judge": "shouty_plugin:old_factory"}])  # a judges list accepts it


def test_importer_and_section_from_module_paths(plugin_path: None) -> None:
    info = find_importer("shouty_plugin:parse_shout")
    assert info.name == "shouty_plugin:parse_shout"
    assert info.description.startswith("Shouted JSONL")
    with pytest.raises(UnknownFormatError, match=r"unknown import format 'nope'; formats: .*jsonl"):
        find_importer("nope")
    with pytest.raises(UnknownFormatError, match=r"cannot import|No module named"):
        find_importer("no_such_module:parse")


def write_dist(site: Path) -> None:
    """A distribution as pip would leave it: metadata and entry points on sys.path."""
    dist = site / "shouty_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shouty-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(entry_points_txt())
    (site / "shouty_plugin.py").write_text(PLUGIN_CODE)


def run_py(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=site, timeout=300
    )


INSTALLED_API = """
import asyncio
import sys
sys.path.insert(0, sys.argv[1])  # this test module, for its case and trial builders
from evals import registry
from evals.agents import AgentContext, ToolBox, resolve_agent
from evals.importers import find_importer
from evals.schema import AgentSpec
from judges import JudgeContext, JudgeEnv, JudgeSpec, build_judge, registered_judges
from reports.sections import section_names
import test_registry as t

async def main():
    out = {}
    for name in ("shout", "shout_rules"):
        agent = resolve_agent(AgentSpec(name=name))
        ctx = AgentContext(gateway=None, tools=ToolBox([], t.CASE))
        out[name] = (await agent(t.CASE, t.MODEL, t.PROMPT, ctx)).final_answer
        out[name + "_kind"] = registry.registry_info(agent).kind
    judge = build_judge(JudgeSpec(judge="shouting", params={"min_chars": 2}), JudgeEnv())
    v = await judge(JudgeContext(t.a_trial("UP"), t.CASE, t.QUESTION))
    out["judge"] = [v.label, v.judge_kind, v.judge_params]
    out["importer"] = find_importer("shout").description
    out["listed"] = ["shouting" in registered_judges(), "shout" in section_names()]
    try:
        build_judge(JudgeSpec(judge="broken"), JudgeEnv())
    except Exception as exc:
        out["broken"] = str(exc)
    print(__import__("json").dumps(out))

asyncio.run(main())
"""


def test_every_kind_from_an_installed_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_dist(site)
    done = run_py(site, "-c", INSTALLED_API, str(Path(__file__).parent))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["shout"] == "IS IT UP?!" and out["shout_kind"] == "agent"
    assert out["shout_rules"] == "IS IT UP?" and out["shout_rules_kind"] == "blueprint"
    assert out["judge"] == ["pass", "shouting", {"min_chars": 2}]
    assert out["importer"].startswith("Shouted JSONL")
    assert out["listed"] == [True, True]
    assert out["broken"] == (
        "judge 'broken': cannot import (ModuleNotFoundError: No module named 'no_such_module' "
        "(entry point 'no_such_module:Judge' of shouty-plugin))"
    )


@pytest.mark.parametrize("installed", [True, False], ids=["entry_points", "module_paths"])
def test_evals_cli_imports_and_reports_with_plugins(tmp_path: Path, installed: bool) -> None:
    site = tmp_path / "site"
    if installed:
        write_dist(site)
    else:  # only importable: named by path
        site.mkdir()
        (site / "shouty_plugin.py").write_text(PLUGIN_CODE)
    fmt = "shout" if installed else "shouty_plugin:parse_shout"
    section = "shout" if installed else "shouty_plugin:shout_section"
    rows = [
        {"case_id": "c1", "input": "up?", "output": "YES", "outcome": "pass", "model": "m"},
        {"case_id": "c2", "input": "down?", "output": "no", "outcome": "fail", "model": "m"},
    ]
    src = tmp_path / "runs.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ws = tmp_path / "ws"
    cli = ("-m", "evals.cli.main")
    done = run_py(site, *cli, "import", fmt, str(src), "--run-id", "s1", "--workspace", str(ws))
    assert done.returncode == 0, done.stderr
    assert "(shout) as run s1" in done.stdout
    out = tmp_path / "report"
    done = run_py(
        site, *cli, "report", "s1", "--section", section, "--out", str(out), "--format", "md",
        "--workspace", str(ws),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "THIS RUN HOLDS 2 TRIALS" in (out / "report.md").read_text()
    if installed:
        bad = run_py(site, *cli, "report", "s1", "--section", "whisper", "--workspace", str(ws))
        assert bad.returncode != 0
        assert "report section 'whisper': unknown report section 'whisper'" in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
