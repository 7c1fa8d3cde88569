"""Foreign keys without SQL constraints: checked, defaulted and protected inside the transaction.

The spec's "no reference" value is the empty GUID, which no SQL foreign key can express, so the
rules live here. On PostgreSQL the referenced rows are read ``FOR SHARE`` so that a concurrent
DELETE waits for this transaction (and then sees the new reference); deletes lock their row
``FOR UPDATE`` before looking for references. SQLite serialises writers, which gives the same.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.domain.actor import Actor
from odyssee.domain.validation import is_empty
from odyssee.model.conventions import EMPTY_GUID
from odyssee.model.errors import ErrorDetail, UnknownReference
from odyssee.model.registry import EntitySpec, Field, registry


def live_rows(spec: EntitySpec, tenant_id: int) -> list[sa.ColumnElement[bool]]:
    """Rows a reference may point to: this tenant's, not logically deleted."""
    conditions = [spec.table.c.tenant_id == tenant_id]
    if "sys_logical_delete" in spec.table.c:
        conditions.append(spec.table.c.sys_logical_delete.is_(False))
    return conditions


def apply_reference_defaults(session: Session, actor: Actor, spec: EntitySpec, values: dict[str, Any]) -> None:
    """Fill an omitted required reference with the target's ``is_default`` row, as Odyssee does."""
    for field in spec.references:
        if not field.required or not is_empty(field, values.get(field.name, field.default)):
            continue
        target = registry().by_table(field.references or "")
        if "is_default" not in target.table.c:
            continue
        default_id = session.execute(
            sa.select(target.table.c.id)
            .where(*live_rows(target, actor.tenant_id), target.table.c.is_default.is_(True))
            .order_by(target.table.c.id)
            .limit(1)
        ).scalar()
        if default_id is not None:
            values[field.name] = default_id


def check_references(
    session: Session,
    actor: Actor,
    spec: EntitySpec,
    values: dict[str, Any],
    *,
    self_id: uuid.UUID,
) -> None:
    """Every non-empty foreign key must name a live row of the caller's tenant (else 422)."""
    wanted: dict[str, list[tuple[Field, uuid.UUID]]] = defaultdict(list)
    for field in spec.references:
        value = values.get(field.name, EMPTY_GUID)
        if value != EMPTY_GUID and not (field.references == spec.table_name and value == self_id):
            wanted[field.references or ""].append((field, value))
    details: list[ErrorDetail] = []
    for table_name, pairs in wanted.items():
        target = registry().by_table(table_name)
        ids = {value for _, value in pairs}
        found = set(
            session.execute(
                sa.select(target.table.c.id)
                .where(*live_rows(target, actor.tenant_id), target.table.c.id.in_(ids))
                .with_for_update(read=True)
            ).scalars()
        )
        details.extend(
            ErrorDetail(
                "UnknownReference",
                f"{field.name}: there is no {target.name} with id {value}",
                field.name,
            )
            for field, value in pairs
            if value not in found
        )
    if details:
        raise UnknownReference(
            "; ".join(detail.message for detail in details) + ".",
            code="UnknownReference",
            details=details,
        )


def referencing_counts(session: Session, actor: Actor, spec: EntitySpec, key: uuid.UUID) -> list[tuple[str, int]]:
    """Which entities still point at row ``key``, and how many rows of each."""
    found: list[tuple[str, int]] = []
    for other, field in registry().referencing(spec):
        if other is spec and field.name == "id":
            continue
        statement = sa.select(sa.func.count()).where(other.table.c.tenant_id == actor.tenant_id, field.column == key)
        if other is spec:
            statement = statement.where(other.table.c.id != key)
        count = session.execute(statement).scalar_one()
        if count:
            found.append((f"{other.name}.{field.name}", count))
    return found
