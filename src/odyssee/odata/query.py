"""SQL for reading an entity set: one tenant, the client's options, a stable order.

Queries return mappings keyed by property name. Besides the selected properties they always
carry ``id`` and ``row_version`` (for ETags and expansion), the foreign keys an ``$expand``
needs, and the order keys ``_k0``, ``_k1``, … of the keyset ``$skiptoken``. GUIDs and datetimes
of properties come back as their wire text (odata/wire.py); so do GUID order keys.

The statements that do not depend on ``$filter`` or ``$orderby`` — one entity by id, the column
list of a page — are built once per shape and reused with bound parameters: building a
SELECT of forty columns cost more than running it.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from odyssee.model.registry import EntitySpec, Field, Kind
from odyssee.odata import paging
from odyssee.odata.options import QueryOptions
from odyssee.odata.wire import ROW_VERSION, guid_text, json_entity, wire

STATEMENTS_PER_QUERY = 16
"""Statements kept per parsed query: one per tenant and page size that used it, in practice."""


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


def _shape(spec: EntitySpec, options: QueryOptions, *extra: str) -> tuple[str, ...]:
    """The column names a read returns, in order. Stored-apart fields are not columns:
    domain/blobs.py reads them after the rows."""
    wanted = [f.name for f in output_fields(spec, options) if not f.apart]
    present = set(wanted)
    return (*wanted, *(name for name in dict.fromkeys((*needed_columns(spec, options), *extra)) if name not in present))


@functools.lru_cache(maxsize=1024)  # keyed by $select: bounded
def _stored(spec: EntitySpec, shape: tuple[str, ...]) -> tuple[Any, ...]:
    """The table's columns as stored."""
    return tuple(spec.table.c[name] for name in shape)


def _wired(spec: EntitySpec, source: sa.FromClause, shape: tuple[str, ...]) -> list[Any]:
    """The columns of ``source`` named ``shape``, GUIDs and datetimes in their wire form (odata/wire.py)."""
    columns = []
    for name in shape:
        field = spec.field(name)
        column = source.c[name]
        columns.append(column if field is None else wire(field, column).label(name))
    return columns


@functools.lru_cache(maxsize=1024)
def _wired_table(spec: EntitySpec, shape: tuple[str, ...]) -> tuple[Any, ...]:
    """:func:`_wired` of the table itself, made once per shape: expressions are immutable, and a poll
    whose $filter text is new would otherwise rebuild them."""
    return tuple(_wired(spec, spec.table, shape))


def _ordered(statement: sa.Select[Any], keys: list[tuple[Any, bool, Field]], *, wired: bool = False) -> sa.Select[Any]:
    """Order by ``keys`` and return them as ``_k0``, ``_k1``, …; ``wired``: GUID keys as text."""
    statement = statement.add_columns(
        *(
            (guid_text(expr) if wired and field.kind is Kind.GUID else expr).label(f"_k{i}")
            for i, (expr, _, field) in enumerate(keys)
        )
    )
    return statement.order_by(*(expr.desc() if desc else expr.asc() for expr, desc, _ in keys))


def _formatted(
    spec: EntitySpec, shape: tuple[str, ...], statement: sa.Select[Any], keys: list[tuple[Any, bool, Field]]
) -> sa.Select[Any]:
    """``statement`` (stored columns, ordered, limited) wrapped in an outer query that puts its
    rows in wire form, in the same order: only the rows returned are formatted. GUID order keys
    are text too (a ``$skiptoken`` holds text anyway)."""
    inner = statement.subquery("page")
    ordering = [inner.c[f"_k{i}"] for i in range(len(keys))]
    return sa.select(
        *_wired(spec, inner, shape),
        *(
            (guid_text(column) if field.kind is Kind.GUID else column).label(column.name)
            for column, (_, _, field) in zip(ordering, keys, strict=True)
        ),
    ).order_by(*(column.desc() if desc else column.asc() for column, (_, desc, _) in zip(ordering, keys, strict=True)))


