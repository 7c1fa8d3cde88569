"""The job-status workflow (seeds/job-status-workflow.txt, reference.md §3.9): a table and one engine.

``TRANSITIONS`` is the whole workflow: status code → the codes a job may move to next. Every way
of changing a job's status — PUT/PATCH of ``job_status_id``, the Dispatch/Accept/Reject/Workshop
actions, ChangeToVirtualStatus — goes through :func:`move`, which checks the table and the
guards against the job row locked by the caller, writes the change, and records it in
``job_status_history``. docs/workflow.md (with its diagram) is generated from the same table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.domain.actor import Actor
from odyssee.domain.changes import CREATED, UPDATED, stamp, stamps, update_rows
from odyssee.model.conventions import EMPTY_GUID, utcnow
from odyssee.model.entities.jobs import SYSTEM_JOB_STATUSES
from odyssee.model.errors import Conflict, ErrorDetail, Forbidden, InvalidInput, NotFound, UnknownReference
from odyssee.model.registry import new_id, registry

STATUS_ID: dict[str, uuid.UUID] = {status.code: status.id for status in SYSTEM_JOB_STATUSES}
STATUS_CODE: dict[uuid.UUID, str] = {status.id: status.code for status in SYSTEM_JOB_STATUSES}
STATUS_NAME: dict[str, str] = {status.code: status.name for status in SYSTEM_JOB_STATUSES}

_REOPEN = ("OPEN", "TO_BE_PLANNED", "POOLING", "SUGGESTED", "DISPATCHED")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    # The seed, sentence by sentence; choices where it is silent are marked (docs/workflow.md).
    "OPEN": ("TO_BE_PLANNED", "POOLING", "SUGGESTED", "DISPATCHED", "WORKSHOP", "WAITING", "CANCELED"),
    "TO_BE_PLANNED": ("PLANNED", "CANCELED"),
    "POOLING": ("PLANNED", "CANCELED"),
    "SUGGESTED": ("PLANNED", "CANCELED"),
    "DISPATCHED": ("PLANNED", "DISPATCH_REJECTED"),
    "PLANNED": ("CANCELED", *_REOPEN, "IN_PROGRESS"),
    "DISPATCH_REJECTED": ("CANCELED", *_REOPEN),
    "IN_PROGRESS": ("WAITING_FURTHER_ACTIONS", "COMPLETED"),
    "WAITING_FURTHER_ACTIONS": ("IN_PROGRESS", "PLANNED", "COMPLETED", "CANCELED"),
    "WAITING": ("OPEN", "CANCELED"),
    "WORKSHOP": ("WORKSHOP_IN_QUEUE", "OPEN", "CANCELED"),
    "WORKSHOP_IN_QUEUE": ("IN_PROGRESS_W",),
    "IN_PROGRESS_W": ("WORKSHOP_WAITING_FURTHER_ACTION", "WORKSHOP_COMPLETED"),
    "WORKSHOP_WAITING_FURTHER_ACTION": ("IN_PROGRESS_W", "WORKSHOP_COMPLETED"),
    "COMPLETED": (),
    "CANCELED": (),
    "WORKSHOP_COMPLETED": (),
}
"""Status code → the statuses a job may move to. Change the workflow here, and only here."""

CHOICES: dict[tuple[str, str], str] = {
    ("OPEN", "WAITING"): "the seed never says how a job enters Waiting: putting an open job on hold",
    ("WAITING", "OPEN"): "releasing a job on hold",
    ("WAITING", "CANCELED"): "cancelling a job on hold",
    ("OPEN", "CANCELED"): "cancelling a job before it was planned",
    ("TO_BE_PLANNED", "CANCELED"): "cancelling a job before it was planned",
    ("POOLING", "CANCELED"): "cancelling a job before it was planned",
    ("SUGGESTED", "CANCELED"): "cancelling a job before it was planned",
    ("WAITING_FURTHER_ACTIONS", "IN_PROGRESS"): "work resumes",
    ("WAITING_FURTHER_ACTIONS", "PLANNED"): "a new visit is planned",
    ("WAITING_FURTHER_ACTIONS", "COMPLETED"): "the further action was done without a visit",
    ("WAITING_FURTHER_ACTIONS", "CANCELED"): "the customer no longer wants it",
    ("WORKSHOP", "OPEN"): "taking a job back from the workshop before anyone accepted it",
    ("WORKSHOP", "CANCELED"): "cancelling a workshop job before anyone accepted it",
    ("WORKSHOP_WAITING_FURTHER_ACTION", "IN_PROGRESS_W"): "the material arrived; work resumes",
    ("WORKSHOP_WAITING_FURTHER_ACTION", "WORKSHOP_COMPLETED"): "finished without further work",
}
"""Transitions the seed does not state, with the reason a dispatcher expects them."""

INITIAL = ("OPEN", *TRANSITIONS["OPEN"])
"""A new job starts in Open, or directly in one of Open's successors (guards apply)."""

