"""The explicit workflow actions of a job, as the API names them (reference.md §2.1, §3.9):
``Jobs(<id>)/Dispatch``, ``/Accept``, ``/Reject``, ``/Workshop`` and ``Jobs/ChangeToVirtualStatus``.
Each reads its small JSON body and calls the workflow engine."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.domain import workflow
from odyssee.domain.actor import Actor
from odyssee.model.errors import ErrorDetail, InvalidInput, UnknownReference
from odyssee.model.registry import registry
from odyssee.model.values import parse_guid


def _body(payload: Any, allowed: set[str]) -> dict[str, Any]:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise InvalidInput("The action body must be a JSON object.", code="InvalidBody")
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise InvalidInput(
            f"Unknown properties {', '.join(unknown)}; this action takes {', '.join(sorted(allowed)) or 'none'}.",
            code="ValidationFailed",
            details=[ErrorDetail("UnknownProperty", f"'{name}' is not accepted here", name) for name in unknown],
        )
    return payload


def _guid(name: str, value: Any) -> uuid.UUID:
    try:
        return parse_guid(value) if isinstance(value, str) else parse_guid("")
    except ValueError:
        raise InvalidInput(f"{name} must be a GUID, got {value!r}.", code="ValidationFailed", target=name) from None


def _users(payload: dict[str, Any]) -> list[uuid.UUID]:
    raw = payload.get("user_ids", [payload["user_id"]] if "user_id" in payload else [])
    if not isinstance(raw, list):
        raise InvalidInput("user_ids must be a list of user GUIDs.", code="ValidationFailed", target="user_ids")
    return [_guid("user_ids", value) for value in raw]


def dispatch(session: Session, actor: Actor, job_id: uuid.UUID, payload: Any) -> None:
    workflow.assign(session, actor, job_id, _users(_body(payload, {"user_ids", "user_id"})), workshop=False)


def workshop(session: Session, actor: Actor, job_id: uuid.UUID, payload: Any) -> None:
    workflow.assign(session, actor, job_id, _users(_body(payload, {"user_ids", "user_id"})), workshop=True)


def accept(session: Session, actor: Actor, job_id: uuid.UUID, payload: Any) -> None:
    _body(payload, set())
    workflow.accept(session, actor, job_id)


def reject(session: Session, actor: Actor, job_id: uuid.UUID, payload: Any) -> None:
    reason = _body(payload, {"reason"}).get("reason", "")
    if not isinstance(reason, str):
        raise InvalidInput("reason must be a string.", code="ValidationFailed", target="reason")
    workflow.reject(session, actor, job_id, reason)


def change_to_virtual_status(session: Session, actor: Actor, payload: Any) -> uuid.UUID:
    """``{"jobs_id": …, "target_job_status_id": …}`` or ``{"jobs_id": …, "target_job_status_code": "ERP_IMP"}``."""
    body = _body(payload, {"jobs_id", "target_job_status_id", "target_job_status_code"})
    job_id = _guid("jobs_id", body.get("jobs_id"))
    if "target_job_status_id" in body:
        status_id = _guid("target_job_status_id", body["target_job_status_id"])
    elif isinstance(body.get("target_job_status_code"), str):
        table = registry().by_table("job_status").table
        found = session.execute(
            sa.select(table.c.id).where(
                table.c.tenant_id == actor.tenant_id, table.c.code == body["target_job_status_code"]
            )
        ).scalar()
        if found is None:
            raise UnknownReference(
                f"There is no job status with code '{body['target_job_status_code']}'.",
                code="UnknownReference",
                target="target_job_status_code",
            )
        status_id = found
    else:
        raise InvalidInput("Give target_job_status_id or target_job_status_code.", code="ValidationFailed")
    workflow.to_virtual_status(session, actor, job_id, status_id)
    return job_id


ENTITY_ACTIONS: dict[str, Callable[[Session, Actor, uuid.UUID, Any], None]] = {
    "dispatch": dispatch,
    "accept": accept,
    "reject": reject,
    "workshop": workshop,
}
"""``POST Jobs(<id>)/<Action>``, by lower-case action name."""
