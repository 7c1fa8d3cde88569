"""The system query options of a request, parsed and checked against the entity.

Everything is resolved here, before any SQL runs: property names against the registry,
``$orderby`` paths into SQL expressions, ``$expand`` into a tree of nested options, and a
``$skiptoken`` back into the values it was made from. An option we do not offer is a 501,
an unknown one a 400: never silently ignored.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from odyssee.model.errors import InvalidQuery, NotImplementedFeature
from odyssee.model.registry import DEFAULTS, EntitySpec, Field, Navigation
from odyssee.odata import paging
from odyssee.odata.filter import Slotted, compile_filter, compile_slotted, with_values
from odyssee.odata.filter_syntax import literal_shape
from odyssee.odata.paths import navigation_of, resolve, target, unknown_member

SUPPORTED = frozenset(
    {"$filter", "$select", "$orderby", "$top", "$skip", "$count", "$format", "$expand", "$skiptoken", "$apply"}
)
NESTED = frozenset({"$filter", "$select", "$orderby", "$top", "$skip", "$count", "$expand"})
"""The options allowed inside ``$expand=nav(…)``."""
NOT_OFFERED = frozenset({"$search", "$compute", "$levels", "$index", "$schemaversion"})


@dataclass(frozen=True)
class OrderBy:
    field: Field
    """The property ordered by (at the end of the path)."""
    expression: Any
    """The SQL expression: a column, or a correlated subquery for a navigation path."""
    path: str
    descending: bool = False


@dataclass(frozen=True)
class Expand:
    navigation: Navigation
    options: QueryOptions


_REVALUED: Any = object()
"""The ``clause`` of revalued options (:meth:`QueryOptions.revalued`): made from the template when asked."""


@dataclass(frozen=True)
class QueryOptions:
    clause: sa.ColumnElement[bool] | None = None
    """The ``$filter`` clause as parsed; read it as :attr:`where`, which has this request's literals."""
    select: tuple[Field, ...] | None = None
    """None means every property."""
    order_by: tuple[OrderBy, ...] = ()
    top: int | None = None
    skip: int = 0
    count: bool = False
    expand: tuple[Expand, ...] = ()
    after: tuple[Any, ...] | None = None
    """The order-key values (id last) of the row a ``$skiptoken`` continues after."""
    apply: str | None = None
    """The raw ``$apply`` text; parsed by :mod:`odyssee.odata.apply` when present."""
    raw: Mapping[str, str] = field(default_factory=dict, repr=False)
    statements: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    """SQL built from these options, kept for the next request with the same query (odata/query.py).
    Not copied by ``dataclasses.replace``: changed options start with none."""
    template: QueryOptions | None = field(default=None, init=False, repr=False, compare=False)
    """Options of a ``$filter`` of the same shape whose SQL these reuse with :attr:`values`
    (:func:`parse_options`); like ``statements``, dropped by ``dataclasses.replace``."""
    values: Mapping[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    """The ``$filter`` literals' parameters that replace the template's."""
    revalued_clause: sa.ColumnElement[bool] | None = field(default=None, init=False, repr=False, compare=False)
    """:attr:`where` of revalued options, once made."""

    @property
    def where(self) -> sa.ColumnElement[bool] | None:
        """The ``$filter`` clause with this request's literals (None: no ``$filter``).

        For revalued options it is copied from the template's when first asked: their SQL is the
        template's, run with :attr:`values` (odata/query.py), so a poll rarely needs it, and
        copying it was a tenth of a poll whose watermark had moved."""
        if self.clause is not _REVALUED:
            return self.clause
        assert self.template is not None, "revalued options copied without their template"
        if self.revalued_clause is None:
            assert self.template.clause is not None  # a template always has a $filter
            object.__setattr__(self, "revalued_clause", with_values(self.template.clause, self.values))
        return self.revalued_clause

    def revalued(self, values: Mapping[str, Any], raw: Mapping[str, str]) -> QueryOptions:
        """These options for a ``$filter`` of the same shape with other literals: its clause and
        every statement built from these options take ``values`` instead."""
        assert self.where is not None
        options = replace(self, clause=_REVALUED, raw=raw)
        object.__setattr__(options, "template", self)
        object.__setattr__(options, "values", values)
        return options


def _error(option: str, message: str, code: str = "InvalidQueryOption") -> InvalidQuery:
    return InvalidQuery(message, code=code, target=option)


def split_top_level(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside parentheses and quoted strings: ``a,b(c,d)`` → ``a``, ``b(c,d)``."""
    parts: list[str] = []
    depth, quoted, start = 0, False, 0
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise _error("$expand", f"Unbalanced ')' at position {index} in '{text}'.")
        elif char == separator and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    if depth != 0 or quoted:
        raise _error("$expand", f"Unbalanced parentheses or quotes in '{text}'.")
    parts.append(text[start:])
    return parts


MAX_COUNT = 2**31 - 1
"""``$top``/``$skip`` values above this are taken as this: "everything" / "past every row" on any
real table, and small enough for every engine's LIMIT, OFFSET and window comparisons."""


def non_negative(name: str, text: str) -> int:
    digits = text.strip()
    if not digits.isascii() or not digits.isdigit():
        raise _error(name, f"{name} must be a non-negative integer, got '{text}'.")
    return min(int(digits), MAX_COUNT)


def _select(spec: EntitySpec, text: str) -> tuple[Field, ...] | None:
    names = [part.strip() for part in text.split(",")]
    if "*" in names:
        return None
    fields: list[Field] = []
    for name in names:
        if not name:
            raise _error("$select", "$select has an empty item.")
        found = spec.field(name)
        if found is None:
            if spec.navigation(name) is not None:
                raise _error("$select", f"'{name}' is a navigation property; use $expand={name} to include it.")
            raise unknown_member(spec, name, "$select")
        if found not in fields:
            fields.append(found)
    return tuple(fields)


def _order_by(spec: EntitySpec, text: str) -> tuple[OrderBy, ...]:
    items: list[OrderBy] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise _error("$orderby", f"$orderby item '{part.strip()}' is not 'property [asc|desc]'.")
        found, expression = resolve(spec, spec.table, words[0].split("/"), "$orderby")
        if "/" in words[0]:
            # A missing target sorts as the empty value on both engines (NULLs sort differently).
            expression = sa.func.coalesce(expression, sa.literal(DEFAULTS[found.kind], found.column.type))
        items.append(OrderBy(found, expression, words[0], descending=len(words) == 2 and words[1].lower() == "desc"))
    return tuple(items)


def _expand(spec: EntitySpec, text: str, depth: int) -> tuple[Expand, ...]:
    if depth > 4:
        raise _error("$expand", "$expand is nested more than 4 levels deep.")
    items: list[Expand] = []
    for part in split_top_level(text, ","):
        part = part.strip()
        name, _, rest = part.partition("(")
        name = name.strip()
        if not name:
            raise _error("$expand", "$expand has an empty item.")
        if name == "*":
            raise NotImplementedFeature("$expand=* is not supported; name the navigation properties.", target="$expand")
        navigation = navigation_of(spec, name, "$expand")
        nested: dict[str, str] = {}
        if rest:
            if not rest.endswith(")"):
                raise _error("$expand", f"$expand item '{part}' must end with ')'.")
            for option in split_top_level(rest[:-1], ";"):
                key, equals, value = option.partition("=")
                key = key.strip()
                if not equals or key not in NESTED:
                    raise _error(
                        "$expand",
                        f"'{option.strip()}' is not a nested option of $expand={name}; "
                        f"allowed: {', '.join(sorted(NESTED))}.",
                    )
                nested[key] = value
        if any(item.navigation is navigation for item in items):
            raise _error("$expand", f"'{name}' is expanded twice.")
        items.append(Expand(navigation, _parse(target(navigation), nested, depth + 1)))
    return tuple(items)


def check_names(params: Mapping[str, str]) -> None:
    for name in params:
        if not name.startswith("$"):
            continue
        if name in NOT_OFFERED:
            raise NotImplementedFeature(
                f"The query option {name} is not supported by this server.",
                code="NotImplemented",
                target=name,
            )
        if name not in SUPPORTED:
            raise _error(name, f"Unknown system query option '{name}'.")


def check_format(params: Mapping[str, str]) -> None:
    fmt = params.get("$format")
    if fmt is not None and fmt.split(";")[0].strip().lower() not in ("json", "application/json"):
        raise NotImplementedFeature(
            f"$format={fmt} is not supported; use json, or Accept: application/xml for XML.",
            code="NotImplemented",
            target="$format",
        )


def _parse(
    spec: EntitySpec,
    params: Mapping[str, str],
    depth: int,
    where_of: Callable[[EntitySpec, str], sa.ColumnElement[bool]] = compile_filter,
) -> QueryOptions:
    count_text = params.get("$count", "false").strip().lower()
    if count_text not in ("true", "false"):
        raise _error("$count", "$count must be true or false.")
    filter_text = params.get("$filter")
    if filter_text is not None and not filter_text.strip():
        raise _error("$filter", "$filter is empty.")
    order_by = _order_by(spec, params["$orderby"]) if "$orderby" in params else ()
    token = params.get("$skiptoken")
    return QueryOptions(
        clause=where_of(spec, filter_text) if filter_text is not None else None,
        select=_select(spec, params["$select"]) if "$select" in params else None,
        order_by=order_by,
        top=non_negative("$top", params["$top"]) if "$top" in params else None,
        skip=non_negative("$skip", params["$skip"]) if "$skip" in params else 0,
        count=count_text == "true",
        expand=_expand(spec, params["$expand"], depth) if "$expand" in params else (),
        after=paging.decode(token, [item.field for item in order_by], fingerprint(params)) if token else None,
        apply=params.get("$apply"),
        raw=params,
    )


def fingerprint(params: Mapping[str, str]) -> str:
    """What a ``$skiptoken`` is only valid with: the ordering and the filter it was made under."""
    return f"{params.get('$orderby', '')}|{params.get('$filter', '')}"


PARSED_QUERIES = 512
"""How many distinct queries keep their parsed options (and their SQL): pollers repeat theirs."""


def parse_options(spec: EntitySpec, params: Mapping[str, str]) -> QueryOptions:
    """Validate every ``$`` option of a request on ``spec``.

    Parameters without ``$`` are custom query options and are ignored, as OData allows.
    The same query on the same entity set gets the same options object back: integrations poll
    with the same query over and over, and parsing ``$filter`` plus building the SELECT cost more
    than running it. Options hold no tenant or user (odata/query.py binds those).
    """
    return _parse_cached(spec, tuple(sorted(params.items())))


@functools.lru_cache(maxsize=PARSED_QUERIES)
def _parse_cached(spec: EntitySpec, params: tuple[tuple[str, str], ...]) -> QueryOptions:
    query = dict(params)
    check_names(query)
    check_format(query)
    if "$filter" in query and query.keys() <= SHAPED:
        return _shaped(spec, query)
    return _parse(spec, query, depth=0)


SHAPED = frozenset({"$filter", "$select", "$orderby", "$top", "$skip", "$count", "$format"})
"""Queries whose ``$filter`` may reuse the parse and SQL of one of the same shape. Not with
``$expand`` or ``$apply`` (filters of their own), nor ``$skiptoken`` (values of its own)."""
SHAPES = 256
"""How many ``$filter`` shapes per entity set and other options are kept."""
_SHAPES: OrderedDict[Any, tuple[QueryOptions, Slotted]] = OrderedDict()
_SHAPES_LOCK = threading.Lock()


def _shaped(spec: EntitySpec, query: Mapping[str, str]) -> QueryOptions:
    """The options of a query whose ``$filter`` text is new, from those of an earlier text of the
    same shape when there is one: a poller's watermark (``modified_dateutc gt …``) moves with every
    poll, and parsing, binding and building SQL cost three times running it. Same shape means the
    same tokens but for the literals (odata/filter_syntax.py ``literal_shape``); each literal's
    value is computed and checked as the full parse would (odata/filter.py ``compile_slotted``).
    A literal that does not convert, or a text whose literals do more than compare, is parsed in
    full, so errors and results are those of the full parse."""
    shape = literal_shape(query["$filter"])
    if shape is None:
        return _parse(spec, query, depth=0)
    key = (spec, shape.key, tuple(sorted((k, v) for k, v in query.items() if k != "$filter")))
    with _SHAPES_LOCK:
        known = _SHAPES.get(key)
        if known is not None:
            _SHAPES.move_to_end(key)
    if known is not None:
        template, slotted = known
        values = slotted.values(shape.literals)
        return _parse(spec, query, depth=0) if values is None else template.revalued(values, query)
    compiled: list[Slotted] = []

    def slotted_where(spec: EntitySpec, text: str) -> sa.ColumnElement[bool]:
        compiled.append(compile_slotted(spec, text, shape.tokens))
        return compiled[0].where

    options = _parse(spec, query, depth=0, where_of=slotted_where)
    if compiled and compiled[0].converters is not None:
        with _SHAPES_LOCK:
            _SHAPES[key] = (options, compiled[0])
            while len(_SHAPES) > SHAPES:
                _SHAPES.popitem(last=False)
    return options
