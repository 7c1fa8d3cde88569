"""The durable task queue: enqueue inside the caller's transaction, claim under a lease, complete or fail.

Why a table and not a broker: a task must exist *iff* the approval that asked for it committed,
which only the same database transaction can guarantee, and the embedded SQLite default must
need no second service. Claims are exclusive: on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED``
lets several workers take different tasks without waiting on each other; SQLite has one writer
at a time (``BEGIN IMMEDIATE``, see db/engine.py), which serialises claims by itself.

A claim is a *lease*: ``locked_until`` in the future. A worker killed mid-task never completes
it, its lease runs out, and the next claim takes the task again. Completing checks the lease is
still ours, so a worker that was presumed dead cannot complete a task someone else now owns.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.db.engine import Database
from odyssee.domain.outbox import (
    APPROVAL_PDF,
    DEFAULT_MAX_ATTEMPTS,
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    STATUSES,
    enqueue,
    enqueue_approval_pdf,
)
from odyssee.model.conventions import NULL_DATE, utcnow
from odyssee.model.system import QueuedTask

BACKOFF_BASE_SECONDS = 5.0
"""Retry n waits ``BACKOFF_BASE_SECONDS * 2**(n-1)``: 5 s, 10 s, 20 s … capped at BACKOFF_CAP_SECONDS."""
BACKOFF_CAP_SECONDS = 3600.0

_table: sa.Table = QueuedTask.__table__  # type: ignore[assignment]

__all__ = [
    "APPROVAL_PDF",
    "DEFAULT_MAX_ATTEMPTS",
    "DONE",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "STATUSES",
    "LeaseLost",
    "QueueStatus",
    "Task",
    "backoff",
    "claim",
    "complete",
    "enqueue",
    "enqueue_approval_pdf",
    "fail",
    "status",
]


@dataclass(frozen=True)
class Task:
    """A claimed task, as the worker sees it."""

    id: uuid.UUID
    tenant_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    """Including this claim: 1 on the first run."""
    max_attempts: int
    locked_by: str


class LeaseLost(Exception):
    """The task's lease expired and another worker claimed it; this worker's result must be dropped."""


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    queued = sa.and_(_table.c.status == QUEUED, _table.c.run_after <= now)
    abandoned = sa.and_(_table.c.status == RUNNING, _table.c.locked_until < now)
    return sa.or_(queued, abandoned)


def claim(database: Database, worker_id: str, lease_seconds: float, *, now: datetime | None = None) -> Task | None:
    """Take the oldest due task (or one whose lease expired) for ``lease_seconds``; None when none is due.

    A task whose lease expired after its last allowed attempt is marked failed rather than run
    again: a task that kills its worker every time must not loop forever.
    """
    now = now or utcnow()
    with database.transaction(write=True) as session:
        session.execute(
            sa.update(_table)
            .where(_table.c.status == RUNNING, _table.c.locked_until < now, _table.c.attempts >= _table.c.max_attempts)
            .values(status=FAILED, finished_at=now, last_error="lease expired on the last attempt (worker died?)")
        )
        select = sa.select(_table).where(_claimable(now)).order_by(_table.c.run_after, _table.c.created_at).limit(1)
        if database.dialect == "postgresql":
            select = select.with_for_update(skip_locked=True)
        row = session.execute(select).mappings().first()
        if row is None:
            return None
        attempts = row["attempts"] + 1
        session.execute(
            sa.update(_table)
            .where(_table.c.id == row["id"])
            .values(
                status=RUNNING,
                attempts=attempts,
                locked_by=worker_id,
                locked_until=now + timedelta(seconds=lease_seconds),
            )
        )
        return Task(
            id=row["id"],
            tenant_id=row["tenant_id"],
            kind=row["kind"],
            payload=json.loads(row["payload"]),
            attempts=attempts,
            max_attempts=row["max_attempts"],
            locked_by=worker_id,
        )


def _owned(task: Task) -> sa.ColumnElement[bool]:
    return sa.and_(_table.c.id == task.id, _table.c.status == RUNNING, _table.c.locked_by == task.locked_by)


def complete(session: Session, task: Task, *, now: datetime | None = None) -> None:
    """Mark ``task`` done in the caller's transaction (the one that wrote its output).

    Raises :class:`LeaseLost` when another worker has taken the task since; the caller's
    transaction then rolls back, so the output is written once, by the current owner.
    """
    result = session.execute(
        sa.update(_table).where(_owned(task)).values(status=DONE, finished_at=now or utcnow(), locked_until=NULL_DATE)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(str(task.id))


def backoff(attempts: int, base_seconds: float = BACKOFF_BASE_SECONDS) -> timedelta:
    """The wait before the next try after ``attempts`` failed tries: doubling, capped."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS))


def fail(
    database: Database,
    task: Task,
    error: str,
    *,
    base_seconds: float = BACKOFF_BASE_SECONDS,
    now: datetime | None = None,
) -> str:
    """Record a failed try: queue it again after the backoff, or mark it failed after the last attempt.

    Returns the task's new status (``queued`` or ``failed``). A lost lease is not an error: the
    new owner's outcome counts, so nothing is written then.
    """
    now = now or utcnow()
    final = task.attempts >= task.max_attempts
    values: dict[str, Any] = {"last_error": error[:4000], "locked_by": "", "locked_until": NULL_DATE}
    if final:
        values |= {"status": FAILED, "finished_at": now}
    else:
        values |= {"status": QUEUED, "run_after": now + backoff(task.attempts, base_seconds)}
    with database.transaction(write=True) as session:
        session.execute(sa.update(_table).where(_owned(task)).values(values))
    return FAILED if final else QUEUED


@dataclass(frozen=True)
class QueueStatus:
    counts: dict[str, int]
    oldest_queued: datetime | None
    """``created_at`` of the oldest task still waiting (queued or running): how far behind the workers are."""


def status(database: Database) -> QueueStatus:
    """Counts per status and the oldest unfinished task, for ``odyssee queue status`` and monitoring."""
    with database.transaction(write=False) as session:
        counted = session.execute(sa.select(_table.c.status, sa.func.count()).group_by(_table.c.status)).all()
        oldest = session.execute(
            sa.select(sa.func.min(_table.c.created_at)).where(_table.c.status.in_((QUEUED, RUNNING)))
        ).scalar()
    counts = dict.fromkeys(STATUSES, 0) | {name: int(number) for name, number in counted}
    assert oldest is None or isinstance(oldest, datetime)  # min() keeps UtcDateTime's result processing
    return QueueStatus(counts=counts, oldest_queued=oldest)
