"""The finished-key lookup of a `--workers` run, done in a short-lived child process:
`python -m evals.run.executors.lookup WORKSPACE RUN_ID...`.

The lookup queries the store with DuckDB, and a module's pages stay mapped once it is
imported: read in the parent, DuckDB (about 35 MB of RSS, with the numpy it loads) would
stay resident there for as long as the workers run, which is the process tree's peak
(issue 18: `--workers N` at most N x 0.6 of one process). The child reads the finished
keys (evals.run.plan.finished_keys) and, for each run that other runs' trials may be
linked into, the keys already linked; it writes them to its stdout, pickled, and exits.
A failure comes back as the same EvalsError (a RunError naming any other exception).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from evals.errors import EvalsError, RunError
from evals.run.executors.worker import child_env
from evals.run.links import LINKED_SQL
from evals.run.plan import FinishedKeys
from evals.store.workspace import Workspace


@dataclass
class Lookup:
    """What the child read: the finished keys and the links already made."""

    finished: FinishedKeys
    linked: dict[str, set[str]]
    """Run -> the keys already linked into it; only runs another run's keys may be
    linked into (when no other run finished a key, nothing is linked: not read)."""


def finished_apart(ws: Workspace, run_ids: list[str]) -> Lookup:
    """The lookup, done by a child process (see the module docstring); none for a local
    workspace without a trial segment (nothing can be finished: a new workspace)."""
    if not ws.remote and not ws.segments("trial"):
        return Lookup(FinishedKeys({}), {})
    cmd = [sys.executable, "-m", "evals.run.executors.lookup", ws.url, *run_ids]
    with tempfile.TemporaryFile() as err:  # not a pipe: a chatty child cannot block
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=child_env())
        assert proc.stdout is not None
        with proc.stdout:
            try:
                outcome = pickle.load(proc.stdout)  # streamed: 1M keys are ~70 MB pickled
            except EOFError:
                outcome = None
        code = proc.wait()
        if outcome is None or code != 0:
            err.seek(0)
            last = (err.read().decode(errors="replace").strip().splitlines() or [""])[-1]
            raise RunError(f"reading the finished keys failed (exit code {code}): {last}")
    if isinstance(outcome, EvalsError):
        raise outcome
    by_run, linked = outcome
    return Lookup(FinishedKeys(by_run), linked)


def read(ws: Workspace, run_ids: list[str]) -> tuple[dict[str, list[str]], dict[str, set[str]]]:
    """The child's reading: the finished keys by run, and the links of each run of
    `run_ids` that another run finished keys for."""
    from evals.run.plan import finished_keys
    from evals.store.query import query

    finished = finished_keys(ws)
    linked = {
        run_id: {r["k"] for r in query(ws, LINKED_SQL, [run_id])}
        for run_id in run_ids
        if any(run != run_id for run in finished.by_run)
    }
    return finished.by_run, linked


def main(argv: list[str] | None = None) -> None:
    """The child: writes pickle((by_run, linked)), or the EvalsError it raised."""
    url, *run_ids = argv if argv is not None else sys.argv[1:]
    out = sys.stdout.buffer
    try:
        pickle.dump(read(Workspace(url, create=False), run_ids), out)  # streamed
    except EvalsError as exc:
        out.write(_error(exc))
    except Exception as exc:
        out.write(_error(RunError(f"reading the finished keys: {type(exc).__name__}: {exc}")))
    out.flush()


def _error(exc: EvalsError) -> bytes:
    try:
        return pickle.dumps(exc)
    except Exception:
        return pickle.dumps(RunError(str(exc)))


if __name__ == "__main__":
    main()
