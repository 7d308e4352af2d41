"""Suites: what `evals run` replays, as a YAML file.

Example (paths are relative to the suite file; ``${VAR}`` and ``${VAR:-default}`` in
strings are read from the environment, so a port or endpoint can vary per machine)::

    name: edd_demo
    dataset: ../datasets/edd_demo
    agent: {name: react, params: {mode: auto}}     # or "react", or "pkg.mod:function"
    models:
      - {alias: smol-t0, model: local/smollm2, params: {temperature: 0}}
    prompts: {v1: ../prompts/edd/v1.md, v2: ../prompts/edd/v2.md}
    repetitions: 1
    limits: {lanes: 64, max_steps: 6, step_timeout_s: 120, trial_timeout_s: 600}
    subset: {questions: [q_registry]}              # optional filters
    limit: 10                                       # optional: first N (round-robin by question)
    judges: []                                      # seam: defined by the judges package
    gates: []                                       # applied at the end (analysis/suite_gates.py)

A bad suite fails listing every problem, one line each: file:line: field: problem. The
file is read by evals.yamlfile (size, alias and expansion budgets); ``${VAR}`` in model
params stays text (evals.secrets), a literal secret in params and an unknown provider
are refused.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from evals.errors import InputError
from evals.models.providers import provider_problem
from evals.run.executors.config import ExecutorConfig, parse_executor
from evals.schema import AgentSpec, Case, ModelSpec, PromptVersion, Record, content_hash
from evals.secrets import expand_env, find_secrets
from evals.yamlfile import Problem, YamlDoc, YamlFileError, read_yaml


class SuiteError(InputError, ValueError):
    """A suite that cannot be used; one line per problem: file:line: field: problem."""


ReviewMode = Literal["free", "teacher"]
REVIEW_MODES: tuple[ReviewMode, ...] = ("free", "teacher")


class Limits(Record):
    """How hard and how long a run may push."""

    lanes: int = Field(64, ge=1, le=10_000)
    """Trials in flight at once (asyncio lanes); models also have their own limits."""
    max_steps: int = Field(8, ge=1, le=200)
    """Maximum model calls per trial."""
    step_timeout_s: float | None = Field(120.0, gt=0)
    """Timeout of one model call, retries included (the gateway's request timeout
    applies as well); a hung provider fails the trial as infra:timeout after this."""
    trial_timeout_s: float | None = Field(600.0, gt=0)
    """Timeout of a whole trial; the partial trace is kept and the trial fails
    as agent:trial_timeout."""
    workers: int = Field(1, ge=1, le=64)
    """Worker processes sharing the remaining trials (`--workers` overrides)."""


class Subset(Record):
    """Filters on the golden set's cases; all given filters must hold."""

    ids: list[str] = Field(default_factory=list)
    """Only these case ids."""
    questions: list[str] = Field(default_factory=list)
    """Only cases of these questions."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Only cases carrying all these tag values."""


class SuiteConfig(Record):
    """The suite file as written."""

    name: str | None = None
    """Suite name (defaults to the file's stem); the start of the run id."""
    description: str = ""
    """What the suite checks."""
    dataset: str
    """Golden-set folder, relative to the suite file."""
    agent: AgentSpec = Field(default_factory=lambda: AgentSpec(name="react"))
    """Agent replayed: a registry name or 'module:function', with params."""
    models: list[ModelSpec] = Field(min_length=1)
    """Model configurations (one column of the matrix each)."""
    prompts: dict[str, str] = Field(min_length=1)
    """Prompt versions: name -> prompt file, relative to the suite file."""
    repetitions: int = Field(1, ge=1, le=1000)
    """Repetitions of every (case, model, prompt) cell."""
    limits: Limits = Field(default_factory=Limits)
    """Concurrency, steps and timeouts."""
    subset: Subset | None = None
    """Case filters."""
    limit: int | None = Field(None, ge=1)
    """Run only the first N selected cases, taken round-robin over questions
    (`--limit` overrides, `--full` ignores it)."""
    review: bool = False
    """Run whole reviews: each review's nodes (cases sharing `review`) in the questions'
    dependency order, upstream answers given to downstream nodes. `limit` then counts
    reviews. Each mode in `review_modes` is recorded as its own run."""
    review_modes: list[ReviewMode] = Field(default_factory=lambda: list(REVIEW_MODES), min_length=1)
    """'free': upstream answers are the agent's own (as in production), run id
    RUN; 'teacher': upstream answers are the golden references, run id RUN-teacher."""
    judges: Any = Field(default_factory=list)
    """Judge cascade (defined by the judges package; kept raw here)."""
    gates: Any = Field(default_factory=list)
    """Ship gates `evals run` applies at its end (checked by analysis.suite_gates; raw here)."""
    executor: ExecutorConfig | None = None
    """Where the trials run: inprocess, processes or ray, with options
    (evals.run.executors.base.ExecutorConfig; `--executor` overrides)."""

    @field_validator("executor", mode="before")
    @classmethod
    def _executor_shorthand(cls, value: Any) -> Any:
        return parse_executor(value)

    @field_validator("agent", mode="before")
    @classmethod
    def _agent_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


