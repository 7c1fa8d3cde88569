"""Property paths across navigation properties (``company/company_type/name``) as SQL.

A path through to-one navigations becomes a correlated scalar subquery over aliases of the
tables it crosses, so it can stand anywhere a column can — ``$filter``, ``$orderby``, ``$apply``
— without changing the number of rows of the outer query. A dangling or empty foreign key
(the all-zero GUID) gives SQL NULL, so comparisons with it are false, as in OData.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from odyssee.model.errors import ErrorDetail, InvalidQuery
from odyssee.model.registry import EntitySpec, Field, Navigation, registry


@dataclass(frozen=True)
class Step:
    """One navigation taken from ``source`` (a table or alias) to a fresh alias of its target."""

    navigation: Navigation
    spec: EntitySpec
    """The target entity."""
    alias: sa.FromClause
    condition: sa.ColumnElement[bool]
    """Joins ``alias`` to the source and keeps it in the same tenant."""


def target(navigation: Navigation) -> EntitySpec:
    return registry().by_table(navigation.target)


def step(navigation: Navigation, source: sa.FromClause) -> Step:
    """The alias and join condition for following ``navigation`` from ``source``."""
    spec = target(navigation)
    alias = spec.table.alias()
    if navigation.many:
        link = alias.c[navigation.foreign_key] == source.c.id
    else:
        link = alias.c.id == source.c[navigation.foreign_key]
    return Step(navigation, spec, alias, sa.and_(alias.c.tenant_id == source.c.tenant_id, link))


def unknown_member(spec: EntitySpec, name: str, option: str) -> InvalidQuery:
    """The error for a name that is neither a property nor a navigation of ``spec``, with a hint."""
    names = [f.name for f in spec.fields] + [n.name for n in spec.navigations]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return InvalidQuery(
        f"{spec.name} has no property '{name}'.{hint}",
        code="UnknownProperty",
        target=option,
        details=[ErrorDetail("UnknownProperty", f"'{name}' is not a property of {spec.name}", name)],
    )


def navigation_of(spec: EntitySpec, name: str, option: str) -> Navigation:
    found = spec.navigation(name)
    if found is None:
        raise unknown_member(spec, name, option)
    return found


def walk(spec: EntitySpec, source: sa.FromClause, names: list[str], option: str) -> tuple[EntitySpec, Any, list[Step]]:
    """Follow the to-one navigations ``names`` from ``source``: the entity reached, its alias, the steps taken.

    A to-many navigation is an error that points to any/all/$count.
    """
    steps: list[Step] = []
    current, current_source = spec, source
    for name in names:
        navigation = navigation_of(current, name, option)
        if navigation.many:
            raise InvalidQuery(
                f"'{name}' is a collection of {target(navigation).name}; "
                f"use {name}/any(…), {name}/all(…) or {name}/$count in {option}.",
                code="CollectionPath",
                target=option,
            )
        taken = step(navigation, current_source)
        steps.append(taken)
        current, current_source = taken.spec, taken.alias
    return current, current_source, steps


def _property(spec: EntitySpec, name: str, option: str) -> Field:
    found = spec.field(name)
    if found is None:
        raise unknown_member(spec, name, option)
    if found.apart:
        raise InvalidQuery(
            f"{spec.name}.{name} holds file bytes kept apart from the table; it cannot be used in {option}. "
            f"Read it with $select={name} or the file download (docs/approvals.md#files).",
            code="PropertyNotQueryable",
            target=option,
            details=[ErrorDetail("PropertyNotQueryable", f"'{name}' is stored apart", name)],
        )
    if found.write_only:
        raise InvalidQuery(
            f"{spec.name}.{name} is write-only (a secret); it cannot be used in {option}.",
            code="PropertyNotQueryable",
            target=option,
            details=[ErrorDetail("PropertyNotQueryable", f"'{name}' is write-only", name)],
        )
    return found


def resolve(spec: EntitySpec, source: sa.FromClause, segments: list[str], option: str) -> tuple[Field, Any]:
    """``[company, name]`` on Jobs → (Company.name, a scalar subquery correlated with ``source``).

    Every segment but the last must be a to-one navigation; the last must be a property.
    """
    *hops, last = segments
    if not hops:
        found = _property(spec, last, option)
        return found, source.c[found.name]
    current, current_source, steps = walk(spec, source, hops, option)
    found = _property(current, last, option)
    inner = sa.select(current_source.c[found.name]).where(*(s.condition for s in steps))
    return found, inner.correlate(source).scalar_subquery()
