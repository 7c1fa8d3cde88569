"""``$apply`` (OData Data Aggregation 4.0): ``filter``, ``groupby`` and ``aggregate``, parsed and turned into SQL.

ERP reports ask the server for totals instead of paging through every usage line, so the
subset here is the one they need::

    filter(price gt 10)/groupby((company/name),aggregate(quantity with sum as Qty,$count as Lines))

The text is parsed by a small recursive-descent parser (no library parses ``$apply``); the
expression inside ``filter(…)`` is handed to :func:`odyssee.odata.filter.compile_filter`, so
``$filter`` and ``filter()`` accept exactly the same language. Parsing happens in two passes —
syntax first, then binding against the entity — so a malformed text always gets a syntax error
with its position, whatever names it contains.

The SQL has two levels, which keeps it identical on SQLite and PostgreSQL: an inner select of
the tenant's (filtered) rows computes one value per group key and aggregated property — a
navigation path such as ``company/name`` is a correlated scalar subquery there — and an outer
select groups those plain columns. Filters after the aggregation (``…/filter(Total gt 5)``)
bind to the *output* shape (keys and aliases) and become a WHERE over the grouped result.
Anything outside the subset is a :class:`NotImplementedFeature` (501), never ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import visitors

from odyssee.model.errors import ErrorDetail, InvalidQuery, NotImplementedFeature
from odyssee.model.registry import EntitySpec, Field, Kind
from odyssee.model.types import Guid, Money
from odyssee.odata.filter import compile_filter
from odyssee.odata.paths import resolve
from odyssee.odata.serialize import encode_row, encode_value

OPTION = "$apply"

METHODS = ("sum", "min", "max", "average", "countdistinct")
"""The standard aggregation methods offered; ``$count as N`` counts the rows of a group."""

COUNT = "$count"

_NUMERIC = frozenset({Kind.INT32, Kind.DECIMAL})
_ORDERED = frozenset({Kind.INT32, Kind.DECIMAL, Kind.STRING, Kind.DATETIME, Kind.GUID})
"""Kinds min/max accept: booleans and binaries have no order both engines agree on."""

_UNSUPPORTED_TRANSFORMATIONS = frozenset(
    {
        "identity",
        "compute",
        "search",
        "expand",
        "concat",
        "join",
        "outerjoin",
        "nest",
        "orderby",
        "top",
        "skip",
        "topcount",
        "topsum",
        "toppercent",
        "bottomcount",
        "bottomsum",
        "bottompercent",
        "ancestors",
        "descendants",
        "traverse",
    }
)
"""Transformations of the OData aggregation extension this server does not offer: a 501, not a 400."""

_ARITHMETIC = frozenset({"add", "sub", "mul", "div", "divby", "mod"})
_IDENTIFIER = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_]*")
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_TOKEN = re.compile(r"\s*(\$?\w+|\S)")


# --- The bound result of parsing -----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GroupKey:
    """One ``groupby`` property, possibly reached through to-one navigations (``company/name``)."""

    path: tuple[str, ...]
    field: Field
    """The property at the end of the path: its kind decides the JSON encoding."""
    expression: Any = None
    """The value per input row: a column of the entity, or a scalar subquery correlated with it."""

    @property
    def name(self) -> str:
        return "/".join(self.path)


@dataclass(frozen=True, eq=False)
class Aggregation:
    """``path with method as alias``, or ``$count as alias`` (then ``path`` is empty)."""

    alias: str
    method: str
    """One of :data:`METHODS` or ``$count``."""
    path: tuple[str, ...]
    field: Field | None
    """The aggregated property; None for ``$count``."""
    output: Field
    """The alias as a property of the output: its kind decides the JSON encoding and filter literals."""
    expression: Any = None


@dataclass(frozen=True, eq=False)
class Apply:
    """A parsed and bound ``$apply``.

    Built by :func:`parse_apply`; turned into SQL by :func:`apply_select`. Not comparable
    (``eq=False``): it holds SQL expressions, whose ``==`` builds SQL rather than comparing.
    """

    spec: EntitySpec
    text: str
    filters: tuple[sa.ColumnElement[bool], ...] = ()
    """``filter()`` steps before any aggregation: WHERE conditions on the entity's rows."""
    aggregated: bool = False
    """A ``groupby`` or ``aggregate`` step is present; without one the output is the entity itself."""
    keys: tuple[GroupKey, ...] = ()
    aggregations: tuple[Aggregation, ...] = ()
    output_filters: tuple[sa.ColumnElement[bool], ...] = ()
    """``filter()`` steps after the aggregation, bound to the columns of :attr:`output`."""
    output: sa.Table | None = None
    """A stand-in table with one column per output property, for binding :attr:`output_filters`."""


