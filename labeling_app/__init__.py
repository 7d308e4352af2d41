"""The labeling app: human review of agent answers, with queues, timing and roles.

Streamlit pages live in ``labeling_app/views`` (entry point ``labeling_app/app.py``, run by
`evals label`). The review logic is plain Python and usable without Streamlit:

* `labeling_app.models`: the ``queue``, ``queue_setting`` and ``claim`` records;
* `labeling_app.build`: building a queue from a run's survivors or a sample;
* `labeling_app.queue`: claims with leases, decisions, undo (`QueueService`);
* `labeling_app.state`: a queue's state derived from its records (assignment rules);
* `labeling_app.timing`: active handling time recomputed from raw events;
* `labeling_app.auth`: the roster (salted scrypt hashes) and roles;
* `labeling_app.metrics`: the dashboard's statistics; `labeling_app.simulate`: simulated
  reviewers for demos and load tests.
"""

from labeling_app.auth import Identity, Roster, RosterUser, add_user, authenticate, load_roster
from labeling_app.build import QueueBuildError, build_queue, create_queue
from labeling_app.models import Claim, QueueItem, QueueSetting, ReviewQueue
from labeling_app.queue import Decision, QueueError, QueueService
from labeling_app.records import RecordIndex
from labeling_app.state import QueueState, compute_state
from labeling_app.timing import DEFAULT_IDLE_THRESHOLD_S, active_seconds

__all__ = [
    "DEFAULT_IDLE_THRESHOLD_S",
    "Claim",
    "Decision",
    "Identity",
    "QueueBuildError",
    "QueueError",
    "QueueItem",
    "QueueService",
    "QueueSetting",
    "QueueState",
    "RecordIndex",
    "ReviewQueue",
    "Roster",
    "RosterUser",
    "active_seconds",
    "add_user",
    "authenticate",
    "build_queue",
    "compute_state",
    "create_queue",
    "load_roster",
]
