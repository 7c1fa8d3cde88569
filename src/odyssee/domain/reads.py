"""Reading entities: a page of a set, one entity, a count, and ``$expand`` — for every entity.

Rows are dicts keyed by property name, holding database values (the api layer encodes them),
except GUIDs and datetimes, which the database already formats as their wire text
(odata/wire.py): ids and foreign keys in rows are strings.
An expansion is stored in the parent row under the navigation's name: a row dict or None for
a to-one navigation, a list for a to-many one. Each ``$expand`` level costs one query for all
parent rows together, never one per row.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.db import direct
from odyssee.domain import blobs
from odyssee.domain.access import restricted, row_filter
from odyssee.domain.actor import Actor
from odyssee.model.conventions import EMPTY_GUID
from odyssee.model.errors import Forbidden, NotFound
from odyssee.model.registry import EntitySpec
from odyssee.odata.options import Expand, QueryOptions
from odyssee.odata.paths import target
from odyssee.odata.query import (
    count_select,
    entity_select,
    json_page_select,
    json_sent,
    key_values,
    order_keys,
    page_select,
    related_select,
)
from odyssee.odata.wire import json_writable

Row = dict[str, Any]


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    has_more: bool
    count: int | None
    last_keys: list[Any] | None
    """The order-key values of the last row (``id`` last), for the next link's ``$skiptoken``."""


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _rows(session: Session, statement: sa.Select[Any], values: Mapping[str, Any]) -> list[Row]:
    """Plain dicts, one per row, of a page statement run straight on the driver (db/direct.py)."""
    names, rows = direct.fetch(session.connection(), statement, values)
    return [dict(zip(names, row, strict=True)) for row in rows]


def count_of(name: str) -> str:
    return f"{name}@odata.count"


def list_entities(session: Session, actor: Actor, spec: EntitySpec, options: QueryOptions, *, limit: int) -> Page:
    """At most ``limit`` rows of the filtered, ordered set; one extra row tells if more exist."""
    options = restricted(spec, actor, options)
    statement, values = page_select(spec, actor.tenant_id, options, limit=limit + 1, dialect=_dialect(session))
    rows = _rows(session, statement, values)
    has_more = len(rows) > limit
    rows = rows[:limit]
    count = _count(session, actor, spec, options) if options.count else None
    last = key_values(order_keys(spec, options), rows[-1]) if rows else None
    blobs.fill(session, actor.tenant_id, spec, rows, blobs.wanted(spec, options, single=False))
    expand(session, actor, spec, rows, options.expand)
    return Page(rows, has_more, count, last)


@dataclass(frozen=True)
class JsonPage:
    """A page whose entities PostgreSQL already wrote as JSON text (:func:`list_entities_json`)."""

    texts: list[str]
    has_more: bool
    count: int | None
    last_keys: list[Any] | None


def list_entities_json(
    session: Session, actor: Actor, spec: EntitySpec, options: QueryOptions, *, limit: int
) -> JsonPage | None:
    """:func:`list_entities`, with each entity as the JSON text the client receives, made by the
    database: a bulk pull then spends no Python per row (docs/performance.md). ``None`` where the
    rows need Python: with ``$expand``, with file bytes in the ``$select``, or binary properties
    on SQLite."""
    if options.expand or blobs.wanted(spec, options, single=False):
        return None
    dialect = _dialect(session)
    if not json_writable(json_sent(spec, options), dialect):
        return None
    options = restricted(spec, actor, options)
    statement, values = json_page_select(spec, actor.tenant_id, options, limit=limit + 1, dialect=dialect)
    # Only the last row's order keys are ever read (typed, for the next link): the others are
    # left as the driver gives them (on SQLite a datetime key is parsed text).
    _names, rows, convert = direct.fetch_unconverted(session.connection(), statement, values)
    has_more = len(rows) > limit
    rows = rows[:limit]
    count = _count(session, actor, spec, options) if options.count else None
    last = (convert(rows[-1]) if convert else rows[-1]) if rows else None
    return JsonPage([row[0] for row in rows], has_more, count, list(last[1:]) if last else None)