ACCEPT = {"DISPATCHED": "PLANNED", "WORKSHOP": "WORKSHOP_IN_QUEUE"}
REJECT = {"DISPATCHED": "DISPATCH_REJECTED"}


def path_to(target: str, start: str = "OPEN") -> list[str]:
    """A shortest chain of moves from ``start`` to ``target`` that needs no assignment (for
    importing a job into a later status, and for the demo): breadth-first over the table."""
    guarded = {"DISPATCHED", "WORKSHOP", "DISPATCH_REJECTED"}
    paths: dict[str, list[str]] = {start: []}
    queue = [start]
    while queue:
        code = queue.pop(0)
        for following in TRANSITIONS[code]:
            if following not in paths and (following not in guarded or following == target):
                paths[following] = [*paths[code], following]
                queue.append(following)
    if target not in paths:
        raise ValueError(f"{target} cannot be reached from {start}")
    return paths[target]


def _table(name: str) -> sa.Table:
    return registry().by_table(name).table


def status_code(session: Session, actor: Actor, status_id: uuid.UUID) -> str:
    """The workflow code of a status; a virtual status counts as its parent (Completed)."""
    if status_id in STATUS_CODE:
        return STATUS_CODE[status_id]
    table = _table("job_status")
    parent = session.execute(
        sa.select(table.c.parent_id).where(table.c.tenant_id == actor.tenant_id, table.c.id == status_id)
    ).scalar()
    if parent is None:
        raise UnknownReference(f"There is no job status {status_id}.", code="UnknownReference", target="job_status_id")
    return STATUS_CODE.get(parent, "COMPLETED")


def _refused(current: str, target: str) -> Conflict:
    allowed = TRANSITIONS[current]
    names = ", ".join(STATUS_NAME[code] for code in allowed) or "none: it is final"
    return Conflict(
        f"A job cannot go from {STATUS_NAME[current]} to {STATUS_NAME[target]}. Allowed next statuses: {names}.",
        code="TransitionNotAllowed",
        target="job_status_id",
        details=[ErrorDetail("AllowedStatus", STATUS_NAME[code], str(STATUS_ID[code])) for code in allowed],
    )


def _refused_action(current: str, message: str) -> Conflict:
    refused = _refused(current, current)
    return Conflict(
        f"{message}; this one is {STATUS_NAME[current]}. " + refused.message.split(". ", 1)[1],
        code=refused.code,
        target=refused.target,
        details=refused.details,
    )


def active_assignees(session: Session, actor: Actor, job_id: uuid.UUID) -> list[uuid.UUID]:
    log = _table("job_dispatch_log")
    return list(
        session.execute(
            sa.select(log.c.user_id)
            .where(log.c.tenant_id == actor.tenant_id, log.c.jobs_id == job_id, log.c.is_active)
            .order_by(log.c.date_dispatched, log.c.id)
        ).scalars()
    )


def assignees(session: Session, actor: Actor, job: dict[str, Any]) -> set[uuid.UUID]:
    """Who the job is assigned to: its technician and the users of its active dispatch."""
    found = set(active_assignees(session, actor, job["id"]))
    if job.get("user_id", EMPTY_GUID) != EMPTY_GUID:
        found.add(job["user_id"])
    return found


def may_act(session: Session, actor: Actor, job: dict[str, Any]) -> bool:
    """API users act for anyone; a technician only on the jobs assigned to them."""
    return actor.is_api or actor.user_id in assignees(session, actor, job)


def check_access(session: Session, actor: Actor, job: dict[str, Any]) -> None:
    if not may_act(session, actor, job):
        raise Forbidden("This job is not assigned to you.", code="NotAssigned")