# --- Syntax -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FilterStep:
    text: str
    start: int | None
    """Where ``text`` starts in ``$apply``; None for a ``$filter`` option (errors then name ``$filter``)."""


@dataclass(frozen=True)
class _Item:
    method: str
    path: tuple[str, ...]
    alias: str
    start: int


@dataclass(frozen=True)
class _AggregateStep:
    items: tuple[_Item, ...]
    start: int


@dataclass(frozen=True)
class _GroupByStep:
    paths: tuple[tuple[tuple[str, ...], int], ...]
    inner: tuple[_Step, ...]
    start: int


_Step = _FilterStep | _AggregateStep | _GroupByStep


def syntax_error(text: str, position: int, expected: str) -> InvalidQuery:
    """A 400 that names the character position, in the style of ``$filter``'s syntax errors."""
    token = _TOKEN.match(text, position)
    found = f"found '{token.group(1)}'" if token else "but the expression ends"
    return InvalidQuery(
        f"Syntax error in $apply at position {position}: expected {expected}, {found}.",
        code="SyntaxError",
        target=OPTION,
        details=[ErrorDetail("SyntaxError", f"{text[:position]}<<HERE>>{text[position:]}", OPTION)],
    )


def _not_supported(what: str) -> NotImplementedFeature:
    return NotImplementedFeature(
        f"{what} is not supported in $apply; supported are filter(…), groupby((…),aggregate(…)) "
        "and aggregate(… with sum|min|max|average|countdistinct as …, $count as …), joined with '/'.",
        code="NotImplemented",
        target=OPTION,
    )


