"""The system query options of a collection or entity request, parsed and checked against the entity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from odyssee.model.errors import InvalidQuery, NotImplementedFeature
from odyssee.model.registry import EntitySpec, Field
from odyssee.odata.filter import compile_filter, unknown_property

SUPPORTED = frozenset({"$filter", "$select", "$orderby", "$top", "$skip", "$count", "$format"})
NOT_YET = frozenset(
    {
        "$expand",
        "$search",
        "$apply",
        "$compute",
        "$skiptoken",
        "$deltatoken",
        "$levels",
        "$index",
    }
)


@dataclass(frozen=True)
class OrderBy:
    field: Field
    descending: bool = False


@dataclass(frozen=True)
class QueryOptions:
    where: sa.ColumnElement[bool] | None = None
    select: tuple[Field, ...] | None = None
    """None means every property."""
    order_by: tuple[OrderBy, ...] = ()
    top: int | None = None
    skip: int = 0
    count: bool = False


def _non_negative(name: str, text: str) -> int:
    if not text.isdigit():
        raise InvalidQuery(
            f"{name} must be a non-negative integer, got '{text}'.",
            code="InvalidQueryOption",
            target=name,
        )
    return int(text)


def _select(spec: EntitySpec, text: str) -> tuple[Field, ...] | None:
    names = [part.strip() for part in text.split(",")]
    if "*" in names:
        return None
    fields: list[Field] = []
    for name in names:
        if not name:
            raise InvalidQuery(
                "$select has an empty item.",
                code="InvalidQueryOption",
                target="$select",
            )
        found = spec.field(name)
        if found is None:
            raise unknown_property(spec, name, "$select")
        if found not in fields:
            fields.append(found)
    return tuple(fields)


def _order_by(spec: EntitySpec, text: str) -> tuple[OrderBy, ...]:
    items: list[OrderBy] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise InvalidQuery(
                f"$orderby item '{part.strip()}' is not 'property [asc|desc]'.",
                code="InvalidQueryOption",
                target="$orderby",
            )
        if "/" in words[0]:
            raise NotImplementedFeature(
                "Navigation paths in $orderby are not supported yet.",
                code="NotImplemented",
            )
        found = spec.field(words[0])
        if found is None:
            raise unknown_property(spec, words[0], "$orderby")
        items.append(OrderBy(found, descending=len(words) == 2 and words[1].lower() == "desc"))
    return tuple(items)


def parse_options(spec: EntitySpec, params: Mapping[str, str]) -> QueryOptions:
    """Validate every ``$`` option; unknown or unsupported ones are errors, never silently ignored.

    Parameters without ``$`` are custom query options and are ignored, as OData allows.
    """
    for name in params:
        if not name.startswith("$"):
            continue
        if name in NOT_YET:
            raise NotImplementedFeature(
                f"The query option {name} is not supported yet.",
                code="NotImplemented",
                target=name,
            )
        if name not in SUPPORTED:
            raise InvalidQuery(
                f"Unknown system query option '{name}'.",
                code="InvalidQueryOption",
                target=name,
            )
    fmt = params.get("$format")
    if fmt is not None and fmt.split(";")[0].strip().lower() not in (
        "json",
        "application/json",
    ):
        raise NotImplementedFeature(
            f"$format={fmt} is not supported; use json.",
            code="NotImplemented",
            target="$format",
        )
    count_text = params.get("$count", "false").lower()
    if count_text not in ("true", "false"):
        raise InvalidQuery("$count must be true or false.", code="InvalidQueryOption", target="$count")
    filter_text = params.get("$filter")
    if filter_text is not None and not filter_text.strip():
        raise InvalidQuery("$filter is empty.", code="InvalidQueryOption", target="$filter")
    return QueryOptions(
        where=compile_filter(spec, filter_text) if filter_text is not None else None,
        select=_select(spec, params["$select"]) if "$select" in params else None,
        order_by=_order_by(spec, params["$orderby"]) if "$orderby" in params else (),
        top=_non_negative("$top", params["$top"]) if "$top" in params else None,
        skip=_non_negative("$skip", params["$skip"]) if "$skip" in params else 0,
        count=count_text == "true",
    )
