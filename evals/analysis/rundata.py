"""A run's evidence, loaded once: its trials, each trial's outcome, and the human labels.

Gates (`evals.analysis.gates`), comparisons (`evals.analysis.compare`) and reports read runs through
this module, so they all agree on what a run's numbers are made of.

**Run references.** A run may hold a matrix of model configurations and prompt
versions. ``RUN[:MODEL[:PROMPT]]`` selects one cell (``RUN::PROMPT`` selects a prompt
across models); ``latest`` names the most recently started run, and a pattern such as
``edd_demo-*`` the most recently started run matching it. A run id that itself contains
``:`` is matched whole first.

**Outcome of a trial** (what "pass" means, :class:`OutcomeSpec`):

* ``cascade``: the cascade's final verdict (``judge='cascade'``) is ``pass``; ``fail``
  and ``abstain`` are not a pass. When a trial was judged by several cascade versions,
  the latest verdict counts. A trial with an agent error and no verdict is a fail (the
  agent produced no answer); a trial with no verdict otherwise is *unjudged* and left out.
* ``imported``: the import's ground-truth verdict (``judge='imported_outcome'``, which
  applies the importer's rule: tau-bench rewards pass only at 1); without one, the
  recorded ``imported_outcome`` is a pass at or above 1. With ``imported_threshold``
  set, the recorded number decides: a pass when ``>= imported_threshold``.
* ``auto`` (default): ``imported`` for runs whose manifest says ``source: import``,
  ``cascade`` otherwise.

Trials that failed for infrastructure reasons (``error_kind == 'infra'``: rate limits,
timeouts, provider faults) have no outcome under any source: they say nothing about
the model and would bias a comparison. They are counted and reported apart.

**Labels.** The ``counted_labels`` view (evals.store.query) defines what counts: ``undo``
retracts the label named in ``retracts``; of the remaining ``submit`` labels only the
latest per (queue, item, reviewer) counts (skips and flags carry no rating).
Simulated reviewers' labels (``sim:*``) are left out unless asked for. Assisted labels
belong to the run through their trial key. Unassisted
(control) labels carry no trial: they are attributed to the run when they sit in a
review queue that also holds this run's trials, otherwise when they are on one of the
run's cases (an unassisted answer does not depend on the model, so any control label
on the same case is valid evidence of unassisted handling time).

**Members of a run** are its own trials and those it reused from another run with the
same trial key (the runner's ``run_link`` records): ``evals.store.query.run_members_sql``.
The final cascade verdict is the ``latest_verdicts`` view's (the ``final_verdicts`` view).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase as fnmatch
from typing import Any, Literal, NamedTuple

import duckdb
from pydantic import BaseModel, ConfigDict

from evals.analysis.trial_sql import LABELS_SQL, TRIAL_ORDER, TRIALS_SELECT
from evals.errors import NotFoundError
from evals.store.query import connect, run_members_sql
from evals.store.rows import fetch_dicts, rows_as
from evals.store.workspace import Workspace

OutcomeSourceName = Literal["auto", "cascade", "imported"]
IMPORTED_PASS_EPSILON = 1e-9
"""A recorded reward of 1 - epsilon still passes (as in evals.importers)."""


class RunSelectionError(NotFoundError, ValueError):
    """A run reference that names nothing, or names several cells where one is needed."""


class OutcomeSpec(BaseModel):
    """Which record decides whether a trial passed."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    source: OutcomeSourceName = "auto"
    """'cascade' (final cascade verdict), 'imported' (recorded outcome), or 'auto'."""
    imported_threshold: float | None = None
    """For imported runs: a recorded outcome at or above this counts as a pass (None: the
    import's ground-truth verdict decides)."""

    def source_for(self, manifest: dict[str, Any]) -> Literal["cascade", "imported"]:
        """The source deciding a run's outcomes: as set, or with 'auto' the run's own (an
        import's recorded outcome, else the cascade's verdict)."""
        if self.source != "auto":
            return self.source
        return "imported" if manifest.get("source") == "import" else "cascade"


@dataclass(frozen=True)
class RunRef:
    """A run, optionally narrowed to one model alias and/or prompt version."""

    run_id: str
    model: str | None = None
    prompt: str | None = None

    def __str__(self) -> str:
        if self.prompt is not None:
            return f"{self.run_id}:{self.model or ''}:{self.prompt}"
        return f"{self.run_id}:{self.model}" if self.model is not None else self.run_id


def parse_run_ref(text: str, known_runs: set[str]) -> RunRef:
    """Parse ``RUN[:MODEL[:PROMPT]]`` against the run ids present."""
    if text in known_runs:
        return RunRef(text)
    parts = text.split(":")
    if len(parts) > 3 or parts[0] not in known_runs:
        raise RunSelectionError(
            f"no run {parts[0]!r} in the workspace (known: "
            f"{', '.join(sorted(known_runs)[-8:]) or 'none'})"
        )
    model = parts[1] or None if len(parts) > 1 else None
    prompt = parts[2] or None if len(parts) > 2 else None
    return RunRef(parts[0], model, prompt)


