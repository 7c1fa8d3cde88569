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

from odyssee.domain import changes, reads
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
    removals_since: datetime
    """Where removals were read from (for an initial read: the high-water stamp when it began)."""

    def next_positions(self, since: datetime) -> tuple[datetime, datetime]:
        """``(rows, removals)`` positions the next page or delta continues from."""
        rows = self.entries[-1].stamp if self.entries else since
        return rows, max(rows, self.removals_since)


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
    removals_since: datetime | None,
    limit: int,
) -> DeltaPage:
    """At most ``limit`` entries, oldest first: rows stamped after ``since`` and removals after ``removals_since``.

    ``removals_since`` None starts an initial full read: removals only of what is deleted from
    now on (the committed high-water stamp, read before the rows), so historic deletes are not
    replayed, yet a row sent on the first page and deleted before the last one is reported.
    Logically deleted rows stamped after ``since`` but not after ``removals_since`` were deleted
    before the read began (the client never had them) and are left out.

    Raises Gone (410) when tombstones after ``removals_since`` may have been pruned.
    """
    table = spec.table
    if removals_since is None:
        removals_since = changes.from_ms(changes.committed_high_ms(session, actor.tenant_id, spec.table_name))
    where: sa.ColumnElement[bool] = table.c.modified_dateutc > since
    if "sys_logical_delete" in table.c and removals_since > since:
        where = sa.and_(where, sa.or_(~table.c.sys_logical_delete, table.c.modified_dateutc > removals_since))
    options = replace(options, clause=where, order_by=(_stamp_order(spec),), top=None, skip=0, after=None)
    page = reads.list_entities(session, actor, spec, options, limit=limit)
    deleted = _logically_deleted(session, actor, spec, page.rows)
    entries = [
        Entry(row["_k0"], None, row["id"]) if row["id"] in deleted else Entry(row["_k0"], row) for row in page.rows
    ]
    tombstones = _tombstones(session, actor, spec, removals_since, limit + 1)
    changes.check_tombstones_kept(session, actor.tenant_id, spec.table_name, changes.to_ms(removals_since), spec.name)
    entries += [Entry(stamp, None, entity_id) for stamp, entity_id in tombstones[:limit]]
    entries.sort(key=lambda entry: entry.stamp)
    return DeltaPage(entries[:limit], page.has_more or len(tombstones) > limit or len(entries) > limit, removals_since)


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