class _Parser:
    """Recursive descent over the ``$apply`` grammar subset (see docs/apply.md)::

    apply          = step *( "/" step )
    step           = filter | aggregate | groupby
    filter         = "filter(" boolCommonExpr ")"
    aggregate      = "aggregate(" item *( "," item ) ")"
    item           = path "with" method "as" alias | "$count as" alias
    groupby        = "groupby((" path *( "," path ) ")" [ "," apply ] ")"
    path           = identifier *( "/" identifier )
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> tuple[_Step, ...]:
        steps = self.sequence()
        self.skip()
        if self.pos < len(self.text):
            raise syntax_error(self.text, self.pos, "'/' and another transformation")
        return steps

    def sequence(self) -> tuple[_Step, ...]:
        steps = [self.step()]
        while self.accept("/"):
            steps.append(self.step())
        return tuple(steps)

    def step(self) -> _Step:
        start = self.here()
        name = self.identifier("a transformation (filter, groupby or aggregate)")
        if name == "filter":
            return self.filter(start)
        if name == "aggregate":
            self.expect("(")
            return _AggregateStep(self.items(), start)
        if name == "groupby":
            return self.groupby(start)
        if name in _UNSUPPORTED_TRANSFORMATIONS:
            raise _not_supported(f"The transformation {name}()")
        raise syntax_error(self.text, start, "a transformation (filter, groupby or aggregate)")

    def filter(self, start: int) -> _FilterStep:
        """Take the balanced text up to the closing parenthesis; quoted strings may contain any."""
        self.expect("(")
        begin = self.pos
        depth = 0
        position = begin
        while position < len(self.text):
            char = self.text[position]
            if char == "'":
                position = self.text.find("'", position + 1)
                while position != -1 and self.text.startswith("''", position):
                    position = self.text.find("'", position + 2)
                if position == -1:
                    raise syntax_error(self.text, len(self.text), "the closing quote of a string")
            elif char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            position += 1
        else:
            raise syntax_error(self.text, len(self.text), "')' closing filter(")
        body = self.text[begin:position]
        if not body.strip():
            raise syntax_error(self.text, position, "a boolean expression")
        self.pos = position + 1
        return _FilterStep(body, begin)

    def items(self) -> tuple[_Item, ...]:
        items = [self.item()]
        while self.accept(","):
            items.append(self.item())
        self.expect(")")
        return tuple(items)

    def item(self) -> _Item:
        start = self.here()
        if self.text.startswith(COUNT, start):
            self.pos = start + len(COUNT)
            self.keyword("as")
            return _Item(COUNT, (), self.alias(), start)
        path = self.path()
        self.skip()
        following = self.peek_identifier()
        if following in _ARITHMETIC:
            raise _not_supported("An arithmetic expression in aggregate()")
        if self.text.startswith("(", self.pos):
            raise _not_supported("Aggregating inside a navigation property (path(…))")
        self.keyword("with")
        method_start = self.here()
        method = self.identifier("an aggregation method (sum, min, max, average or countdistinct)")
        if self.text.startswith(".", self.pos):
            raise _not_supported(f"The custom aggregation method {method}.…")
        if method not in METHODS:
            raise InvalidQuery(
                f"Unknown aggregation method '{method}' at position {method_start} of $apply; "
                "use sum, min, max, average or countdistinct.",
                code="UnknownAggregationMethod",
                target=OPTION,
                details=[ErrorDetail("UnknownAggregationMethod", f"'{method}' is not an aggregation method", method)],
            )
        self.keyword("as")
        alias = self.alias()
        self.skip()
        if self.peek_identifier() == "from":
            raise _not_supported("aggregate(… from …)")
        return _Item(method, path, alias, start)

    def groupby(self, start: int) -> _GroupByStep:
        self.expect("(")
        self.expect("(")
        paths = [self.group_path()]
        while self.accept(","):
            paths.append(self.group_path())
        self.expect(")")
        inner: tuple[_Step, ...] = ()
        if self.accept(","):
            inner = self.sequence()
        self.expect(")")
        return _GroupByStep(tuple(paths), inner, start)

    def group_path(self) -> tuple[tuple[str, ...], int]:
        start = self.here()
        path = self.path()
        if path == ("rollup",) and self.text.startswith("(", self.pos):
            raise _not_supported("groupby with rollup(…)")
        return path, start

    def path(self) -> tuple[str, ...]:
        segments = [self.identifier("a property name")]
        while self.text.startswith("/", self.pos):
            self.pos += 1
            segments.append(self.identifier("a property name after '/'"))
        return tuple(segments)

    def alias(self) -> str:
        self.skip()
        match = _ALIAS.fullmatch(self.peek_identifier() or "")
        if match is None:
            raise syntax_error(self.text, self.pos, "an alias (a name such as Total)")
        self.pos += len(match.group())
        return match.group()

    # Scanning helpers.

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def here(self) -> int:
        self.skip()
        return self.pos

    def peek_identifier(self) -> str | None:
        match = _IDENTIFIER.match(self.text, self.pos)
        return match.group() if match else None

    def identifier(self, expected: str) -> str:
        self.skip()
        name = self.peek_identifier()
        if name is None or name.startswith("$"):
            raise syntax_error(self.text, self.pos, expected)
        self.pos += len(name)
        return name

    def keyword(self, word: str) -> None:
        self.skip()
        if self.peek_identifier() != word:
            raise syntax_error(self.text, self.pos, f"'{word}'")
        self.pos += len(word)

    def accept(self, char: str) -> bool:
        self.skip()
        if self.text.startswith(char, self.pos):
            self.pos += 1
            return True
        return False

    def expect(self, char: str) -> None:
        if not self.accept(char):
            raise syntax_error(self.text, self.pos, f"'{char}'")


# --- Binding ------------------------------------------------------------------------------------


def _invalid(message: str, code: str, target: str | None = None) -> InvalidQuery:
    return InvalidQuery(message, code=code, target=OPTION, details=[ErrorDetail(code, message, target)])


def _bind_path(spec: EntitySpec, path: tuple[str, ...]) -> tuple[Field, Any]:
    if spec.navigation(path[-1]) is not None:
        raise _not_supported(f"Grouping or aggregating by the navigation property '{'/'.join(path)}' itself")
    return resolve(spec, spec.table, list(path), OPTION)


def _output_column_type(kind: Kind, field: Field | None) -> sa.types.TypeEngine[Any]:
    if kind is Kind.INT32:
        return sa.Integer()
    if kind is Kind.DECIMAL:
        return Money()
    assert field is not None
    return field.column.type


def _aggregation(spec: EntitySpec, item: _Item) -> Aggregation:
    """Check an aggregate item against the entity and decide the kind of its result."""
    if item.method == COUNT:
        return Aggregation(item.alias, COUNT, (), None, Field(item.alias, Kind.INT32, sa.Column(item.alias)))
    found, expression = _bind_path(spec, item.path)
    name = "/".join(item.path)
    if item.method in ("sum", "average") and found.kind not in _NUMERIC:
        raise _invalid(
            f"{item.method} cannot be applied to '{name}' ({found.kind.value}); "
            "sum and average need an Edm.Int32 or Edm.Decimal property.",
            "InvalidAggregation",
            name,
        )
    if item.method in ("min", "max") and found.kind not in _ORDERED:
        raise _invalid(
            f"{item.method} cannot be applied to '{name}' ({found.kind.value}); "
            "min and max need a number, string, datetime or GUID property.",
            "InvalidAggregation",
            name,
        )
    if item.method == "countdistinct":
        kind = Kind.INT32
    elif item.method == "average":
        kind = Kind.DECIMAL
    else:
        kind = found.kind
    output = Field(item.alias, kind, sa.Column(item.alias))
    return Aggregation(item.alias, item.method, item.path, found, output, expression)


def _check_names(spec: EntitySpec, keys: Sequence[GroupKey], aggregations: Sequence[Aggregation]) -> None:
    """Output property names must be unique: a key's first segment, then every alias."""
    members = {f.name for f in spec.fields} | {n.name for n in spec.navigations}
    seen: set[str] = set()
    for key in keys:
        if key.name in seen:
            raise _invalid(f"groupby lists '{key.name}' twice.", "DuplicateGroupKey", key.name)
        seen.add(key.name)
    heads = {key.path[0] for key in keys}
    aliases: set[str] = set()
    for aggregation in aggregations:
        alias = aggregation.alias
        if alias in heads:
            raise _invalid(f"The alias '{alias}' clashes with a groupby property.", "AliasClash", alias)
        if alias in members:
            raise _invalid(
                f"The alias '{alias}' is already a property of {spec.name}; choose another name (e.g. Total).",
                "AliasClash",
                alias,
            )
        if alias in aliases:
            raise _invalid(f"The alias '{alias}' is used twice.", "AliasClash", alias)
        aliases.add(alias)