@dataclass(slots=True)
class TrialFacts:
    """The flat facts of one trial that every statistic is computed from."""

    key: str
    case_id: str
    case_hash: str
    question_id: str
    model_alias: str
    prompt: str
    repetition: int
    status: str
    error_kind: str | None
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    cost_usd: float | None
    """None when the source recorded no price (unknown, not free)."""
    latency_s: float
    tool_calls: int
    """The agent's tool calls."""
    user_tool_calls: int
    """A simulated user's own tool calls (tau2-bench telecom), counted apart."""
    imported_outcome: float | None
    cascade_label: str | None
    cascade_stage: int | None
    imported_label: str | None
    outcome: bool | None = None
    """Pass/fail under the run's outcome source; None = no outcome (infra error, unjudged)."""


@dataclass(slots=True)
class LabelFacts:
    """One counted human label (after undo and latest-submit rules)."""

    id: str
    queue_id: str
    item_id: str
    trial_key: str | None
    case_id: str
    reviewer: str
    arm: str
    helpful: bool | None
    correctness: str | None
    active_seconds: float | None
    idle_threshold_s: float | None
    simulated: bool = False
    """A simulated reviewer's label (reviewer id ``sim:*``)."""


@dataclass
class RunData:
    """A selected run: manifest, trials with outcomes, and the labels that bear on them."""

    ref: RunRef
    manifest: dict[str, Any]
    outcome_source: Literal["cascade", "imported"]
    trials: list[TrialFacts]
    assisted: list[LabelFacts] = field(default_factory=list)
    unassisted: list[LabelFacts] = field(default_factory=list)
    cells: list[tuple[str, str]] = field(default_factory=list)
    """Every (model alias, prompt) cell of the run, selected or not."""
    include_simulated: bool = False
    """Simulated reviewers' labels were asked for (--include-simulated)."""
    excluded_simulated: int = 0
    """Counted labels of simulated reviewers left out (when not asked for)."""

    @property
    def simulated(self) -> bool:
        """Some label behind this run's human numbers is a simulated reviewer's."""
        return any(lb.simulated for lb in (*self.assisted, *self.unassisted))

    def question_of_case(self) -> dict[str, str]:
        """Case id -> question id, from this run's trials."""
        return {t.case_id: t.question_id for t in self.trials}

    def questions(self) -> list[str]:
        """Question ids present, sorted."""
        return sorted({t.question_id for t in self.trials})


_TRIALS_SQL = TRIALS_SELECT + "ORDER BY " + ", ".join(f"t.{c}" for c in TRIAL_ORDER.split(", "))