@dataclass
class Suite:
    """A loaded suite: its config with paths resolved and prompt files read."""

    path: Path
    config: SuiteConfig
    dataset_path: Path
    prompts: list[PromptVersion]

    @property
    def name(self) -> str:
        """Suite name."""
        return self.config.name or self.path.stem

    @property
    def models(self) -> list[ModelSpec]:
        """Model configurations."""
        return self.config.models

    @property
    def agent(self) -> AgentSpec:
        """Agent replayed."""
        return self.config.agent

    def suite_hash(self) -> str:
        """Hash of the whole configuration, prompts by content (for RunManifest)."""
        data = self.config.model_dump(mode="json")
        data.pop("executor")  # where trials run is not what the suite is
        data["prompts"] = {p.name: p.sha256 for p in self.prompts}
        return content_hash(data)

    def run_id(self, dataset_hash: str) -> str:
        """Stable run id: suite name + hash of what the trials depend on.

        Only identity counts (dataset content, agent, model configurations, prompt
        contents, repetitions), not limits, subset or limit: rerunning a suite, or
        running it `--full` after a subset, continues the same run, so `evals judge
        RUN` and `evals compare` keep referring to one id."""
        identity = {
            "dataset": dataset_hash,
            "agent": self.agent.model_dump(mode="json"),
            "models": sorted(m.spec_hash() for m in self.models),
            "prompts": sorted(p.sha256 for p in self.prompts),
            "repetitions": self.config.repetitions,
        }
        if self.config.review:  # review trials have other keys: another run
            identity["review"] = sorted(self.config.review_modes)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", self.name).strip("-") or "run"
        return f"{slug}-{content_hash(identity, 10)}"


# ----------------------------------------------------------------------------- loading


def _expand(data: dict[str, Any]) -> dict[str, Any]:
    """``${VAR}`` expanded everywhere except in model params (a suite's models and
    judge model specs): those keep the text, which is what the manifest and every trial
    store; the gateway reads the value at call time (evals.secrets)."""
    out: dict[str, Any] = expand_env(data)
    if isinstance(data.get("models"), list):
        out["models"] = [
            _keep_params(raw, new) for raw, new in zip(data["models"], out["models"], strict=True)
        ]
    if isinstance(data.get("judges"), list):
        out["judges"] = [
            _keep_judge_params(raw, new)
            for raw, new in zip(data["judges"], out["judges"], strict=True)
        ]
    return out


def _keep_params(raw: Any, new: Any) -> Any:
    if isinstance(raw, dict) and isinstance(new, dict) and "params" in raw:
        return {**new, "params": raw["params"]}
    return new


def _keep_judge_params(raw: Any, new: Any) -> Any:
    if not (isinstance(raw, dict) and isinstance(new, dict)):
        return new
    out = dict(new)
    if "model" in raw:
        out["model"] = _keep_params(raw["model"], new["model"])
    if isinstance(raw.get("judges"), list) and isinstance(new.get("judges"), list):
        out["judges"] = [
            _keep_judge_params(r, n) for r, n in zip(raw["judges"], new["judges"], strict=True)
        ]
    return out


def _fail(path: Path, line: int | None, field: str | None, message: str) -> SuiteError:
    return SuiteError(problems=[Problem(str(path), line, field, message)])


def load_suite(path: str | Path) -> Suite:
    """Load and check a suite file; raises SuiteError naming file, line and field (one
    line per problem: every validation problem of the file is listed)."""
    path = Path(path)
    try:
        doc = read_yaml(path)
    except YamlFileError as exc:
        raise SuiteError(problems=[exc.problem]) from None
    if not isinstance(doc.data, dict):
        raise _fail(path, 1, None, "a suite is a YAML mapping (dataset, models, prompts, ...)")
    try:
        config = SuiteConfig.model_validate(_expand(doc.data))
    except ValidationError as exc:
        raise SuiteError(problems=doc.validation_problems(exc)) from None
    return _resolve(path, doc, config)


