"""Ship gates as YAML, evaluated into a Decision that holds every number behind it.

A gate file (see ``gates/edd_demo.yaml`` and docs/gate-compare-report.md)::

    name: edd-demo
    confidence: 0.95            # two-sided coverage of every interval
    outcome: {source: auto, imported_threshold: 1.0}
    pair_by: case               # or case_repetition (see evals.analysis.compare)
    helpful_base: reviewed      # or candidates (judge fails count as not helpful)
    dataset: ../datasets/edd_demo   # optional: per-question gates from questions.yaml
    overall:        {min_judge_pass_rate: 0.6, max_p95_latency_s: 60, ...}
    every_question: {min_helpful_lower_bound: 0.7}
    questions:
      registry_check: {min_helpful_lower_bound: 0.9}

Threshold keys are :class:`evals.schema.GateThresholds`. Per question, the thresholds
are merged key by key: ``every_question``, then the dataset's ``Question.gate``, then
``questions.<id>`` (later wins). Relative ``dataset`` paths are tried against the gate
file's folder, then the working directory.

**How a check decides** (one rule for all; "sample-size honesty"):

* rates (``min_helpful_lower_bound`` on the Wilson lower bound, ``min_judge_pass_rate``
  on the rate, decided on its Wilson lower bound too): *pass* when the lower bound
  clears the threshold; *undecided* when the point estimate clears it but the bound does
  not yet, with ``n_needed`` from :func:`evals.stats.sample_size_one_proportion`
  (80 % power, one-sided alpha = (1 - confidence)/2, planned at the observed rate);
  *fail* when the point estimate itself misses it.
* ``max_handling_time_ratio``: *pass* when the interval's upper bound is at or under the
  threshold; *undecided* when the ratio is but the bound is not (``n_needed`` scales the
  labels by the square of the log half-width ratio: intervals narrow as 1/sqrt(n); an
  approximation, since the bootstrap is clustered by reviewer), or when fewer than two
  reviewers leave no interval; *fail* when the ratio is over.
* ``noninferiority_margin`` against a baseline run (paired by case): *pass* when the
  lower bound of p_candidate - p_baseline is above -margin; *undecided* when the
  difference is above -margin but its interval straddles it (``n_needed`` from
  :func:`evals.stats.sample_size_noninferiority_paired`); *fail* when the difference is
  at or below -margin (more cases at that rate would not show non-inferiority).
* ``max_cost_per_trial`` and ``max_p95_latency_s`` are measured, not inferred: pass or
  fail on the observed value.
* No data for a check (no labels, no judged trials, no pairs) is *undecided*.

The outcome is *fail* if any check fails, else *undecided* if any is, else *ship*. An
undecided decision says about how many more cases would decide it: the larger of the
overall checks' need and the sum over questions of each question's largest need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evals.analysis.accepted import last_accepted, record_decision, run_scope
from evals.analysis.compare import by_question
from evals.analysis.gate_checks import GateRun, ScopeInput, scope_checks
from evals.analysis.pairing import NO_PAIRS, PairBy, PairCounts, pair_counts, pairing_units
from evals.analysis.rundata import OutcomeSpec, RunData, TrialFacts, no_gc
from evals.analysis.runfacts import FactSession, RunFacts
from evals.analysis.runstats import HelpfulBase
from evals.analysis.tallies import tally_trials
from evals.dataset.golden import GoldenSetError, Problem, load_golden_set
from evals.errors import InputError
from evals.schema import Decision, GateCheck, GateThresholds, content_hash, utcnow
from evals.yamlfile import YamlDoc, YamlFileError, read_yaml

_RATE_KEYS = ("min_helpful_lower_bound", "min_judge_pass_rate")


class GateFileError(InputError):
    """A gate file that does not load; holds every problem (file, line, field)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems=problems)


def threshold_problems(th: GateThresholds) -> list[str]:
    """Out-of-range thresholds, as 'key must be ..., got v' (empty when all are fine)."""
    return [f"{key} {message}" for key, message in th.problems()]


