"""The statements of the PostgreSQL queue backend (see `labeling_app.queues.pg.db`).

Times are always parameters (the caller's ``now``), never the server's clock, so tests
and simulated reviewers drive the clock as they do with the local backend.
"""

from __future__ import annotations

# A slot is taken when it is filled (done_label) or held by a live lease. The overlap
# rule is the slot's shape; the reviewer rules (not twice, never a declined item, never
# both arms of a case) are the NOT EXISTS clauses, all in the one statement that takes
# the row, so a concurrent claim either sees the row locked (skips it) or sees the
# committed result. {which} narrows the candidates: one item (the records' preferred
# pick), or cases the reviewer has not seen, or any; in queue order, so the scan of the
# partial index on (queue_id, position, slot) stops at the first row that qualifies.
_CLAIM = """
WITH pick AS (
    SELECT s.item_key, s.slot
    FROM rq_slots s
    WHERE s.queue_id = %(q)s
      AND s.done_label IS NULL
      AND (s.claimed_by IS NULL OR s.lease_until <= %(now)s)
      AND {which}
      AND NOT EXISTS (
          SELECT 1 FROM rq_slots m
          WHERE m.queue_id = s.queue_id AND m.claimed_by = %(r)s AND m.item_key = s.item_key
            AND (m.done_label IS NOT NULL OR m.lease_until > %(now)s))
      AND NOT EXISTS (
          SELECT 1 FROM rq_decisions d
          WHERE d.queue_id = s.queue_id AND d.reviewer = %(r)s AND d.item_key = s.item_key)
      AND NOT EXISTS (
          SELECT 1 FROM rq_seen v
          WHERE v.queue_id = s.queue_id AND v.reviewer = %(r)s AND v.case_id = s.case_id
            AND v.arm <> s.arm)
    ORDER BY s.position, s.slot
    LIMIT 1
    FOR UPDATE SKIP LOCKED
), taken AS (
    UPDATE rq_slots s
    SET claimed_by = %(r)s, claimed_at = %(now)s, lease_until = %(lease)s
    FROM pick
    WHERE s.queue_id = %(q)s AND s.item_key = pick.item_key AND s.slot = pick.slot
    RETURNING s.item_key, s.case_id, s.arm
), seen AS (
    INSERT INTO rq_seen (queue_id, reviewer, case_id, arm)
    SELECT %(q)s, %(r)s, case_id, arm FROM taken
    ON CONFLICT DO NOTHING
)
SELECT item_key, case_id, arm FROM taken
"""

CLAIM_ITEM = _CLAIM.format(which="s.item_key = %(only)s")
"""Take a slot of one item."""

CLAIM_FRESH = _CLAIM.format(
    which="""NOT EXISTS (
          SELECT 1 FROM rq_seen f
          WHERE f.queue_id = s.queue_id AND f.reviewer = %(r)s AND f.case_id = s.case_id)"""
)
"""Take the first free slot of a case the reviewer has not seen."""

CLAIM_ANY = _CLAIM.format(which="true")
"""Take the first free slot the reviewer may have."""

HELD = """
SELECT item_key, slot, lease_until FROM rq_slots
WHERE queue_id = %(q)s AND claimed_by = %(r)s AND done_label IS NULL AND lease_until > %(now)s
ORDER BY claimed_at DESC, position DESC
"""

HELD_OR_CLOSED = """
SELECT q.closed, h.item_key, h.slot, h.lease_until
FROM rq_queues q
LEFT JOIN LATERAL (
    SELECT item_key, slot, lease_until FROM rq_slots
    WHERE queue_id = %(q)s AND claimed_by = %(r)s AND done_label IS NULL
      AND lease_until > %(now)s
    ORDER BY claimed_at DESC, position DESC
    LIMIT 1
) h ON true
WHERE q.queue_id = %(q)s
"""

DECIDED_OR_HELD = """
SELECT
    (SELECT label FROM rq_decisions
     WHERE queue_id = %(q)s AND reviewer = %(r)s AND item_key = %(item)s),
    (SELECT slot FROM rq_slots
     WHERE queue_id = %(q)s AND claimed_by = %(r)s AND item_key = %(item)s
       AND done_label IS NULL AND lease_until > %(now)s
     LIMIT 1 FOR UPDATE)
"""