def _reused(
    options: QueryOptions, key: tuple[Any, ...], build: Callable[[QueryOptions], sa.Select[Any]]
) -> tuple[sa.Select[Any], Mapping[str, Any]]:
    """The statement ``build`` makes of ``options`` and the values to run it with, the statement
    kept on the options for the next request with the same query (odata/options.py): a statement
    object that is reused keeps SQLAlchemy's cache key and compiled SQL, so a repeated poll costs
    only its execution. Options made from a template (a ``$filter`` of the same shape) run the
    template's statement with their own literals: the values, which callers must pass."""
    source = options.template or options
    statement = source.statements.get(key)
    if statement is None:
        if len(source.statements) >= STATEMENTS_PER_QUERY:
            source.statements.clear()
        statement = source.statements[key] = build(source)
    return statement, options.values


def _in_place(dialect: str) -> bool:
    """Whether the wire form can be selected directly, without the outer query of :func:`_formatted`:
    on SQLite it is the stored text, reshaped in Python per returned row (odata/wire.py), and an
    outer query would only make SQLite sort the page again."""
    return dialect == "sqlite"


def page_select(
    spec: EntitySpec, tenant_id: int, options: QueryOptions, *, limit: int, dialect: str
) -> tuple[sa.Select[Any], Mapping[str, Any]]:
    """One page: after the ``$skiptoken`` row if any, then ``$skip``, at most ``limit`` rows."""
    return _reused(
        options,
        ("page", tenant_id, limit, dialect),
        lambda given: _page_select(spec, tenant_id, given, limit=limit, dialect=dialect),
    )


def _page_select(
    spec: EntitySpec, tenant_id: int, options: QueryOptions, *, limit: int, dialect: str
) -> sa.Select[Any]:
    shape = _shape(spec, options)
    in_place = _in_place(dialect)
    keys = order_keys(spec, options)
    columns = _wired_table(spec, shape) if in_place else _stored(spec, shape)
    statement = _limited(spec, tenant_id, options, columns, keys, limit=limit, wired=in_place)
    return statement if in_place else _formatted(spec, shape, statement, keys)


def _limited(
    spec: EntitySpec,
    tenant_id: int,
    options: QueryOptions,
    columns: tuple[Any, ...],
    keys: list[tuple[Any, bool, Field]],
    *,
    limit: int,
    wired: bool,
) -> sa.Select[Any]:
    """The page's rows: filtered, after the ``$skiptoken`` row, ordered, ``$skip`` applied, limited."""
    statement = sa.select(*columns).select_from(spec.table).where(tenant_rows(spec.table, tenant_id))
    if options.where is not None:
        statement = statement.where(options.where)
    if options.after is not None:
        statement = statement.where(paging.after(keys, options.after))
    return _ordered(statement, keys, wired=wired).offset(options.skip).limit(limit)


def json_page_select(
    spec: EntitySpec, tenant_id: int, options: QueryOptions, *, limit: int, dialect: str
) -> tuple[sa.Select[Any], Mapping[str, Any]]:
    """The page of :func:`page_select` as rows of ``json`` (each entity's JSON text, as the
    serializer would write it, odata/wire.py ``json_entity``) and the order keys ``_k0``, …

    Only for reads without ``$expand`` and without stored-apart properties (those need Python),
    and on SQLite without binary properties (odata/wire.py ``json_writable``)."""
    return _reused(
        options,
        ("json", tenant_id, limit, dialect),
        lambda given: _json_page_select(spec, tenant_id, given, limit=limit, dialect=dialect),
    )


INDEXED_ORDERS = (("id",), ("modified_dateutc", "id"))
"""Orders every entity table has an index for after its tenant: the primary key, ``ix_*_delta``."""


def _index_ordered(keys: list[tuple[Any, bool, Field]]) -> bool:
    """Whether SQLite can read the page in index order, all keys one direction (model/base.py)."""
    return tuple(field.name for _, _, field in keys) in INDEXED_ORDERS and len({desc for _, desc, _ in keys}) == 1


def json_sent(spec: EntitySpec, options: QueryOptions) -> tuple[Field, ...]:
    """The properties a JSON page writes, in the serializer's order (odata/serialize.py ``_plan``):
    plain properties, then those it encodes."""
    return _json_sent(output_fields(spec, options))


@functools.lru_cache(maxsize=1024)  # keyed by $select: bounded; asked on every list request
def _json_sent(fields: tuple[Field, ...]) -> tuple[Field, ...]:
    sent = [f for f in fields if not f.write_only and not f.apart]
    return tuple(sorted(sent, key=lambda f: f.kind in (Kind.DECIMAL, Kind.BINARY)))


