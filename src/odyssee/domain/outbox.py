"""Work the domain asks for, written in the caller's transaction: the durable task queue's producer side.

A task exists iff the transaction that asked for it commits (an approval and its PDF task
commit together). The ``odyssee worker`` side — claiming, leases, retries — is worker/queue.py;
the domain only ever enqueues, so it never depends on the worker.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.domain.actor import Actor
from odyssee.model.conventions import NULL_DATE, utcnow
from odyssee.model.system import QueuedTask

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
STATUSES = (QUEUED, RUNNING, DONE, FAILED)

APPROVAL_PDF = "approval_pdf"
DEFAULT_MAX_ATTEMPTS = 5

_table: sa.Table = QueuedTask.__table__  # type: ignore[assignment]


def enqueue(
    session: Session,
    tenant_id: int,
    kind: str,
    payload: dict[str, Any],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    now: datetime | None = None,
) -> uuid.UUID:
    """Add a task in the caller's transaction, so it exists iff that transaction commits."""
    now = now or utcnow()
    task_id = uuid.uuid4()
    session.execute(
        sa.insert(_table).values(
            id=task_id,
            tenant_id=tenant_id,
            kind=kind,
            payload=json.dumps(payload, sort_keys=True),
            status=QUEUED,
            attempts=0,
            max_attempts=max_attempts,
            run_after=now,
            locked_by="",
            locked_until=NULL_DATE,
            last_error="",
            created_at=now,
            finished_at=NULL_DATE,
        )
    )
    return task_id


def enqueue_approval_pdf(session: Session, actor: Actor, approval_id: uuid.UUID) -> uuid.UUID:
    """Ask for the approval PDF of ``approval_id``; call it in the transaction that creates the approval."""
    return enqueue(session, actor.tenant_id, APPROVAL_PDF, {"approval_id": str(approval_id)})