def check(
    session: Session,
    actor: Actor,
    job: dict[str, Any],
    current: str,
    target: str,
    *,
    reason: str = "",
    users: Sequence[uuid.UUID] | None = None,
) -> None:
    """Refuse a move the table or a guard forbids; ``job`` is the row as it will be written.

    ``users``: the assignment a Dispatch/Workshop action makes; otherwise the job's ``user_id``.
    """
    if target not in TRANSITIONS[current]:
        raise _refused(current, target)
    if users is None:
        users = [job["user_id"]] if job.get("user_id", EMPTY_GUID) != EMPTY_GUID else []
    if target == "DISPATCHED" and len(users) != 1:
        raise InvalidInput(
            f"A dispatched job needs exactly one assigned user; it has {len(users)}. Use Jobs(<id>)/Dispatch.",
            code="DispatchNeedsOneUser",
            target="user_id",
        )
    if target == "WORKSHOP" and not users:
        raise InvalidInput(
            "A workshop job needs at least one assigned user. Use Jobs(<id>)/Workshop.",
            code="WorkshopNeedsUsers",
            target="user_id",
        )
    if target == "DISPATCH_REJECTED" and not reason.strip():
        raise InvalidInput(
            'Rejecting a dispatched job needs a reason: use POST Jobs(<id>)/Reject with {"reason": …}.',
            code="ReasonRequired",
            target="reason",
        )
    if current in ACCEPT and target in (ACCEPT[current], REJECT.get(current)) and not may_act(session, actor, job):
        raise Forbidden("Only a user the job is assigned to may accept or reject it.", code="NotAssigned")


def record(
    session: Session,
    actor: Actor,
    job_id: uuid.UUID,
    from_id: uuid.UUID,
    to_id: uuid.UUID,
    reason: str = "",
) -> None:
    """One ``job_status_history`` row for a change (``from_id`` empty for a new job)."""
    now = utcnow()
    history_id = new_id()
    session.execute(
        sa.insert(_table("job_status_history")).values(
            tenant_id=actor.tenant_id,
            id=history_id,
            jobs_id=job_id,
            from_job_status_id=from_id,
            to_job_status_id=to_id,
            user_id=actor.user_id or EMPTY_GUID,
            username=actor.username,
            date_change=now,
            reason=reason,
            modified_dateutc=stamp(session, actor.tenant_id, "job_status_history", history_id, CREATED),
            row_version=1,
        )
    )


def _proceed(session: Session, actor: Actor, job_id: uuid.UUID, *, accepted: bool, reason: str = "") -> None:
    """Mark the job's open assignments accepted or rejected."""
    log = _table("job_dispatch_log")
    update_rows(
        session,
        actor.tenant_id,
        log,
        [log.c.jobs_id == job_id, log.c.is_active, ~log.c.is_accepted, ~log.c.is_rejected],
        {
            "is_accepted": accepted,
            "is_rejected": not accepted,
            "reject_reason": reason,
            "date_proceeded": utcnow(),
            "is_active": accepted,
        },
    )


def after_change(
    session: Session,
    actor: Actor,
    job_id: uuid.UUID,
    current: str,
    target: str,
    from_id: uuid.UUID,
    to_id: uuid.UUID,
    users: Sequence[uuid.UUID] = (),
) -> None:
    """What follows a change the table allowed: the dispatch log and the history.

    Leaving for a fresh start (reopen, dispatch, workshop, cancel) retires earlier assignments;
    a dispatch or workshop move then logs one assignment per user.
    """
    if current in ACCEPT and target == ACCEPT[current]:
        _proceed(session, actor, job_id, accepted=True)
    elif target in (*_REOPEN, "WORKSHOP", "CANCELED"):
        _retire(session, actor, job_id)
    if target in ("DISPATCHED", "WORKSHOP"):
        _log_assignments(session, actor, job_id, users, workshop=target == "WORKSHOP")
    record(session, actor, job_id, from_id, to_id)


def _log_assignments(
    session: Session, actor: Actor, job_id: uuid.UUID, users: Sequence[uuid.UUID], *, workshop: bool
) -> None:
    now = utcnow()
    ids = [new_id() for _ in users]
    moments = stamps(session, actor.tenant_id, "job_dispatch_log", ids, CREATED)
    for user, log_id, moment in zip(users, ids, moments, strict=True):
        session.execute(
            sa.insert(_table("job_dispatch_log")).values(
                tenant_id=actor.tenant_id,
                id=log_id,
                jobs_id=job_id,
                user_id=user,
                is_workshop=workshop,
                date_dispatched=now,
                is_active=True,
                modified_dateutc=moment,
                row_version=1,
            )
        )


def _retire(session: Session, actor: Actor, job_id: uuid.UUID) -> None:
    log = _table("job_dispatch_log")
    update_rows(session, actor.tenant_id, log, [log.c.jobs_id == job_id, log.c.is_active], {"is_active": False})