class GateSpec(BaseModel):
    """A gate file as loaded."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: str = ""
    """Gate name (defaults to the file name)."""
    description: str = ""
    """What the gate protects."""
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    """Two-sided coverage of every interval."""
    outcome: OutcomeSpec = Field(default_factory=OutcomeSpec)
    """What counts as a pass for pass rates and non-inferiority."""
    pair_by: PairBy = "case"
    """Pairing unit against the baseline: 'case' or 'case_repetition'."""
    helpful_base: HelpfulBase = "reviewed"
    """'reviewed' trials only, or all 'candidates' with judge fails counted as not helpful."""
    dataset: str | None = None
    """Golden-set folder whose questions.yaml gates apply per question."""
    overall: GateThresholds = Field(default_factory=GateThresholds)
    """Thresholds on all of the run's trials."""
    every_question: GateThresholds = Field(default_factory=GateThresholds)
    """Thresholds applied to each question (overridden per question)."""
    questions: dict[str, GateThresholds] = Field(default_factory=dict)
    """Per-question thresholds by question id."""
    bootstrap_samples: int = Field(default=2000, ge=100)
    """Bootstrap replicates for the handling-time interval."""
    seed: int = 0
    """Bootstrap seed (a decision is reproducible)."""

    @model_validator(mode="after")
    def _ranges(self) -> GateSpec:
        for scope, th in [
            ("overall", self.overall),
            ("every_question", self.every_question),
            *((f"questions.{q}", t) for q, t in self.questions.items()),
        ]:
            problems = threshold_problems(th)
            if problems:
                raise ValueError(f"{scope}.{problems[0]}")
        return self

    def needs_baseline(self) -> bool:
        """True when any scope sets a non-inferiority margin."""
        scopes = [self.overall, self.every_question, *self.questions.values()]
        return any(t.noninferiority_margin is not None for t in scopes)


class Gate(BaseModel):
    """A loaded gate: the spec, where it came from, and the dataset's question gates."""

    path: str
    spec: GateSpec
    dataset_questions: dict[str, GateThresholds] = Field(default_factory=dict)

    @property
    def name(self) -> str:
        """The gate's name, or its file name."""
        return self.spec.name or Path(self.path).stem

    def config(self) -> dict[str, Any]:
        """Everything that decides the outcome, as recorded in the Decision."""
        return {
            "spec": self.spec.model_dump(mode="json"),
            "dataset_questions": {
                q: t.model_dump(mode="json", exclude_none=True)
                for q, t in self.dataset_questions.items()
            },
        }

    def thresholds(self, question_id: str) -> GateThresholds:
        """Merged per-question thresholds (every_question < dataset < questions.<id>)."""
        merged: dict[str, Any] = {}
        for layer in (
            self.spec.every_question,
            self.dataset_questions.get(question_id),
            self.spec.questions.get(question_id),
        ):
            if layer is not None:
                merged.update(layer.model_dump(exclude_none=True))
        return GateThresholds(**merged)


def _range_problems(doc: YamlDoc) -> list[Problem]:
    """Every out-of-range threshold of the file, each at its own line (the GateSpec
    validator alone stops at the first, with no line)."""
    data = doc.data
    scopes: list[list[str]] = [["overall"], ["every_question"]]
    if isinstance(data.get("questions"), dict):
        scopes += [["questions", str(q)] for q in data["questions"]]
    problems = []
    for scope in scopes:
        raw: Any = data
        for part in scope:
            raw = raw.get(part) if isinstance(raw, dict) else None
        if not isinstance(raw, dict):
            continue
        try:
            th = GateThresholds.model_validate(raw)
        except ValidationError:
            continue  # reported by the GateSpec validation, at its line
        problems += [doc.problem([*scope, key], message) for key, message in th.problems()]
    return problems