def _output_table(apply: Apply) -> sa.Table:
    """A stand-in table for the output shape: single-segment keys and aliases, typed for literals."""
    columns = [sa.Column(key.name, key.field.column.type) for key in apply.keys if len(key.path) == 1]
    columns += [sa.Column(a.alias, _output_column_type(a.output.kind, a.field)) for a in apply.aggregations]
    return sa.Table(f"{apply.spec.table_name}_apply", sa.MetaData(), *columns)


def _output_spec(apply: Apply) -> EntitySpec:
    """The output shape as an entity, so ``compile_filter`` binds to it and its errors say what exists."""
    assert apply.output is not None
    kinds = {key.name: key.field.kind for key in apply.keys} | {a.alias: a.output.kind for a in apply.aggregations}
    fields = tuple(Field(column.name, kinds[column.name], column) for column in apply.output.columns)
    return EntitySpec(name="The $apply result", table=apply.output, fields=fields, options=apply.spec.options)


def _compile(spec: EntitySpec, apply_text: str, step: _FilterStep) -> sa.ColumnElement[bool]:
    """``compile_filter`` on the text inside ``filter()``, with positions relative to ``$apply``."""
    if step.start is None:
        return compile_filter(spec, step.text)
    try:
        return compile_filter(spec, step.text)
    except InvalidQuery as error:
        if error.code == "SyntaxError" and error.details and "<<HERE>>" in error.details[0].message:
            position = step.start + error.details[0].message.index("<<HERE>>")
            raise syntax_error(apply_text, position, "a valid filter expression") from None
        error.target = OPTION
        raise


def _bind(apply: Apply, steps: Iterable[_Step]) -> Apply:
    for step in steps:
        if isinstance(step, _FilterStep):
            if apply.aggregated:
                clause = _compile(_output_spec(apply), apply.text, step)
                apply = replace(apply, output_filters=(*apply.output_filters, clause))
            else:
                apply = replace(apply, filters=(*apply.filters, _compile(apply.spec, apply.text, step)))
            continue
        if apply.aggregated:
            raise _not_supported("A second groupby or aggregate after an aggregation")
        keys: tuple[GroupKey, ...] = ()
        items: tuple[_Item, ...]
        if isinstance(step, _GroupByStep):
            keys = tuple(GroupKey(path, *_bind_path(apply.spec, path)) for path, _ in step.paths)
            if len(step.inner) > 1 or (step.inner and not isinstance(step.inner[0], _AggregateStep)):
                raise _not_supported("Inside groupby(), anything but a single aggregate(…)")
            items = step.inner[0].items if step.inner and isinstance(step.inner[0], _AggregateStep) else ()
        else:
            items = step.items
        aggregations = tuple(_aggregation(apply.spec, item) for item in items)
        _check_names(apply.spec, keys, aggregations)
        apply = replace(apply, aggregated=True, keys=keys, aggregations=aggregations)
        apply = replace(apply, output=_output_table(apply))
    return apply


