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
    gates: []                                       # applied at the end (evals/suite_gates.py)

A bad suite fails with one line naming the file, the line and the field.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator

from evals.schema import AgentSpec, Case, ModelSpec, PromptVersion, Record, content_hash


class SuiteError(ValueError):
    """A suite that cannot be used; the message is one line: file:line: field: problem."""


class Limits(Record):
    """How hard and how long a run may push."""

    lanes: int = Field(64, ge=1, le=10_000)
    """Trials in flight at once (asyncio lanes); models also have their own limits."""
    max_steps: int = Field(8, ge=1, le=200)
    """Maximum model calls per trial."""
    step_timeout_s: float | None = Field(None, gt=0)
    """Timeout of one model call (the gateway's request timeout applies as well)."""
    trial_timeout_s: float | None = Field(900.0, gt=0)
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
    judges: Any = Field(default_factory=list)
    """Judge cascade (defined by the judges package; kept raw here)."""
    gates: Any = Field(default_factory=list)
    """Ship gates `evals run` applies at its end (checked by evals.suite_gates; raw here)."""

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
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", self.name).strip("-") or "run"
        return f"{slug}-{content_hash(identity, 10)}"


# ----------------------------------------------------------------------------- loading

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand(value: Any) -> Any:
    if isinstance(value, str):
        return _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), value)
    if isinstance(value, list):
        return [_expand(v) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    return value


def _line_of(node: yaml.Node | None, loc: Iterable[Any]) -> int | None:
    """1-based line of the YAML node at a pydantic error location (best effort)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == str(part)), None)
            if found is None:
                break
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _fail(path: Path, line: int | None, field: str | None, message: str) -> SuiteError:
    where = f"{path}:{line}" if line else str(path)
    return SuiteError(f"{where}: {field + ': ' if field else ''}{message}")


def load_suite(path: str | Path) -> Suite:
    """Load and check a suite file; raises SuiteError (one line) on the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, None, None, f"cannot read suite ({exc})") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _fail(
            path,
            mark.line + 1 if mark else None,
            None,
            f"bad YAML: {getattr(exc, 'problem', None) or exc}",
        ) from None
    if not isinstance(data, dict):
        raise _fail(path, 1, None, "a suite is a YAML mapping (dataset, models, prompts, ...)")
    try:
        config = SuiteConfig.model_validate(_expand(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function"))]
        field = ".".join(str(p) for p in loc) or None
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise _fail(path, _line_of(node, loc), field, err["msg"] + more) from None
    return _resolve(path, node, config)


def _resolve(path: Path, node: yaml.Node | None, config: SuiteConfig) -> Suite:
    base = path.parent
    dataset = (base / config.dataset).resolve()
    if not dataset.is_dir():
        raise _fail(
            path,
            _line_of(node, ["dataset"]),
            "dataset",
            f"golden-set folder {dataset} does not exist",
        )
    _check_models(path, node, config.models)
    prompts: list[PromptVersion] = []
    seen: dict[str, str] = {}
    for name, rel in config.prompts.items():
        line = _line_of(node, ["prompts", name])
        file = base / rel
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(
                path, line, f"prompts.{name}", f"cannot read prompt file {file} ({exc})"
            ) from None
        if not text.strip():
            raise _fail(path, line, f"prompts.{name}", f"prompt file {file} is empty")
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if digest in seen:
            raise _fail(
                path,
                line,
                f"prompts.{name}",
                f"same content as prompt {seen[digest]!r} (a version must differ)",
            )
        seen[digest] = name
        prompts.append(PromptVersion(name=name, path=rel, sha256=digest, text=text))
    return Suite(path=path, config=config, dataset_path=dataset, prompts=prompts)


_SECRET = re.compile(r"(api_?key|secret|password|token$|authorization)", re.IGNORECASE)


def _check_models(path: Path, node: yaml.Node | None, models: list[ModelSpec]) -> None:
    aliases: dict[str, int] = {}
    specs: dict[str, str] = {}
    for i, m in enumerate(models):
        secrets = [k for k in m.params if _SECRET.search(k)]
        if secrets:
            # params are copied into every trial record; keys belong in the environment.
            raise _fail(
                path,
                _line_of(node, ["models", i, "params"]),
                f"models.{i}.params",
                f"holds a secret ({secrets[0]}): name the environment variable "
                "in api_key_env instead",
            )
        if m.alias in aliases:
            raise _fail(
                path,
                _line_of(node, ["models", i, "alias"]),
                f"models.{i}.alias",
                f"duplicate alias {m.alias!r} (also models.{aliases[m.alias]})",
            )
        aliases[m.alias] = i
        if m.spec_hash() in specs:
            raise _fail(
                path,
                _line_of(node, ["models", i]),
                f"models.{i}",
                f"same model and params as {specs[m.spec_hash()]!r}: the trials "
                "would be identical (change a parameter or drop one)",
            )
        specs[m.spec_hash()] = m.alias
    for i, m in enumerate(models):
        for j, fallback in enumerate(m.fallbacks):
            if fallback not in aliases:
                raise _fail(
                    path,
                    _line_of(node, ["models", i, "fallbacks", j]),
                    f"models.{i}.fallbacks.{j}",
                    f"unknown model alias {fallback!r}",
                )


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