def load_gate(path: str | Path) -> Gate:
    """Load and validate a gate file; raises GateFileError listing every problem, each
    naming file, line and field."""
    path = Path(path)
    try:
        doc = read_yaml(path)
    except YamlFileError as exc:
        raise GateFileError([exc.problem]) from None
    if not isinstance(doc.data, dict):
        raise GateFileError([doc.problem([], "expected a mapping")])
    problems = _range_problems(doc)
    try:
        spec = GateSpec.model_validate(doc.data)
    except ValidationError as exc:
        found = doc.validation_problems(exc)
        # The ranges validator's one error (no field) is replaced by the list above.
        problems += [p for p in found if p.field is not None or not problems]
    if problems:
        raise GateFileError(problems)
    return Gate(path=str(path), spec=spec, dataset_questions=_dataset_gates(path, doc, spec))


def _dataset_gates(path: Path, doc: YamlDoc, spec: GateSpec) -> dict[str, GateThresholds]:
    if spec.dataset is None:
        return {}
    candidates = [path.parent / spec.dataset, Path(spec.dataset)]
    folder = next((c for c in candidates if c.is_dir()), None)
    if folder is None:
        raise GateFileError([doc.problem(["dataset"], f"no golden-set folder {spec.dataset!r}")])
    try:
        golden = load_golden_set(folder)  # its questions' gates are range-checked there
    except GoldenSetError as exc:
        raise GateFileError(exc.problems) from None
    return {q.id: q.gate for q in golden.questions.values()}


# --------------------------------------------------------------------------- decision


def evaluate_gate(gate: Gate, run: RunData, baseline: RunData | None = None) -> Decision:
    """Evaluate every threshold of a gate on a run (and its baseline) into a Decision.

    Non-inferiority checks need ``baseline``; without one they are left out and the
    summary says so (the CLI insists on an explicit ``--baseline none`` for that).
    This is the reference path over a run's TrialFacts; `evals gate` takes
    evaluate_gate_facts over the typed columns, with the same checks and numbers.
    """
    with no_gc():  # a million trials: no collection walking them mid-decision
        labelled = {lb.trial_key for lb in run.assisted if lb.trial_key}
        control = {lb.case_id for lb in run.unassisted}

        def scope(name: str, mine: list[TrialFacts], theirs: list[TrialFacts] | None) -> ScopeInput:
            paired = None
            if theirs is not None:
                paired = pair_counts(
                    pairing_units(theirs, lambda t: t.outcome, gate.spec.pair_by),
                    pairing_units(mine, lambda t: t.outcome, gate.spec.pair_by),
                )
            return ScopeInput(name, tally_trials(mine, labelled, control), paired)

        mine, theirs = by_question(run.trials), by_question(baseline.trials if baseline else [])
        scopes = [scope("overall", run.trials, baseline.trials if baseline else None)]
        scopes += [
            scope(q, mine[q], theirs.get(q, []) if baseline else None) for q in run.questions()
        ]
        return decide(gate, _gate_run(run, baseline), scopes)


def evaluate_gate_facts(
    gate: Gate, session: FactSession, run: RunFacts, baseline: RunFacts | None = None
) -> Decision:
    """evaluate_gate over runs whose trials stay in DuckDB (evals.analysis.runfacts)."""
    overall, by_q = session.by_question(run, cases=False)
    paired = session.paired(baseline, run, gate.spec.pair_by) if baseline else {}

    def pairs(q: str | None) -> PairCounts | None:
        return paired.get(q, NO_PAIRS) if baseline is not None else None

    scopes = [ScopeInput("overall", overall, pairs(None))]
    scopes += [ScopeInput(q, by_q[q], pairs(q)) for q in run.questions]
    return decide(gate, _gate_run(run, baseline), scopes)


def _gate_run(run: RunData | RunFacts, baseline: RunData | RunFacts | None) -> GateRun:
    return GateRun(
        str(run.ref),
        str(baseline.ref) if baseline else None,
        run.assisted,
        run.unassisted,
        run.ref.run_id,
        baseline.ref.run_id if baseline else None,
    )


