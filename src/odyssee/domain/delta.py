"""Reading a change feed page: rows changed after a stamp, and removals, in stamp order.

Used by OData change tracking (``Prefer: odata.track-changes``, ``$deltatoken``). Because
stamps are unique and commit-ordered per tenant and table (domain/changes.py), "everything
after the last stamp I saw" is exact: no row is skipped, none is repeated.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.domain import reads
from odyssee.domain.actor import Actor
from odyssee.domain.changes import DELETED
from odyssee.model.registry import EntitySpec
from odyssee.model.system import ChangeEvent
from odyssee.odata.options import OrderBy, QueryOptions

Row = dict[str, Any]


@dataclass(frozen=True)
class Entry:
    stamp: datetime
    row: Row | None
    """The entity as it is now; None for a removal."""
    removed_id: uuid.UUID | str | None = None


@dataclass(frozen=True)
class DeltaPage:
    entries: list[Entry]
    has_more: bool


def _stamp_order(spec: EntitySpec) -> OrderBy:
    field = spec.field("modified_dateutc")
    assert field is not None
    return OrderBy(field, spec.table.c.modified_dateutc, "modified_dateutc")


def changes_after(
    session: Session,
    actor: Actor,
    spec: EntitySpec,
    options: QueryOptions,
    since: datetime,
    *,
    initial: bool,
    limit: int,
) -> DeltaPage:
    """At most ``limit`` entries with a stamp after ``since``, oldest first.

    ``initial``: the first full read — live rows only. Otherwise logically deleted rows and the
    tombstones of hard-deleted ones come back as removals.
    """
    table = spec.table
    where: sa.ColumnElement[bool] = table.c.modified_dateutc > since
    if initial and "sys_logical_delete" in table.c:
        where = sa.and_(where, ~table.c.sys_logical_delete)
    options = replace(options, where=where, order_by=(_stamp_order(spec),), top=None, skip=0, after=None)
    page = reads.list_entities(session, actor, spec, options, limit=limit)
    deleted = _logically_deleted(session, actor, spec, page.rows)
    entries = [
        Entry(row["_k0"], None, row["id"]) if row["id"] in deleted else Entry(row["_k0"], row) for row in page.rows
    ]
    tombstones_more = False
    if not initial:
        tombstones = _tombstones(session, actor, spec, since, limit + 1)
        tombstones_more = len(tombstones) > limit
        entries += [Entry(stamp, None, entity_id) for stamp, entity_id in tombstones[:limit]]
        entries.sort(key=lambda entry: entry.stamp)
    return DeltaPage(entries[:limit], page.has_more or tombstones_more or len(entries) > limit)


def _logically_deleted(session: Session, actor: Actor, spec: EntitySpec, rows: list[Row]) -> set[str]:
    """The ids among ``rows`` (text, as domain/reads.py gives them) whose ``sys_logical_delete`` is
    set (asked apart: ``$select`` may omit it)."""
    table = spec.table
    if "sys_logical_delete" not in table.c or not rows:
        return set()
    statement = sa.select(table.c.id).where(
        table.c.tenant_id == actor.tenant_id,
        table.c.id.in_([uuid.UUID(row["id"]) for row in rows]),
        table.c.sys_logical_delete,
    )
    return {str(key) for key in session.execute(statement).scalars()}


def _tombstones(
    session: Session, actor: Actor, spec: EntitySpec, since: datetime, limit: int
) -> list[tuple[datetime, uuid.UUID]]:
    """Hard deletes after ``since``: ``deleted`` events whose row is gone (logical deletes keep theirs)."""
    table = spec.table
    gone = ~sa.exists().where(table.c.tenant_id == ChangeEvent.tenant_id, table.c.id == ChangeEvent.entity_id)
    statement = (
        sa.select(ChangeEvent.stamp, ChangeEvent.entity_id)
        .where(
            ChangeEvent.tenant_id == actor.tenant_id,
            ChangeEvent.table_name == spec.table_name,
            ChangeEvent.event == DELETED,
            ChangeEvent.stamp > since,
            gone,
        )
        .order_by(ChangeEvent.stamp)
        .limit(limit)
    )
    return [(stamp, entity_id) for stamp, entity_id in session.execute(statement)]
