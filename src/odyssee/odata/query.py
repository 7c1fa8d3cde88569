"""SQL for reading an entity set: one tenant, the client's options, a stable order."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from odyssee.model.registry import EntitySpec, Field
from odyssee.odata.options import QueryOptions


def tenant_rows(spec: EntitySpec, tenant_id: int) -> sa.ColumnElement[bool]:
    return spec.table.c.tenant_id == tenant_id


def output_fields(spec: EntitySpec, options: QueryOptions) -> tuple[Field, ...]:
    return options.select if options.select is not None else spec.fields


def page_select(spec: EntitySpec, tenant_id: int, options: QueryOptions, *, offset: int, limit: int) -> sa.Select[Any]:
    """One page of rows. ``id`` ends every ORDER BY so that paging is deterministic."""
    table = spec.table
    statement = sa.select(*(f.column for f in output_fields(spec, options))).where(tenant_rows(spec, tenant_id))
    if options.where is not None:
        statement = statement.where(options.where)
    order = [item.field.column.desc() if item.descending else item.field.column.asc() for item in options.order_by]
    if not any(item.field.is_key for item in options.order_by):
        order.append(table.c.id.asc())
    return statement.order_by(*order).offset(offset).limit(limit)


def count_select(spec: EntitySpec, tenant_id: int, options: QueryOptions) -> sa.Select[Any]:
    statement = sa.select(sa.func.count()).select_from(spec.table).where(tenant_rows(spec, tenant_id))
    if options.where is not None:
        statement = statement.where(options.where)
    return statement


def entity_select(
    spec: EntitySpec,
    tenant_id: int,
    key: uuid.UUID,
    fields: tuple[Field, ...] | None = None,
) -> sa.Select[Any]:
    columns = fields if fields is not None else spec.fields
    return sa.select(*(f.column for f in columns)).where(tenant_rows(spec, tenant_id), spec.table.c.id == key)
