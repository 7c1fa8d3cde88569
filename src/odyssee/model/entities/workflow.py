"""The records the job-status workflow keeps (reference.md §3.9, §3.11). The server writes them;
clients read and filter them over OData like any other entity."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Mapped

from odyssee.model.base import Deletion, Entity, EntityOptions, flag, reference, string, timestamp


class JobDispatchLog(Entity):
    __tablename__ = "job_dispatch_log"
    odata = EntityOptions(
        read_only=True,
        deletion=Deletion.FORBIDDEN,
        deletion_hint="The dispatch log is a record of what happened.",
        description="One row per user a job was dispatched or sent to the workshop to, and the answer.",
    )

    jobs_id: Mapped[uuid.UUID] = reference("jobs", required=True)
    user_id: Mapped[uuid.UUID] = reference("user", required=True, doc="The assigned technician.")
    is_workshop: Mapped[bool] = flag(doc="A workshop assignment (accepted, never rejected).")
    is_accepted: Mapped[bool] = flag()
    is_rejected: Mapped[bool] = flag()
    reject_reason: Mapped[str] = string(4000)
    date_dispatched: Mapped[datetime] = timestamp(default_now=True)
    date_proceeded: Mapped[datetime] = timestamp(doc="When the assignment was accepted or rejected.")
    is_active: Mapped[bool] = flag(default=True, doc="False once a later dispatch or a reopening replaced it.")


class JobStatusHistory(Entity):
    __tablename__ = "job_status_history"
    odata = EntityOptions(
        read_only=True,
        deletion=Deletion.FORBIDDEN,
        deletion_hint="The status history is a record of what happened.",
        description="Every status change of every job: who, when, from, to.",
    )

    jobs_id: Mapped[uuid.UUID] = reference("jobs", required=True)
    from_job_status_id: Mapped[uuid.UUID] = reference("job_status", doc="Empty for a job's first status.")
    to_job_status_id: Mapped[uuid.UUID] = reference("job_status", required=True)
    user_id: Mapped[uuid.UUID] = reference("user", doc="The technician who made the change; empty for API users.")
    username: Mapped[str] = string(255, doc="The login that made the change.")
    date_change: Mapped[datetime] = timestamp(default_now=True)
    reason: Mapped[str] = string(4000, doc="The reject reason, or what the action was.")
