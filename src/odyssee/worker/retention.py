"""Change-event retention: delete old ``change_event`` rows in bounded batches (docs/change-feed.md).

``change_event`` gains a row with every write. It is needed for two things only: webhook
deliveries (up to each subscription's cursor) and the tombstones of hard deletes that delta
readers see as ``@removed``. So events older than the retention window are deleted — never one
an active subscription has not delivered yet — and the largest pruned stamp is recorded per
tenant and table (``change_horizon``), so a delta token that needed a pruned tombstone gets
410 ``DeltaTokenExpired`` instead of silently missing a deletion.

Each batch is one short transaction (a few thousand rows), so pruning a large backlog never
holds locks for long; the worker runs a bounded number of batches per tick and comes back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from odyssee.db.engine import Database
from odyssee.domain import changes
from odyssee.model.conventions import utcnow
from odyssee.model.system import ChangeClock

log = logging.getLogger("odyssee.worker.retention")

BATCH_SIZE = 5000
"""Events deleted per transaction."""


@dataclass(frozen=True)
class Pruned:
    deleted: int
    """Events deleted by this call."""
    complete: bool
    """False when ``max_batches`` stopped it with prunable events left (call again)."""


def prune(
    database: Database, older_than: timedelta, *, batch_size: int = BATCH_SIZE, max_batches: int | None = None
) -> Pruned:
    """Delete change events stamped more than ``older_than`` ago that every active subscription has delivered."""
    cutoff = utcnow() - older_than
    with database.transaction(write=False) as session:
        tables = session.execute(sa.select(ChangeClock.tenant_id, ChangeClock.table_name)).all()
    deleted = 0
    batches = 0
    for tenant_id, table in tables:
        while max_batches is None or batches < max_batches:
            with database.transaction(write=True) as session:
                limit = changes.prune_limit(session, tenant_id, table, cutoff)
                count = changes.prune_batch(session, tenant_id, table, limit, batch_size)
            batches += 1
            deleted += count
            if count < batch_size:
                break
        else:
            log.info("pruned %d change event(s); more left for the next round", deleted)
            return Pruned(deleted, complete=False)
    if deleted:
        log.info("pruned %d change event(s) older than %s", deleted, cutoff.isoformat())
    return Pruned(deleted, complete=True)