def count_entities(session: Session, actor: Actor, spec: EntitySpec, options: QueryOptions) -> int:
    return _count(session, actor, spec, restricted(spec, actor, options))


def _count(session: Session, actor: Actor, spec: EntitySpec, options: QueryOptions) -> int:
    """The number of rows ``options`` (already restricted to what the actor may see) select."""
    statement, values = count_select(spec, actor.tenant_id, options)
    return int(session.execute(statement, values).scalar_one())


def get_entity(
    session: Session,
    actor: Actor,
    spec: EntitySpec,
    key: uuid.UUID,
    options: QueryOptions | None = None,
) -> Row:
    options = options or QueryOptions()
    statement, parameters = entity_select(spec, actor.tenant_id, key, options)
    names, rows = direct.fetch(session.connection(), statement, parameters)
    if not rows:
        raise NotFound(f"There is no {spec.name} with id {key}.", code="NotFound")
    visible = row_filter(spec, actor)
    if (
        visible is not None
        and not session.execute(sa.select(spec.table.c.id).where(spec.table.c.id == key, visible)).first()
    ):
        raise Forbidden(f"This {spec.name} is not assigned to you.", code="NotAssigned")
    found = dict(zip(names, rows[0], strict=True))
    blobs.fill(session, actor.tenant_id, spec, [found], blobs.wanted(spec, options, single=True))
    expand(session, actor, spec, [found], options.expand)
    return found


def expand(session: Session, actor: Actor, spec: EntitySpec, rows: Sequence[Row], items: Sequence[Expand]) -> None:
    """Attach every requested navigation to ``rows``, level by level (recursively for nested ``$expand``)."""
    if not rows:
        return
    for item in items:
        if item.navigation.many:
            _expand_many(session, actor, spec, rows, item)
        else:
            _expand_one(session, actor, rows, item)


def _expand_one(session: Session, actor: Actor, rows: Sequence[Row], item: Expand) -> None:
    navigation, related = item.navigation, target(item.navigation)
    keys = {row[navigation.foreign_key] for row in rows} - {str(EMPTY_GUID)}
    found: dict[Any, Row] = {}
    if keys:
        statement = related_select(
            related, actor.tenant_id, restricted(related, actor, item.options), "id", keys, dialect=_dialect(session)
        )
        found = {row["id"]: dict(row) for row in session.execute(statement).mappings()}
        blobs.fill(
            session, actor.tenant_id, related, list(found.values()), blobs.wanted(related, item.options, single=False)
        )
        expand(session, actor, related, list(found.values()), item.options.expand)
    for row in rows:
        row[navigation.name] = found.get(row[navigation.foreign_key])


def _expand_many(session: Session, actor: Actor, spec: EntitySpec, rows: Sequence[Row], item: Expand) -> None:
    navigation, related = item.navigation, target(item.navigation)
    parents = {row["id"] for row in rows}
    children: dict[Any, list[Row]] = defaultdict(list)
    options = restricted(related, actor, item.options)
    statement = related_select(
        related, actor.tenant_id, options, navigation.foreign_key, parents, dialect=_dialect(session)
    )
    found = [dict(row) for row in session.execute(statement).mappings()]
    blobs.fill(session, actor.tenant_id, related, found, blobs.wanted(related, item.options, single=False))
    for child in found:
        children[child[navigation.foreign_key]].append(child)
    expand(session, actor, related, found, item.options.expand)
    counts: dict[Any, int] = {}
    if item.options.count:
        link = related.table.c[navigation.foreign_key]
        statement = (
            sa.select(link, sa.func.count())
            .where(related.table.c.tenant_id == actor.tenant_id, link.in_(sorted(uuid.UUID(p) for p in parents)))
            .group_by(link)
        )
        if options.where is not None:
            statement = statement.where(options.where)
        counts = {str(parent): int(number) for parent, number in session.execute(statement)}
    for row in rows:
        row[navigation.name] = children.get(row["id"], [])
        if item.options.count:
            row[count_of(navigation.name)] = counts.get(row["id"], 0)