def parse_apply(spec: EntitySpec, text: str) -> Apply:
    """Parse and bind ``$apply=text`` for ``spec``; errors are 400 (bad text/names) or 501 (unsupported)."""
    if not text.strip():
        raise InvalidQuery("$apply is empty.", code="InvalidQueryOption", target=OPTION)
    steps = _Parser(text).parse()
    return _bind(Apply(spec, text), steps)


def then_filter(apply: Apply, text: str) -> Apply:
    """``$apply=…&$filter=text``: OData evaluates ``$filter`` on the *result* of ``$apply``.

    After an aggregation that means filtering groups by their keys and aliases
    (``$filter=Total gt 5``); without one it is the same as a ``filter()`` step.
    """
    if not text.strip():
        raise InvalidQuery("$filter is empty.", code="InvalidQueryOption", target="$filter")
    return _bind(apply, [_FilterStep(text, None)])


# --- SQL ----------------------------------------------------------------------------------------


def _measure(aggregation: Aggregation, value: Any) -> sa.ColumnElement[Any]:
    method = aggregation.method
    if method == COUNT:
        return sa.func.count()
    if method == "countdistinct":
        return sa.func.count(sa.distinct(value))
    if method == "sum":
        return sa.func.sum(value)
    if method == "average":
        # PostgreSQL averages integers as numeric, SQLite as real: one decimal type for both.
        return sa.func.avg(value, type_=Money())
    function = sa.func.min if method == "min" else sa.func.max
    assert aggregation.field is not None
    if aggregation.field.kind is Kind.GUID:
        # PostgreSQL has no min/max on uuid; the text forms order the same on both engines.
        return sa.cast(function(sa.cast(value, sa.String())), Guid())
    return function(value)


def _ordering(column: sa.ColumnElement[Any], descending: bool) -> sa.ColumnElement[Any]:
    """NULL (a key behind an empty reference) sorts as the smallest value, on both engines."""
    return column.desc().nulls_last() if descending else column.asc().nulls_first()


def output_names(apply: Apply) -> list[str]:
    """The names the output can be ordered by: key paths (``company/name``) and aliases."""
    if not apply.aggregated:
        return [f.name for f in apply.spec.columns]
    return [key.name for key in apply.keys] + [a.alias for a in apply.aggregations]


def parse_order_by(apply: Apply, text: str) -> list[tuple[str, bool]]:
    """``$orderby`` over the output of ``$apply``: ``Total desc,company/name`` → [(name, descending)]."""
    items: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise InvalidQuery(
                f"$orderby item '{part.strip()}' is not 'property [asc|desc]'.",
                code="InvalidQueryOption",
                target="$orderby",
            )
        items.append((words[0], len(words) == 2 and words[1] == "desc"))
    _check_order(apply, items)
    return items


def _check_order(apply: Apply, order_by: Sequence[tuple[str, bool]]) -> None:
    names = output_names(apply)
    for name, _ in order_by:
        if name not in names:
            raise InvalidQuery(
                f"Cannot order the $apply result by '{name}'; it has: {', '.join(names) or 'no properties'}.",
                code="UnknownProperty",
                target="$orderby",
                details=[ErrorDetail("UnknownProperty", f"'{name}' is not in the $apply result", name)],
            )