def lock_job(session: Session, actor: Actor, job_id: uuid.UUID) -> dict[str, Any]:
    jobs = _table("jobs")
    row = (
        session.execute(
            sa.select(jobs).where(jobs.c.tenant_id == actor.tenant_id, jobs.c.id == job_id).with_for_update()
        )
        .mappings()
        .first()
    )
    if row is None or row["sys_logical_delete"]:
        raise NotFound(f"There is no Jobs with id {job_id}.", code="NotFound")
    return dict(row)


def next_statuses(session: Session, actor: Actor, job_id: uuid.UUID) -> list[dict[str, str]]:
    """The statuses the job may move to now, each with the request that gets it there
    (``GET Jobs(<id>)/NextStatuses``): integrators and the web console show only the moves that
    will succeed instead of learning the table from 409s. Guards that need input (a dispatch
    user, a reject reason) are named by ``action``, not evaluated."""
    jobs = _table("jobs")
    row = (
        session.execute(sa.select(jobs).where(jobs.c.tenant_id == actor.tenant_id, jobs.c.id == job_id))
        .mappings()
        .first()
    )
    if row is None or row["sys_logical_delete"]:
        raise NotFound(f"There is no Jobs with id {job_id}.", code="NotFound")
    job = dict(row)
    check_access(session, actor, job)
    current = status_code(session, actor, job["job_status_id"])
    answer = []
    for target in TRANSITIONS[current]:
        if target == ACCEPT.get(current):
            action = "Accept"
        elif target == REJECT.get(current):
            action = "Reject"
        elif target in ("DISPATCHED", "WORKSHOP"):
            action = "Dispatch" if target == "DISPATCHED" else "Workshop"
        else:
            action = "PATCH"
        if action in ("Accept", "Reject") and not may_act(session, actor, job):
            continue
        answer.append({"id": str(STATUS_ID[target]), "code": target, "name": STATUS_NAME[target], "action": action})
    return answer


def move(
    session: Session,
    actor: Actor,
    job_id: uuid.UUID,
    target: str,
    *,
    reason: str = "",
    target_id: uuid.UUID | None = None,
    changes: dict[str, Any] | None = None,
    users: Sequence[uuid.UUID] | None = None,
) -> None:
    """Move a job to ``target`` (a code), compare-and-set on its current status.

    The row is locked first, so of two concurrent moves from the same status exactly one wins;
    the UPDATE also requires the status it read, as a second line of defence.
    """
    job = lock_job(session, actor, job_id)
    current = status_code(session, actor, job["job_status_id"])
    check_access(session, actor, job)
    proposed = job | (changes or {})
    check(session, actor, proposed, current, target, reason=reason, users=users)
    to_id = target_id or STATUS_ID[target]
    _set_status(session, actor, job, to_id, changes or {})
    if target in REJECT.values():
        _proceed(session, actor, job_id, accepted=False, reason=reason)
        record(session, actor, job_id, job["job_status_id"], to_id, reason)
        return
    assigned = users if users is not None else [proposed["user_id"]] if proposed["user_id"] != EMPTY_GUID else []
    after_change(session, actor, job_id, current, target, job["job_status_id"], to_id, assigned)


