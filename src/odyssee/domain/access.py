"""What a technician may see. API users see their whole tenant; a technician (a non-API login)
sees only the jobs assigned to them — as their own technician, or by an active dispatch or
workshop assignment — and gets 403 for any other job, and for the integration settings (webhooks)."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from odyssee.domain.actor import Actor
from odyssee.model.errors import Forbidden
from odyssee.model.registry import EntitySpec, registry
from odyssee.odata.options import QueryOptions

API_ONLY = frozenset({"webhook_subscription", "webhook_delivery"})
"""Integration settings: where the tenant's data is sent. Technicians have no business there."""


def check_entity(spec: EntitySpec, actor: Actor) -> None:
    if spec.table_name in API_ONLY and not actor.is_api:
        raise Forbidden(f"{spec.name} is for API users only.", code="ApiUsersOnly")


def row_filter(spec: EntitySpec, actor: Actor) -> sa.ColumnElement[bool] | None:
    """The rows of ``spec`` the actor may see, or None for all of them."""
    if actor.is_api or spec.table_name != "jobs":
        return None
    jobs = spec.table
    log = registry().by_table("job_dispatch_log").table
    dispatched = sa.exists().where(
        log.c.tenant_id == jobs.c.tenant_id,
        log.c.jobs_id == jobs.c.id,
        log.c.user_id == actor.user_id,
        log.c.is_active,
    )
    return sa.or_(jobs.c.user_id == actor.user_id, dispatched)


def restricted(spec: EntitySpec, actor: Actor, options: QueryOptions) -> QueryOptions:
    """``options`` narrowed to what the actor may see."""
    visible = row_filter(spec, actor)
    if visible is None:
        return options
    return replace(options, clause=visible if options.where is None else sa.and_(options.where, visible))