def apply_select(
    spec: EntitySpec,
    tenant_id: int,
    apply: Apply,
    *,
    where: sa.ColumnElement[bool] | None = None,
    order_by: Sequence[tuple[str, bool]] = (),
) -> sa.Select[Any]:
    """The SQL for the tenant's result of ``apply``; its rows go to :func:`encode_rows`.

    ``where`` (a compiled ``$filter`` on the entity) restricts the input rows like a leading
    ``filter()`` step. Groups are ordered by ``order_by`` (output names), then by every group key,
    so pages are deterministic; without an aggregation, rows end in ``id`` order.
    """
    if spec.name != apply.spec.name:
        raise ValueError(f"$apply was parsed for {apply.spec.name}, not {spec.name}")
    _check_order(apply, order_by)
    table = spec.table
    conditions = [table.c.tenant_id == tenant_id, *apply.filters]
    if where is not None:
        conditions.append(where)
    if not apply.aggregated:
        order = [_ordering(table.c[name], descending) for name, descending in order_by]
        return sa.select(*(f.column for f in spec.columns)).where(*conditions).order_by(*order, table.c.id.asc())

    values = [key.expression.label(f"k{i}") for i, key in enumerate(apply.keys)]
    values += [a.expression.label(f"v{j}") for j, a in enumerate(apply.aggregations) if a.expression is not None]
    if not values:
        values = [sa.literal(1).label("row")]
    rows = sa.select(*values).where(*conditions).subquery("apply_input")
    keys = [rows.c[f"k{i}"] for i in range(len(apply.keys))]
    measures = [_measure(a, rows.c.get(f"v{j}")).label(f"a{j}") for j, a in enumerate(apply.aggregations)]
    grouped = sa.select(*keys, *measures).select_from(rows)
    if keys:
        grouped = grouped.group_by(*keys)
    result = grouped.subquery("apply_output")

    by_name = {key.name: result.c[f"k{i}"] for i, key in enumerate(apply.keys)}
    by_name |= {a.alias: result.c[f"a{j}"] for j, a in enumerate(apply.aggregations)}
    statement = sa.select(*result.c)
    if apply.output_filters:
        assert apply.output is not None
        stand_ins = {apply.output.c[name]: column for name, column in by_name.items() if name in apply.output.c}

        def swap(element: Any, **_: Any) -> Any:
            return stand_ins.get(element)

        statement = statement.where(*(visitors.replacement_traverse(f, {}, swap) for f in apply.output_filters))
    ordered = [name for name, _ in order_by]
    order = [_ordering(by_name[name], descending) for name, descending in order_by]
    order += [_ordering(by_name[key.name], False) for key in apply.keys if key.name not in ordered]
    return statement.order_by(*order)


def count_select(
    spec: EntitySpec, tenant_id: int, apply: Apply, *, where: sa.ColumnElement[bool] | None = None
) -> sa.Select[Any]:
    """``$count=true`` with ``$apply``: the number of result rows (groups), before paging."""
    inner = apply_select(spec, tenant_id, apply, where=where).order_by(None).subquery("apply_count")
    return sa.select(sa.func.count()).select_from(inner)


# --- Output -------------------------------------------------------------------------------------


def _encode(field: Field, value: Any) -> Any:
    if value is None:
        return None
    if field.kind is Kind.INT32:
        return int(value)
    return encode_value(field, value)


def encode_rows(apply: Apply, rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows of :func:`apply_select` as JSON objects: nested objects for navigation keys, then aliases.

    ``groupby((company/name),aggregate(price with sum as Total))`` gives
    ``{"company": {"name": "ACME"}, "Total": 12.5}``. A key behind an empty or dangling
    reference is ``null`` at the leaf.
    """
    if not apply.aggregated:
        return [encode_row(apply.spec.columns, row) for row in rows]
    result: list[dict[str, Any]] = []
    for row in rows:
        encoded: dict[str, Any] = {}
        for key, value in zip(apply.keys, row, strict=False):
            node = encoded
            for segment in key.path[:-1]:
                node = node.setdefault(segment, {})
            node[key.path[-1]] = _encode(key.field, value)
        for aggregation, value in zip(apply.aggregations, row[len(apply.keys) :], strict=True):
            encoded[aggregation.alias] = _encode(aggregation.output, value)
        result.append(encoded)
    return result


def context_properties(apply: Apply) -> list[str]:
    """The property list of ``@odata.context``: ``Jobs(company(name),Total)``.

    Navigation keys nest as OData writes them (``company(name,city)``). An empty list means the
    entity's own shape (an ``$apply`` made only of ``filter()`` steps).
    """
    if not apply.aggregated:
        return []
    tree: dict[str, Any] = {}
    for key in apply.keys:
        node = tree
        for segment in key.path:
            node = node.setdefault(segment, {})

    def render(node: dict[str, Any]) -> list[str]:
        return [name + (f"({','.join(render(child))})" if child else "") for name, child in node.items()]

    return render(tree) + [a.alias for a in apply.aggregations]