def _set_status(session: Session, actor: Actor, job: dict[str, Any], to_id: uuid.UUID, changes: dict[str, Any]) -> None:
    jobs = _table("jobs")
    result = session.execute(
        sa.update(jobs)
        .where(
            jobs.c.tenant_id == actor.tenant_id,
            jobs.c.id == job["id"],
            jobs.c.job_status_id == job["job_status_id"],
        )
        .values(
            job_status_id=to_id,
            modified_dateutc=stamp(session, actor.tenant_id, "jobs", job["id"], UPDATED),
            row_version=jobs.c.row_version + 1,
            **changes,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("The job's status changed meanwhile; read it again.", code="StatusChanged")


def assign(session: Session, actor: Actor, job_id: uuid.UUID, users: Sequence[uuid.UUID], *, workshop: bool) -> None:
    """Dispatch to one user (→ Dispatched) or send to the workshop with users (→ Workshop)."""
    action = "Workshop" if workshop else "Dispatch"
    if not users or (not workshop and len(users) != 1) or len(set(users)) != len(users):
        need = "one or more distinct user ids" if workshop else "exactly one user id"
        raise InvalidInput(f"{action} needs {need} in user_ids.", code="InvalidBody", target="user_ids")
    user_table = _table("user")
    known = set(
        session.execute(
            sa.select(user_table.c.id).where(user_table.c.tenant_id == actor.tenant_id, user_table.c.id.in_(users))
        ).scalars()
    )
    missing = [str(u) for u in users if u not in known]
    if missing:
        raise UnknownReference(f"No User with id {', '.join(missing)}.", code="UnknownReference", target="user_ids")
    move(session, actor, job_id, "WORKSHOP" if workshop else "DISPATCHED", changes={"user_id": users[0]}, users=users)


def accept(session: Session, actor: Actor, job_id: uuid.UUID) -> None:
    job = lock_job(session, actor, job_id)
    current = status_code(session, actor, job["job_status_id"])
    if current not in ACCEPT:
        raise _refused_action(current, "Only a Dispatched or Workshop job can be accepted")
    move(session, actor, job_id, ACCEPT[current])


def reject(session: Session, actor: Actor, job_id: uuid.UUID, reason: str) -> None:
    job = lock_job(session, actor, job_id)
    current = status_code(session, actor, job["job_status_id"])
    if current not in REJECT:
        hint = " (a workshop job cannot be rejected)" if current == "WORKSHOP" else ""
        raise _refused_action(current, f"Only a Dispatched job can be rejected{hint}")
    move(session, actor, job_id, REJECT[current], reason=reason)


def to_virtual_status(session: Session, actor: Actor, job_id: uuid.UUID, status_id: uuid.UUID) -> None:
    """``PUT Jobs/ChangeToVirtualStatus``: a Completed job (or one in a virtual status) moves to a
    tenant-defined status whose parent is Completed."""
    table = _table("job_status")
    parent = session.execute(
        sa.select(table.c.parent_id).where(table.c.tenant_id == actor.tenant_id, table.c.id == status_id)
    ).scalar()
    if parent is None:  # no such status in this tenant: an unknown reference, like any other foreign key
        raise UnknownReference(f"There is no job status {status_id}.", code="UnknownReference",
                               target="target_job_status_id")  # fmt: skip
    if parent != STATUS_ID["COMPLETED"]:
        raise InvalidInput(f"{status_id} is not a virtual status under Completed.", code="NotVirtual",
                           target="target_job_status_id")  # fmt: skip
    job = lock_job(session, actor, job_id)
    check_access(session, actor, job)
    if status_code(session, actor, job["job_status_id"]) != "COMPLETED":
        raise Conflict("Only a Completed job can move to a virtual status.", code="TransitionNotAllowed")
    _set_status(session, actor, job, status_id, {})
    record(session, actor, job_id, job["job_status_id"], status_id, "ChangeToVirtualStatus")


def on_create(session: Session, actor: Actor, row: dict[str, Any]) -> None:
    """A new job starts in Open or one of Open's successors, guards applied."""
    target = status_code(session, actor, row["job_status_id"])
    if target not in INITIAL:
        names = ", ".join(STATUS_NAME[code] for code in INITIAL)
        raise Conflict(
            f"A new job cannot start in {STATUS_NAME[target]}; it starts in one of: {names}.",
            code="TransitionNotAllowed",
            target="job_status_id",
            details=[ErrorDetail("AllowedStatus", STATUS_NAME[code], str(STATUS_ID[code])) for code in INITIAL],
        )
    if target != "OPEN":
        check(session, actor, row | {"id": row.get("id")}, "OPEN", target)


def after_create(session: Session, actor: Actor, row: dict[str, Any]) -> None:
    target = status_code(session, actor, row["job_status_id"])
    if target in ("DISPATCHED", "WORKSHOP"):
        _log_assignments(session, actor, row["id"], [row["user_id"]], workshop=target == "WORKSHOP")
    record(session, actor, row["id"], EMPTY_GUID, row["job_status_id"])


def on_update(session: Session, actor: Actor, current: dict[str, Any], row: dict[str, Any]) -> None:
    """PUT/PATCH of a job: only an assignee (or an API user) may write it; a status change obeys the table."""
    check_access(session, actor, current)
    if row["job_status_id"] != current["job_status_id"]:
        before = status_code(session, actor, current["job_status_id"])
        check(session, actor, current | row, before, status_code(session, actor, row["job_status_id"]))


def after_update(session: Session, actor: Actor, current: dict[str, Any], row: dict[str, Any]) -> None:
    if row["job_status_id"] != current["job_status_id"]:
        before = status_code(session, actor, current["job_status_id"])
        after = status_code(session, actor, row["job_status_id"])
        users = [row["user_id"]] if row["user_id"] != EMPTY_GUID else []
        after_change(
            session, actor, current["id"], before, after, current["job_status_id"], row["job_status_id"], users
        )
