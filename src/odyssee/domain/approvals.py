"""A job approval is the signed end of a visit (reference.md §3.10). Creating one, in the same
transaction: stamps ``date_generated``, moves the job through the workflow to the approval's
status (a daily approval leaves the job where it is), and freezes the job's unsigned usage
lines — they get the approval's id and ``signed_by_company`` and can no longer change — and
queues the approval PDF (rendered by ``odyssee worker``, see docs/worker.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from odyssee.domain import workflow
from odyssee.domain.actor import Actor
from odyssee.domain.changes import update_rows
from odyssee.domain.outbox import enqueue_approval_pdf
from odyssee.model.conventions import EMPTY_GUID, utcnow
from odyssee.model.errors import Conflict, ErrorDetail, InvalidInput
from odyssee.model.registry import registry

FINAL = ("COMPLETED", "WAITING_FURTHER_ACTIONS", "WORKSHOP_COMPLETED", "WORKSHOP_WAITING_FURTHER_ACTION")
"""The statuses a (full) approval may move its job to."""
_WORKSHOP = ("WORKSHOP_IN_QUEUE", "IN_PROGRESS_W", "WORKSHOP_WAITING_FURTHER_ACTION")
LINES = ("job_part_usage", "job_non_part_usage")


def on_create(session: Session, actor: Actor, row: dict[str, Any]) -> None:
    row["date_generated"] = utcnow()
    if row["is_daily_approval"]:
        return
    job = workflow.lock_job(session, actor, row["jobs_id"])
    if row["job_status_id"] == EMPTY_GUID:
        current = workflow.status_code(session, actor, job["job_status_id"])
        row["job_status_id"] = workflow.STATUS_ID["WORKSHOP_COMPLETED" if current in _WORKSHOP else "COMPLETED"]
    target = workflow.status_code(session, actor, row["job_status_id"])
    if target not in FINAL:
        names = ", ".join(workflow.STATUS_NAME[code] for code in FINAL)
        raise InvalidInput(
            f"An approval moves its job to one of {names} (or a virtual status under Completed), "
            f"not {workflow.STATUS_NAME[target]}.",
            code="ValidationFailed",
            target="job_status_id",
            details=[ErrorDetail("InvalidStatus", f"job_status_id must be one of {names}", "job_status_id")],
        )


def after_create(session: Session, actor: Actor, row: dict[str, Any]) -> None:
    if not row["is_daily_approval"]:
        target = workflow.status_code(session, actor, row["job_status_id"])
        workflow.move(session, actor, row["jobs_id"], target, target_id=row["job_status_id"])
    _freeze_lines(session, actor, row)
    # In the same transaction: the PDF task exists if and only if the approval does.
    enqueue_approval_pdf(session, actor, row["id"])


def _freeze_lines(session: Session, actor: Actor, approval: dict[str, Any]) -> None:
    for name in LINES:
        table = registry().by_table(name).table
        unsigned = [
            table.c.jobs_id == approval["jobs_id"],
            table.c.job_approval_id == EMPTY_GUID,
            ~table.c.signed_by_company,
            ~table.c.sys_logical_delete,
        ]
        update_rows(
            session, actor.tenant_id, table, unsigned, {"job_approval_id": approval["id"], "signed_by_company": True}
        )


def refuse_signed(_session: Session, _actor: Actor, current: dict[str, Any], *_: Any) -> None:
    """A line included in a signed approval is part of that document: it no longer changes."""
    if current.get("signed_by_company"):
        raise Conflict(
            f"This line is part of the signed approval {current['job_approval_id']} and cannot change.",
            code="Signed",
        )