def _resolve(path: Path, doc: YamlDoc, config: SuiteConfig) -> Suite:
    """Check what the fields point at; raises SuiteError listing every problem."""
    base = path.parent
    dataset = (base / config.dataset).resolve()
    problems: list[Problem] = []
    if not dataset.is_dir():
        problems.append(doc.problem(["dataset"], f"golden-set folder {dataset} does not exist"))
    problems += _model_problems(doc, config)
    prompts = _read_prompts(base, doc, config, problems)
    if problems:
        raise SuiteError(problems=problems)
    return Suite(path=path, config=config, dataset_path=dataset, prompts=prompts)


def _read_prompts(
    base: Path, doc: YamlDoc, config: SuiteConfig, problems: list[Problem]
) -> list[PromptVersion]:
    prompts: list[PromptVersion] = []
    seen: dict[str, str] = {}
    for name, rel in config.prompts.items():
        loc = ["prompts", name]
        file = base / rel
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(doc.problem(loc, f"cannot read prompt file {file} ({exc})"))
            continue
        if not text.strip():
            problems.append(doc.problem(loc, f"prompt file {file} is empty"))
            continue
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if digest in seen:
            problems.append(
                doc.problem(loc, f"same content as prompt {seen[digest]!r} (a version must differ)")
            )
            continue
        seen[digest] = name
        prompts.append(PromptVersion(name=name, path=rel, sha256=digest, text=text))
    return prompts


def _model_problems(doc: YamlDoc, config: SuiteConfig) -> list[Problem]:
    problems = _secret_problems(doc, config)
    aliases: dict[str, int] = {}
    specs: dict[str, str] = {}
    for i, m in enumerate(config.models):
        unknown = provider_problem(m.model)
        if unknown is not None:
            problems.append(doc.problem(["models", i, "model"], unknown))
        if m.alias in aliases:
            problems.append(
                doc.problem(
                    ["models", i, "alias"],
                    f"duplicate alias {m.alias!r} (also models.{aliases[m.alias]})",
                )
            )
        aliases.setdefault(m.alias, i)
        if m.spec_hash() in specs:
            problems.append(
                doc.problem(
                    ["models", i],
                    f"same model and params as {specs[m.spec_hash()]!r}: the trials "
                    "would be identical (change a parameter or drop one)",
                )
            )
        specs.setdefault(m.spec_hash(), m.alias)
    for i, m in enumerate(config.models):
        for j, fallback in enumerate(m.fallbacks):
            if fallback not in aliases:
                problems.append(
                    doc.problem(["models", i, "fallbacks", j], f"unknown model alias {fallback!r}")
                )
    return problems


def _secret_problems(doc: YamlDoc, config: SuiteConfig) -> list[Problem]:
    """Literal secrets in params (evals.secrets): params are copied into the manifest and
    every trial record. Agent params are expanded at load, so an interpolated secret is
    refused there too (only model params keep ``${VAR}`` as text)."""
    hint = "name the environment variable in api_key_env, or write ${VAR}"
    problems = [
        doc.problem(["models", i, "params", *where], f"{why}: {hint}")
        for i, m in enumerate(config.models)
        for where, why in find_secrets(m.params)
    ]
    for where, why in find_secrets(config.agent.params):  # expanded: values as stored
        problems.append(
            doc.problem(
                ["agent", "params", *where], f"{why}: agent params are recorded with every trial"
            )
        )
    return problems


def select_cases(
    cases: Iterable[Case], subset: Subset | None = None, limit: int | None = None
) -> Iterator[Case]:
    """The suite's cases: filtered by `subset`, then the first `limit` taken
    round-robin over questions (so a small default subset covers every question)."""
    chosen = [c for c in cases if subset is None or case_selected(c, subset)]
    for i in limit_round_robin([c.question_id for c in chosen], limit):
        yield chosen[i]


def limit_round_robin(question_ids: Sequence[str], limit: int | None) -> list[int]:
    """Indices (ascending) of the first `limit` items taken round-robin over questions,
    in order of first appearance; every index when there is no limit."""
    if limit is None or limit >= len(question_ids):
        return list(range(len(question_ids)))
    by_question: dict[str, list[int]] = {}
    for i, question in enumerate(question_ids):
        by_question.setdefault(question, []).append(i)
    queues = [iter(q) for q in by_question.values()]
    picked: list[int] = []
    while len(picked) < limit:
        for queue in queues:
            index = next(queue, None)
            if index is not None and len(picked) < limit:
                picked.append(index)
    return sorted(picked)


def case_selected(case: Case, subset: Subset) -> bool:
    """Whether a case passes every filter of a subset."""
    if subset.ids and case.id not in subset.ids:
        return False
    if subset.questions and case.question_id not in subset.questions:
        return False
    return all(case.tags.get(k) == v for k, v in subset.tags.items())