def _json_page_select(
    spec: EntitySpec, tenant_id: int, options: QueryOptions, *, limit: int, dialect: str
) -> sa.Select[Any]:
    keys = order_keys(spec, options)
    sent = json_sent(spec, options)
    if dialect == "sqlite" and _index_ordered(keys):
        # SQLite reads such a page in index order and builds the JSON of the rows it returns only;
        # the outer query below would sort the finished page once more (a tenth of a 5000-row page).
        return _limited(spec, tenant_id, options, (json_entity(sent).label("json"),), keys, limit=limit, wired=True)
    stored = _stored(spec, _shape(spec, options))
    inner = _limited(spec, tenant_id, options, stored, keys, limit=limit, wired=False).subquery("page")
    # Named, not looked up on inner.c: that builds a proxy for every column of the page, a third
    # of the cost of a statement a new $filter text needs.
    ordering = [sa.literal_column(f"page._k{i}", type_=expression.type) for i, (expression, _, _) in enumerate(keys)]
    return (
        sa.select(
            json_entity(sent).label("json"),
            *(
                (guid_text(column) if field.kind is Kind.GUID else column).label(f"_k{i}")
                for i, (column, (_, _, field)) in enumerate(zip(ordering, keys, strict=True))
            ),
        )
        .select_from(inner)
        .order_by(
            *(column.desc() if desc else column.asc() for column, (_, desc, _) in zip(ordering, keys, strict=True))
        )
    )


def key_values(keys: list[tuple[Any, bool, Field]], row: dict[str, Any]) -> list[Any]:
    return [row[f"_k{i}"] for i in range(len(keys))]


def count_select(spec: EntitySpec, tenant_id: int, options: QueryOptions) -> tuple[sa.Select[Any], Mapping[str, Any]]:
    return _reused(options, ("count", tenant_id), lambda given: _count_select(spec, tenant_id, given))


def _count_select(spec: EntitySpec, tenant_id: int, options: QueryOptions) -> sa.Select[Any]:
    statement = sa.select(sa.func.count()).select_from(spec.table).where(tenant_rows(spec.table, tenant_id))
    if options.where is not None:
        statement = statement.where(options.where)
    return statement


def entity_select(
    spec: EntitySpec, tenant_id: int, key: uuid.UUID, options: QueryOptions
) -> tuple[sa.Select[Any], dict[str, Any]]:
    """The statement and its parameters: one statement per (entity, shape), reused."""
    return _entity_statement(spec, _shape(spec, options)), {"tenant_id": tenant_id, "key": key}


@functools.lru_cache(maxsize=1024)  # keyed by $select: bounded
def _entity_statement(spec: EntitySpec, shape: tuple[str, ...]) -> sa.Select[Any]:
    table = spec.table
    return sa.select(*_wired(spec, table, shape)).where(
        table.c.tenant_id == sa.bindparam("tenant_id"), table.c.id == sa.bindparam("key", type_=table.c.id.type)
    )


def related_select(
    spec: EntitySpec,
    tenant_id: int,
    options: QueryOptions,
    link_column: str,
    link_values: Iterable[Any],
    *,
    dialect: str,
) -> sa.Select[Any]:
    """The rows of ``spec`` whose ``link_column`` is one of ``link_values`` (GUIDs or their text) —
    one query per ``$expand`` level, however many parent rows there are.

    A nested ``$top``/``$skip`` applies per parent: rows are numbered within each parent by the
    nested order (``row_number() OVER (PARTITION BY link …)``) and filtered outside.
    """
    table = spec.table
    keys = order_keys(spec, options)
    shape = _shape(spec, options, link_column)
    links = sorted({value if isinstance(value, uuid.UUID) else uuid.UUID(value) for value in link_values})
    in_place = _in_place(dialect) and options.top is None and not options.skip
    columns = _wired(spec, table, shape) if in_place else _stored(spec, shape)
    statement = sa.select(*columns).where(tenant_rows(table, tenant_id), table.c[link_column].in_(links))
    if options.where is not None:
        statement = statement.where(options.where)
    if in_place:
        return _ordered(statement, keys, wired=True)
    if options.top is None and not options.skip:
        return _formatted(spec, shape, _ordered(statement, keys), keys)
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
    page = bounded.subquery("page")
    return sa.select(*_wired(spec, page, shape)).order_by(page.c._position)