def decide(gate: Gate, run: GateRun, scopes: list[ScopeInput]) -> Decision:
    """The Decision of a gate from its scopes' inputs (overall first, then questions)."""
    spec = gate.spec
    checks = scope_checks(spec.overall, run, scopes[0], spec)
    for inp in scopes[1:]:
        checks += scope_checks(gate.thresholds(inp.scope), run, inp, spec)
    if not checks:
        raise ValueError(f"gate {gate.name!r} sets no threshold that applies to {run.ref}")
    outcome, summary, n_more = summarize(checks)
    questions = [inp.scope for inp in scopes[1:]]
    notes = []
    missing = sorted(set(spec.questions) - set(questions))
    if missing:
        notes.append(f"questions in the gate without trials in the run: {', '.join(missing)}")
    if run.baseline_ref is None and spec.needs_baseline():
        notes.append("non-inferiority not checked: no baseline")
    caveats = []
    if any(c.simulated for c in checks):
        caveats.append(
            "SIMULATED: human numbers include simulated reviewers' labels (sim:*), "
            "demo data, not measurements of people"
        )
        summary = f"SIMULATED labels; {summary}"
    overall = scopes[0].tally
    unknown = overall.trials - len(overall.costs)
    if unknown and (spec.overall.max_cost_per_trial is not None or any(
        gate.thresholds(q).max_cost_per_trial is not None for q in questions
    )):
        left = overall.trials - unknown
        caveats.append(
            f"cost unknown for {unknown} of {overall.trials} trials (the source recorded no "
            "price): " + (f"cost checked on the {left} priced trials only" if left else
                          "cost_per_trial not checked")
        )
    config = gate.config()
    created = utcnow()
    gate_hash = content_hash(config)
    return Decision(
        id=f"dec-{created.strftime('%Y%m%dT%H%M%S%f')}-"
        f"{content_hash([gate_hash, run.ref, run.baseline_ref], 8)}",
        gate=gate.name,
        gate_hash=gate_hash,
        run_id=run.run_id,
        baseline_run_id=run.baseline_run_id,
        outcome=outcome,
        checks=checks,
        created_at=created,
        run_ref=run.ref,
        baseline_ref=run.baseline_ref,
        summary="; ".join([summary, *notes]),
        n_more_needed=n_more,
        caveats=caveats,
        gate_config=config,
    )


def _describe(c: GateCheck) -> str:
    value = "no data" if c.value is None else f"{c.value:.3g}"
    return f"{c.scope} {c.metric} {value} (needs {c.comparator} {c.threshold:g})"


def summarize(
    checks: list[GateCheck],
) -> tuple[Literal["ship", "fail", "undecided"], str, int | None]:
    """Overall outcome, its summary line, and about how many more cases would decide."""
    failed = [c for c in checks if c.outcome == "fail"]
    undecided = [c for c in checks if c.outcome == "undecided"]
    if failed:
        listed = "; ".join(_describe(c) for c in failed[:3])
        more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        return "fail", f"fail: {len(failed)} of {len(checks)} checks failed: {listed}{more}", None
    if not undecided:
        return "ship", f"ship: all {len(checks)} checks passed", None
    need: dict[str, int] = {}
    for c in undecided:
        if c.n_needed is not None:
            need[c.scope] = max(need.get(c.scope, 0), max(c.n_needed - c.n, 1))
    per_question = sum(v for s, v in need.items() if s != "overall")
    n_more = max(need.get("overall", 0), per_question) or None
    listed = "; ".join(_describe(c) for c in undecided[:3])
    head = (
        f"undecided: about {n_more} more cases needed"
        if n_more
        else "undecided: more evidence needed"
    )
    return (
        "undecided",
        f"{head} ({len(undecided)} of {len(checks)} checks cannot decide yet: {listed})",
        n_more,
    )


__all__ = [  # besides its own: the accepted-run helpers, defined in evals.analysis.accepted
    "Gate",
    "GateFileError",
    "GateSpec",
    "decide",
    "evaluate_gate",
    "evaluate_gate_facts",
    "last_accepted",
    "load_gate",
    "record_decision",
    "run_scope",
    "summarize",
    "threshold_problems",
]
