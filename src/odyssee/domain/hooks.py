"""Entity-specific rules around writes, keyed by table name.

The generic controller calls :func:`before_write` for every create and replace, and the
create/update hooks around them; an entity with a rule here gets it, others pass through.
Keep each rule small and explain why it exists. The job workflow lives in domain/workflow.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.domain import approvals, webhooks, workflow
from odyssee.domain.actor import Actor
from odyssee.model.conventions import EMPTY_GUID
from odyssee.model.errors import ErrorDetail, InvalidInput, NotAllowed
from odyssee.model.registry import EntitySpec, registry

Rule = Callable[[Session, Actor, dict[str, Any]], None]
UpdateRule = Callable[[Session, Actor, dict[str, Any], dict[str, Any]], None]


def _file_size(_session: Session, _actor: Actor, row: dict[str, Any]) -> None:
    """``db_file.file_size`` is read-only: it is always the size of the stored bytes.

    A PATCH without ``file_content`` keeps the bytes, and so the size.
    """
    if "file_content" in row:
        row["file_size"] = len(row["file_content"])


def _job_company(session: Session, actor: Actor, row: dict[str, Any]) -> None:
    """A job without a company belongs to its installation's company, as a dispatcher expects."""
    if row.get("company_id", EMPTY_GUID) != EMPTY_GUID or row.get("project_id", EMPTY_GUID) == EMPTY_GUID:
        return
    project = registry().by_table("project").table
    company = session.execute(
        sa.select(project.c.company_id).where(project.c.tenant_id == actor.tenant_id, project.c.id == row["project_id"])
    ).scalar()
    if company is not None:
        row["company_id"] = company


RULES: dict[str, tuple[Rule, ...]] = {
    "db_file": (_file_size,),
    "jobs": (_job_company,),
}


def before_write(session: Session, actor: Actor, spec: EntitySpec, row: dict[str, Any]) -> None:
    for rule in RULES.get(spec.table_name, ()):
        rule(session, actor, row)


def _system_status(_session: Session, _actor: Actor, current: dict[str, Any], _row: dict[str, Any]) -> None:
    """The 17 system statuses are the workflow itself: their GUIDs and meaning never change."""
    if current["id"] in workflow.STATUS_CODE:
        raise NotAllowed("The system job statuses cannot be changed; add a virtual status instead.",
                         code="ReadOnlyEntity")  # fmt: skip


def _virtual_status(_session: Session, _actor: Actor, row: dict[str, Any]) -> None:
    """A tenant's own status is a virtual status under Completed (reference.md §3.9)."""
    if row.get("parent_id") != workflow.STATUS_ID["COMPLETED"]:
        raise InvalidInput(
            "A new job status is a virtual status: its parent_id must be Completed "
            f"({workflow.STATUS_ID['COMPLETED']}).",
            code="ValidationFailed",
            target="parent_id",
            details=[ErrorDetail("NotVirtual", "parent_id must be Completed", "parent_id")],
        )


CREATE_RULES: dict[str, tuple[Rule, ...]] = {
    "jobs": (lambda s, a, row: workflow.on_create(s, a, row),),
    "job_status": (_virtual_status,),
    "job_approval": (approvals.on_create,),
    "webhook_subscription": (webhooks.check_subscription,),
}
AFTER_CREATE: dict[str, tuple[Rule, ...]] = {
    "jobs": (workflow.after_create,),
    "job_approval": (approvals.after_create,),
    "webhook_subscription": (webhooks.start_cursors,),
}
UPDATE_RULES: dict[str, tuple[UpdateRule, ...]] = {
    "jobs": (workflow.on_update,),
    "job_status": (_system_status, lambda s, a, current, row: _virtual_status(s, a, row)),
    "job_part_usage": (approvals.refuse_signed,),
    "job_non_part_usage": (approvals.refuse_signed,),
    "webhook_subscription": (webhooks.on_update,),
}
AFTER_UPDATE: dict[str, tuple[UpdateRule, ...]] = {
    "jobs": (workflow.after_update,),
    "webhook_subscription": (lambda s, a, current, row: webhooks.start_cursors(s, a, current | row),),
}


def before_delete(session: Session, actor: Actor, spec: EntitySpec, current: dict[str, Any]) -> None:
    """A technician may delete only a job assigned to them, like any other write."""
    if spec.table_name == "jobs":
        workflow.check_access(session, actor, current)
    if spec.table_name in approvals.LINES:
        approvals.refuse_signed(session, actor, current)
    if spec.table_name == "webhook_subscription":
        webhooks.before_delete(session, actor, current)


def before_create(session: Session, actor: Actor, spec: EntitySpec, row: dict[str, Any]) -> None:
    for rule in CREATE_RULES.get(spec.table_name, ()):
        rule(session, actor, row)


def after_create(session: Session, actor: Actor, spec: EntitySpec, row: dict[str, Any]) -> None:
    for rule in AFTER_CREATE.get(spec.table_name, ()):
        rule(session, actor, row)


def before_update(
    session: Session, actor: Actor, spec: EntitySpec, current: dict[str, Any], row: dict[str, Any]
) -> None:
    for rule in UPDATE_RULES.get(spec.table_name, ()):
        rule(session, actor, current, row)


def after_update(
    session: Session, actor: Actor, spec: EntitySpec, current: dict[str, Any], row: dict[str, Any]
) -> None:
    for rule in AFTER_UPDATE.get(spec.table_name, ()):
        rule(session, actor, current, row)