# A decision in one statement: fill the reviewer's slot (submit) or free it (skip,
# flag), and note the decision, the reviewer's last label and the arm seen.
DECIDE = """
WITH fill AS (
    UPDATE rq_slots SET done_label = %(label_id)s
    WHERE %(submit)s AND queue_id = %(q)s AND item_key = %(item)s AND slot = %(slot)s
), free AS (
    UPDATE rq_slots SET claimed_by = NULL, claimed_at = NULL, lease_until = NULL
    WHERE NOT %(submit)s AND queue_id = %(q)s AND claimed_by = %(r)s
      AND item_key = %(item)s AND done_label IS NULL
), decided AS (
    INSERT INTO rq_decisions (queue_id, reviewer, item_key, action, label)
    VALUES (%(q)s, %(r)s, %(item)s, %(action)s, %(label)s)
), last AS (
    INSERT INTO rq_last_label (queue_id, reviewer, label) VALUES (%(q)s, %(r)s, %(label)s)
    ON CONFLICT (queue_id, reviewer) DO UPDATE SET label = EXCLUDED.label
)
INSERT INTO rq_seen (queue_id, reviewer, case_id, arm) VALUES (%(q)s, %(r)s, %(case)s, %(arm)s)
ON CONFLICT DO NOTHING
"""

HELD_ITEM = """
SELECT slot, lease_until FROM rq_slots
WHERE queue_id = %(q)s AND claimed_by = %(r)s AND item_key = %(item)s
  AND done_label IS NULL AND lease_until > %(now)s
FOR UPDATE
"""

SET_LEASE = """
UPDATE rq_slots SET lease_until = %(lease)s, claimed_at = COALESCE(%(at)s, claimed_at)
WHERE queue_id = %(q)s AND item_key = %(item)s AND slot = %(slot)s
"""

RETIME = """
UPDATE rq_slots SET claimed_at = %(at)s, lease_until = %(lease)s
WHERE queue_id = %(q)s AND claimed_by = %(r)s AND item_key = %(item)s AND done_label IS NULL
"""

FREE = """
UPDATE rq_slots SET claimed_by = NULL, claimed_at = NULL, lease_until = NULL
WHERE queue_id = %(q)s AND claimed_by = %(r)s AND item_key = %(item)s AND done_label IS NULL
"""


REOPEN = """
UPDATE rq_slots SET done_label = NULL, claimed_at = %(now)s, lease_until = %(lease)s
WHERE queue_id = %(q)s AND claimed_by = %(r)s AND item_key = %(item)s
  AND done_label IS NOT NULL
RETURNING slot
"""



DROP_DECISION = """
DELETE FROM rq_decisions
WHERE queue_id = %(q)s AND reviewer = %(r)s AND item_key = %(item)s
  AND label->>'id' = %(label_id)s
RETURNING action
"""

EDITED = """
WITH d AS (
    UPDATE rq_decisions SET label = %(label)s
    WHERE queue_id = %(q)s AND reviewer = %(r)s AND item_key = %(item)s
      AND label->>'id' = %(old)s
)
UPDATE rq_slots SET done_label = %(new)s
WHERE queue_id = %(q)s AND item_key = %(item)s AND claimed_by = %(r)s AND done_label = %(old)s
"""


LAST = "SELECT label FROM rq_last_label WHERE queue_id = %(q)s AND reviewer = %(r)s"

SET_LAST = """
INSERT INTO rq_last_label (queue_id, reviewer, label) VALUES (%(q)s, %(r)s, %(label)s)
ON CONFLICT (queue_id, reviewer) DO UPDATE SET label = EXCLUDED.label
"""

LOCK_REVIEWER = "SELECT pg_advisory_xact_lock(hashtext(%(q)s), hashtext(%(r)s))"
"""One decision of a reviewer at a time (two tabs, two replicas): serializes the
reviewer's own claims so the not-twice rule cannot race with itself."""

LOCK_QUEUE_LOAD = "SELECT pg_advisory_xact_lock(hashtext('evals-queue-load'), hashtext(%(q)s))"

QUEUE = "SELECT closed, show_verdicts, fingerprint FROM rq_queues WHERE queue_id = %(q)s"