@contextmanager
def no_gc() -> Iterator[None]:
    """No cyclic garbage collection while a run's trials are built or walked (loads,
    gates, comparisons): they hold no cycles, and at a million live objects each
    collection walked them all (seconds per load or decision). Re-enabled after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return fetch_dicts(con.execute(sql, params))


class RunRow(NamedTuple):
    """A run, as the ``runs`` view lists it."""

    run_id: str
    """The run."""
    suite: str
    """The suite file it ran (an import: the imported file)."""


RUN_IDS_SQL = "SELECT run_id, suite FROM runs ORDER BY started_at, recorded_at"


def run_ids(ws: Workspace) -> list[RunRow]:
    """Every run manifest row, oldest first."""
    with connect(ws) as con:
        return rows_as(RunRow, _rows(con, RUN_IDS_SQL, []))


def resolve_run_ref(ws: Workspace, text: str, runs: list[RunRow] | None = None) -> RunRef:
    """Parse a run reference. The run part may be ``latest`` (the most recently started
    run) or a pattern with ``*`` (the most recently started run whose id matches, e.g.
    ``edd_demo-*``: suites name their runs ``<suite>-<hash>``). `runs`: run_ids(ws),
    when the caller has them."""
    runs = run_ids(ws) if runs is None else runs
    known = {r.run_id for r in runs}
    if text in known:
        return RunRef(text)
    head, sep, rest = text.partition(":")
    if head == "latest" or "*" in head:
        matches = [r.run_id for r in runs if head == "latest" or fnmatch(r.run_id, head)]
        if not matches:
            raise RunSelectionError(
                "the workspace holds no runs yet"
                if head == "latest"
                else f"no run matches {head!r} (known: {', '.join(sorted(known)[-8:]) or 'none'})"
            )
        text = matches[-1] + sep + rest
    return parse_run_ref(text, known)


def trial_outcome(
    t: TrialFacts, source: str, imported_threshold: float | None = None
) -> bool | None:
    """Pass/fail of one trial under an outcome source (see the module docstring)."""
    if t.status == "error" and t.error_kind == "infra":
        return None
    if source == "imported":
        if imported_threshold is not None and t.imported_outcome is not None:
            return t.imported_outcome >= imported_threshold
        if t.imported_label in ("pass", "fail"):
            return t.imported_label == "pass"
        if t.imported_outcome is not None:
            return t.imported_outcome >= 1.0 - IMPORTED_PASS_EPSILON
        return None
    if t.cascade_label is not None:
        return t.cascade_label == "pass"
    return False if t.status == "error" else None


def check_cells(
    ref: RunRef, cells: list[tuple[str, str]], single_cell: bool = False
) -> list[tuple[str, str]]:
    """The run's (sorted) model/prompt cells that ``ref`` selects; RunSelectionError when
    none does, or (``single_cell``) when several do, naming the choices."""
    chosen = [c for c in cells if ref.model in (None, c[0]) and ref.prompt in (None, c[1])]
    if not chosen:
        have = ", ".join(f"{m}:{p}" for m, p in cells) or "no trials"
        raise RunSelectionError(f"{ref}: no trials for that model/prompt (run has {have})")
    if single_cell and len(chosen) > 1:
        options = ", ".join(f"{ref.run_id}:{m}:{p}" for m, p in chosen)
        raise RunSelectionError(
            f"{ref} holds {len(chosen)} model/prompt cells; name one: {options}"
        )
    return chosen


def counted(labels: list[LabelFacts], include_simulated: bool) -> tuple[list[LabelFacts], int]:
    """The labels a run's numbers count (simulated reviewers' left out unless included),
    and how many were left out."""
    if include_simulated:
        return labels, 0
    kept = [lb for lb in labels if not lb.simulated]
    return kept, len(labels) - len(kept)


def load_run(
    ws: Workspace,
    ref: RunRef,
    outcome: OutcomeSpec | None = None,
    *,
    single_cell: bool = False,
    include_simulated: bool = False,
) -> RunData:
    """Load a run's trials (with outcomes) and its counted labels.

    Simulated reviewers' labels (``sim:*``) are left out unless ``include_simulated``:
    then every number built on them says so (RunData.simulated).

    ``single_cell=True`` refuses a selection spanning several model/prompt cells (a
    gate or a comparison of a pooled matrix would mix models), naming the choices.
    """
    outcome = outcome or OutcomeSpec()
    with connect(ws) as con:
        manifests = _rows(
            con, "SELECT * FROM runs WHERE run_id = ? ORDER BY recorded_at", [ref.run_id]
        )
        if not manifests:
            raise RunSelectionError(f"no run {ref.run_id!r} in the workspace")
        # One scan of the trials view for the whole run (every cell); cells are picked
        # in Python, so the run's cells come for free for the error messages.
        members = run_members_sql("?", "t")
        with no_gc():
            # Tuples straight into TrialFacts (the SELECT is in its field order): at a
            # million trials a dict per row cost more than the query.
            all_rows = con.execute(
                _TRIALS_SQL.format(members=members, extra=""), [ref.run_id, ref.run_id]
            ).fetchall()
            every = [TrialFacts(*r) for r in all_rows]
            del all_rows
        label_rows = _rows(con, LABELS_SQL, [])
    cells = sorted({(t.model_alias, t.prompt) for t in every})
    check_cells(ref, cells, single_cell)
    trials = (
        every
        if ref.model is None and ref.prompt is None
        else [t for t in every if ref.model in (None, t.model_alias)
              and ref.prompt in (None, t.prompt)]
    )
    manifest = manifests[-1]
    source = outcome.source_for(manifest)
    for t in trials:
        t.outcome = trial_outcome(t, source, outcome.imported_threshold)
    labels, excluded = counted(rows_as(LabelFacts, label_rows), include_simulated)
    assisted, unassisted = _attribute_labels(labels, trials)
    return RunData(
        ref, manifest, source, trials, assisted, unassisted, cells, include_simulated, excluded
    )


REVIEW_CASE_PREFIX = "review:"
"""Case id of a whole-review item's label (labeling_app.queues.review_items): a review's time is
no single item's, so these labels stay out of the per-item numbers."""


def _attribute_labels(
    labels: list[LabelFacts], trials: list[TrialFacts]
) -> tuple[list[LabelFacts], list[LabelFacts]]:
    return attribute_labels(labels, {t.key for t in trials}, {t.case_id for t in trials})


def attribute_labels(
    labels: list[LabelFacts], keys: set[str], cases: set[str]
) -> tuple[list[LabelFacts], list[LabelFacts]]:
    """(assisted, unassisted) labels of a run whose trials' keys and cases are given (only
    those of labelled trials and labelled cases matter); see the module docstring."""
    labels = [lb for lb in labels if not lb.case_id.startswith(REVIEW_CASE_PREFIX)]
    assisted = [lb for lb in labels if lb.arm == "assisted" and lb.trial_key in keys]
    queues = {lb.queue_id for lb in assisted}
    control = [lb for lb in labels if lb.arm == "unassisted"]
    unassisted = [lb for lb in control if lb.queue_id in queues]
    if not unassisted:
        unassisted = [lb for lb in control if lb.case_id in cases]
    return assisted, unassisted
