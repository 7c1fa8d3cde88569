"""SQL for reading an entity set: one tenant, the client's options, a stable order.

Queries return mappings keyed by property name. Besides the selected properties they always
carry ``id`` and ``row_version`` (for ETags and expansion), the foreign keys an ``$expand``
needs, and the order keys ``_k0``, ``_k1``, … of the keyset ``$skiptoken``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from odyssee.model.registry import EntitySpec, Field
from odyssee.odata import paging
from odyssee.odata.options import QueryOptions

ROW_VERSION = "row_version"


def tenant_rows(table: sa.FromClause, tenant_id: int) -> sa.ColumnElement[bool]:
    return table.c.tenant_id == tenant_id


def output_fields(spec: EntitySpec, options: QueryOptions) -> tuple[Field, ...]:
    return options.select if options.select is not None else spec.fields


def order_keys(spec: EntitySpec, options: QueryOptions) -> list[tuple[Any, bool, Field]]:
    """(expression, descending, field) of every ORDER BY term; ``id`` always ends the list."""
    keys = [(item.expression, item.descending, item.field) for item in options.order_by]
    id_field = spec.field("id")
    assert id_field is not None
    keys.append((spec.table.c.id, False, id_field))
    return keys


def needed_columns(spec: EntitySpec, options: QueryOptions) -> list[str]:
    """Columns the response needs even when ``$select`` leaves them out."""
    names = ["id", ROW_VERSION]
    for item in options.expand:
        if not item.navigation.many:
            names.append(item.navigation.foreign_key)
    return names


def _columns(spec: EntitySpec, options: QueryOptions, table: sa.FromClause) -> list[Any]:
    """Stored-apart fields are not columns: domain/blobs.py reads them after the rows."""
    wanted = [f for f in output_fields(spec, options) if not f.apart]
    chosen = [table.c[f.name] for f in wanted]
    present = {f.name for f in wanted}
    chosen += [table.c[name] for name in dict.fromkeys(needed_columns(spec, options)) if name not in present]
    return chosen


def _ordered(statement: sa.Select[Any], keys: list[tuple[Any, bool, Field]]) -> sa.Select[Any]:
    statement = statement.add_columns(*(expr.label(f"_k{i}") for i, (expr, _, _) in enumerate(keys)))
    return statement.order_by(*(expr.desc() if desc else expr.asc() for expr, desc, _ in keys))


def page_select(spec: EntitySpec, tenant_id: int, options: QueryOptions, *, limit: int) -> sa.Select[Any]:
    """One page: after the ``$skiptoken`` row if any, then ``$skip``, at most ``limit`` rows."""
    statement = sa.select(*_columns(spec, options, spec.table)).where(tenant_rows(spec.table, tenant_id))
    if options.where is not None:
        statement = statement.where(options.where)
    keys = order_keys(spec, options)
    if options.after is not None:
        statement = statement.where(paging.after(keys, options.after))
    return _ordered(statement, keys).offset(options.skip).limit(limit)


def key_values(keys: list[tuple[Any, bool, Field]], row: dict[str, Any]) -> list[Any]:
    return [row[f"_k{i}"] for i in range(len(keys))]


def count_select(spec: EntitySpec, tenant_id: int, options: QueryOptions) -> sa.Select[Any]:
    statement = sa.select(sa.func.count()).select_from(spec.table).where(tenant_rows(spec.table, tenant_id))
    if options.where is not None:
        statement = statement.where(options.where)
    return statement


def entity_select(spec: EntitySpec, tenant_id: int, key: uuid.UUID, options: QueryOptions) -> sa.Select[Any]:
    return sa.select(*_columns(spec, options, spec.table)).where(
        tenant_rows(spec.table, tenant_id), spec.table.c.id == key
    )


def related_select(
    spec: EntitySpec,
    tenant_id: int,
    options: QueryOptions,
    link_column: str,
    link_values: Iterable[Any],
) -> sa.Select[Any]:
    """The rows of ``spec`` whose ``link_column`` is one of ``link_values`` — one query per
    ``$expand`` level, however many parent rows there are.

    A nested ``$top``/``$skip`` applies per parent: rows are numbered within each parent by the
    nested order (``row_number() OVER (PARTITION BY link …)``) and filtered outside.
    """
    table = spec.table
    keys = order_keys(spec, options)
    columns = _columns(spec, options, table)
    if link_column not in {c.name for c in columns}:
        columns.append(table.c[link_column])
    statement = sa.select(*columns).where(
        tenant_rows(table, tenant_id), table.c[link_column].in_(sorted(set(link_values)))
    )
    if options.where is not None:
        statement = statement.where(options.where)
    if options.top is None and not options.skip:
        return _ordered(statement, keys)
    position = (
        sa.func.row_number()
        .over(
            partition_by=table.c[link_column],
            order_by=[expr.desc() if desc else expr.asc() for expr, desc, _ in keys],
        )
        .label("_position")
    )
    numbered = _ordered(statement.add_columns(position), keys).subquery()
    bounded = sa.select(numbered).where(numbered.c._position > options.skip)
    if options.top is not None:
        bounded = bounded.where(numbered.c._position <= options.skip + options.top)
    return bounded.order_by(numbered.c._position)
