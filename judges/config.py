"""The suite's ``judges:`` list: a cascade of stages, cheapest first.

Each item is either one judge (a stage of its own) or a named group of judges that run
together as one stage (cheap checks are grouped so a failing trial gets every piece of
evidence, not just the first)::

    judges:
      - stage: checks                 # a group: fails if any judge in it fails
        judges:
          - judge: answered
          - judge: required_tools
          - judge: key_facts
          - judge: forbidden_claims
          - judge: grounded
          - judge: budget
            params: {max_steps: 12, max_cost_usd: 0.05}
      - judge: rubric                 # an LLM judge: a stage of its own
        model: local/smollm2          # gateway alias
        min_confidence: 0.0           # below this, a pass/fail becomes abstain
        params: {max_reason_chars: 300}

The same list may sit in its own file (``evals judge RUN --judges FILE``), either at the
top level or under a ``judges:`` key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from evals.errors import InputError, Problem
from evals.models.providers import provider_problem
from evals.schema import ModelSpec, Record, content_hash
from evals.secrets import find_secrets
from evals.yamlfile import YamlFileError, clean_loc, field_path, read_yaml


class JudgeSpec(Record):
    """One judge as configured in a suite."""

    judge: str
    """Registered judge name (answered, required_tools, key_facts, forbidden_claims,
    answer_schema, grounded, budget, rubric, reference, or one an installed package adds)
    or 'package.module:Class' (a judges.BaseJudge; a legacy 'package.module:factory'
    still works)."""
    name: str | None = None
    """Display name on verdicts and in the funnel; defaults to `judge`."""
    model: str | ModelSpec | None = None
    """For LLM judges: a gateway alias (one of the suite's models, or a bare model string
    such as 'local/smollm2', then used at temperature 0), or a full model spec
    ({alias, model, params, api_key_env, ...}) for a judge model outside the matrix."""
    prompt: str | None = None
    """Prompt name under judges/prompts/ or a .md file path; each LLM judge has a default."""
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    """A pass or fail with lower confidence becomes abstain (escalates); set by calibration."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Judge-specific parameters."""

    @property
    def display_name(self) -> str:
        """Name shown on verdicts."""
        return self.name or self.judge

    @property
    def model_alias(self) -> str | None:
        """The gateway alias the judge calls."""
        return self.model.alias if isinstance(self.model, ModelSpec) else self.model


class StageSpec(Record):
    """One cascade stage: one judge, or a group judged together."""

    stage: str
    """Stage name shown in the funnel."""
    judges: list[JudgeSpec] = Field(min_length=1)
    """Judges of the stage; the stage fails a trial when any of them fails it."""
    shadow: bool = False
    """Also judge trials an earlier stage failed (their verdicts are recorded for
    calibration and change nothing); costs what running the stage on every trial costs."""


class CascadeSpec(Record):
    """Ordered stages, cheapest first."""

    stages: list[StageSpec] = Field(min_length=1)
    """The stages in order."""

    def spec_hash(self) -> str:
        """Identity of the cascade: its final verdicts are keyed on it."""
        return content_hash(self.model_dump(mode="json"))


class JudgeConfigFileError(InputError):
    """A ``judges:`` list that does not validate; the message names file, line, field."""


class _ValidationGateway:
    """Stands in for the gateway while a spec is checked: building a judge must not
    need a running model, and nothing may call one."""

    async def complete(self, alias: str, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
        raise RuntimeError("the validation gateway cannot be called")


def _build_problems(stage: StageSpec) -> list[str]:
    """Build every judge of a stage once, so unknown judges, bad params and missing
    prompt files are reported with the file's line before anything runs."""
    from judges.base import JudgeConfigError, JudgeEnv, build_judge
    from judges.render import PromptError

    problems = []
    for spec in stage.judges:
        try:
            build_judge(spec, JudgeEnv(gateway=_ValidationGateway()))
        except (JudgeConfigError, PromptError) as exc:
            problems.append(str(exc))
    return problems


def _secret_problems(stage: StageSpec) -> list[str]:
    """Judge params and judge model params are recorded with the run: the one secrets
    rule (evals.secrets) applies, and a model spec's provider must exist."""
    out = []
    for spec in stage.judges:
        out += [
            f"params.{'.'.join(map(str, where))}: {why}: judge params are recorded with the run"
            for where, why in find_secrets(spec.params)
        ]
        if isinstance(spec.model, ModelSpec):
            out += [
                f"model.params.{'.'.join(map(str, where))}: {why}: name the environment "
                "variable in model.api_key_env, or write ${VAR}"
                for where, why in find_secrets(spec.model.params)
            ]
        model = spec.model.model if isinstance(spec.model, ModelSpec) else spec.model
        unknown = provider_problem(model) if model else None
        if unknown is not None:
            out.append(f"model: {unknown}")
    return out


def parse_cascade(
    items: Any,
    source: str = "judges",
    locate: Callable[[list[Any]], int | None] | None = None,
) -> CascadeSpec:
    """Build a CascadeSpec from the raw ``judges:`` list of a suite or judges file.

    `locate` (the file's line locator, evals.yamlfile.YamlDoc.line: a loc under the list
    -> 1-based line) makes errors point at the file line. Raises JudgeConfigFileError
    listing every problem, one per line.
    """
    if not isinstance(items, list) or not items:
        raise JudgeConfigFileError(
            problems=[Problem(source, None, "judges", "expected a non-empty list of judges")]
        )

    def at(i: int, loc: Sequence[Any], field: str, message: str) -> Problem:
        return Problem(source, locate([i, *loc]) if locate else None, field, message)

    stages: list[tuple[int, StageSpec]] = []  # (item index, stage)
    problems: list[Problem] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(at(i, (), f"judges[{i}]", "expected a mapping with 'judge' or 'stage'"))
            continue
        try:
            if "stage" in item:
                stages.append((i, StageSpec.model_validate(item)))
            else:
                item = dict(item)
                shadow = item.pop("shadow", False)
                spec = JudgeSpec.model_validate(item)
                stage = StageSpec(stage=spec.display_name, judges=[spec], shadow=shadow)
                stages.append((i, stage))
        except ValidationError as exc:
            for err in exc.errors():
                loc = clean_loc(err["loc"])
                where = field_path(loc) or "(item)"
                problems.append(at(i, loc, f"judges[{i}].{where}", err["msg"]))
    for i, stage in stages:
        problems += [
            at(i, (), f"judges[{i}]", p) for p in _build_problems(stage) + _secret_problems(stage)
        ]
    names = [s.stage for _, s in stages]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(Problem(source, None, "judges", f"duplicate stage names {dupes}"))
    if problems:
        raise JudgeConfigFileError(problems=problems)
    return CascadeSpec(stages=[s for _, s in stages])


def load_cascade_file(path: str | Path, items: Any = None) -> CascadeSpec:
    """Read a judges file (a list, or a mapping with a ``judges:`` list, e.g. a suite).

    `items`: the list as already loaded (e.g. a suite's, after ``${VAR}`` expansion);
    the file is then read only for the line numbers of errors."""
    p = Path(path)
    try:
        doc = read_yaml(p)
    except YamlFileError as exc:
        raise JudgeConfigFileError(problems=[exc.problem]) from None
    under: list[Any] = ["judges"] if isinstance(doc.data, dict) else []
    if items is None:
        items = doc.data.get("judges") if isinstance(doc.data, dict) else doc.data
    return parse_cascade(items, str(p), locate=lambda loc: doc.line([*under, *loc]))
