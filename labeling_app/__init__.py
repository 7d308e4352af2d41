"""The labeling app: human review of agent answers, with queues, timing and roles.

Streamlit pages live in ``labeling_app/views`` (entry point ``labeling_app/app.py``, run by
`evals label`). The review logic is plain Python and usable without Streamlit:

* `labeling_app.queues.models`: the ``queue``, ``queue_setting`` and ``claim`` records;
* `labeling_app.queues.build`: building a queue from a run's survivors or a sample;
* `labeling_app.queues.service`: claims with leases, decisions, undo (`QueueService`);
* `labeling_app.queues.state`: a queue's state derived from its records (assignment rules);
* `labeling_app.metrics.timing`: active handling time recomputed from raw events;
* `labeling_app.auth.roster`: the roster (salted scrypt hashes) and roles;
* `labeling_app.metrics.dashboard`: the dashboard's statistics;
* `labeling_app.queues.simulate`: simulated reviewers for demos and load tests.
"""

from labeling_app.auth.roster import (
    Identity,
    Roster,
    RosterUser,
    add_user,
    authenticate,
    load_roster,
)
from labeling_app.metrics.timing import DEFAULT_IDLE_THRESHOLD_S, active_seconds
from labeling_app.queues.build import QueueBuildError, build_queue, create_queue
from labeling_app.queues.models import Claim, QueueItem, QueueSetting, ReviewQueue
from labeling_app.queues.records import RecordIndex
from labeling_app.queues.service import Decision, QueueError, QueueService
from labeling_app.queues.state import QueueState, compute_state

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
