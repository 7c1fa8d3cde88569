"""``$filter`` → a SQLAlchemy boolean clause, bound to an entity of the registry.

odata-query parses the text (extended in :mod:`odyssee.odata.filter_syntax`); this module owns
the binding. Every sub-expression is bound to a :class:`Typed` — SQL plus its Edm type — so
that operators and functions are checked (``name eq 5`` and ``year(name)`` are clear 400s) and
literals take the type of what they are compared with. That typing is what makes the Odyssee
compatibility forms behave the same on both engines: a quoted string beside a datetime is a
datetime (``modified_dateutc gt '2015-07-14T13:08:00.000Z'``), a quoted or unquoted GUID beside
a GUID property is a GUID.

Two conventions keep the logic two-valued, so ``not`` means what a user expects (see
``docs/odata-compat.md``): ``null`` is the empty value of the other operand's type (no column is
nullable), and a path through a missing related row (``company/name`` with no company) reads
as that empty value too. Only division or modulo by zero yields SQL NULL, and any comparison
involving it is false.

Navigation: to-one paths become correlated scalar subqueries (:func:`paths.resolve`),
``nav/any(…)``, ``nav/all(…)`` and ``nav/$count`` become EXISTS / COUNT subqueries over
:func:`paths.step` aliases, which carry the tenant condition.
"""

from __future__ import annotations

import difflib
import enum
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

import sqlalchemy as sa
from odata_query import ast
from sly.lex import Token  # type: ignore[import-untyped]

from odyssee.model.conventions import EMPTY_GUID, NULL_DATE, utcnow
from odyssee.model.errors import ErrorDetail, InvalidQuery
from odyssee.model.registry import EntitySpec, Kind, registry
from odyssee.model.types import Guid, Money, UtcDateTime
from odyssee.model.values import parse_datetime, parse_guid
from odyssee.odata import sqlfunctions as fn
from odyssee.odata.filter_syntax import LITERAL_TOKENS, DivBy, Parsed, full_name, parse_filter
from odyssee.odata.paths import Step, navigation_of, resolve, step, unknown_member, walk

__all__ = ["Slotted", "compile_filter", "compile_slotted", "parse_filter", "unknown_property", "with_values"]

OPTION = "$filter"


def unknown_property(spec: EntitySpec, name: str, option: str) -> InvalidQuery:
    """The error for a property name the entity does not have, with a suggestion when one is close."""
    names = [f.name for f in spec.fields]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return InvalidQuery(
        f"{spec.name} has no property '{name}'.{hint}",
        code="UnknownProperty",
        target=option,
        details=[ErrorDetail("UnknownProperty", f"'{name}' is not a property of {spec.name}", name)],
    )


class T(enum.Enum):
    """The types a ``$filter`` sub-expression can have."""

    STRING = "Edm.String"
    BOOLEAN = "Edm.Boolean"
    INTEGER = "Edm.Int32"
    DECIMAL = "Edm.Decimal"
    DATETIME = "Edm.DateTimeOffset"
    DATE = "Edm.Date"
    TIME = "Edm.TimeOfDay"
    GUID = "Edm.Guid"
    NULL = "null"


NUMERIC = frozenset({T.INTEGER, T.DECIMAL})
_OF_KIND = {
    Kind.STRING: T.STRING,
    Kind.BOOLEAN: T.BOOLEAN,
    Kind.INT32: T.INTEGER,
    Kind.DECIMAL: T.DECIMAL,
    Kind.DATETIME: T.DATETIME,
    Kind.GUID: T.GUID,
}
_SQL_TYPE: dict[T, Any] = {
    T.STRING: sa.String(),
    T.BOOLEAN: sa.Boolean(),
    T.INTEGER: sa.BigInteger(),
    T.DECIMAL: Money(),
    T.DATETIME: UtcDateTime(),
    T.DATE: sa.Date(),
    T.TIME: fn.TimeOfDay(),
    T.GUID: Guid(),
}
EMPTY: dict[T, Any] = {
    T.STRING: "",
    T.BOOLEAN: False,
    T.INTEGER: 0,
    T.DECIMAL: 0.0,
    T.DATETIME: NULL_DATE,
    T.DATE: NULL_DATE.date(),
    T.TIME: time(0),
    T.GUID: EMPTY_GUID,
}
"""What ``null`` means beside each type: the empty value of model/conventions.py."""
_INT64 = 2**63


@dataclass(frozen=True)
class Typed:
    """A bound sub-expression."""

    sql: Any
    type: T
    label: str
    """How errors name it: ``'name'``, ``tolower(…)``, ``the literal 'x'``."""
    nullable: bool = False
    """Only arithmetic that divides can be SQL NULL; comparisons with it are made false."""
    literal: ast._Node | None = None
    """The literal it was bound from, which may still be re-typed by what it is compared with."""


@dataclass(frozen=True)
class Scope:
    """What a name stands for: the entity being filtered (``$it``) or a lambda variable."""

    spec: EntitySpec
    source: sa.FromClause


def _literal_value(node: ast._Node) -> tuple[T, Any]:
    """A literal on its own, typed by its own syntax."""
    if isinstance(node, ast.String):
        if "\x00" in node.val:
            raise ValueError("a string literal cannot contain a NUL character")
        return T.STRING, node.val
    if isinstance(node, ast.Boolean):
        return T.BOOLEAN, node.py_val
    if isinstance(node, ast.Integer):
        return T.INTEGER, int(node.val)
    if isinstance(node, ast.Float):
        return T.DECIMAL, float(node.val)
    if isinstance(node, ast.DateTime):
        return T.DATETIME, parse_datetime(node.val)
    if isinstance(node, ast.Date):
        return T.DATE, date.fromisoformat(node.val)
    if isinstance(node, ast.Time):
        return T.TIME, _parse_time(node.val)
    if isinstance(node, ast.GUID):
        return T.GUID, parse_guid(node.val)
    raise ValueError(f"{type(node).__name__.lower()} literals are not supported")


_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,12}))?)?$")


def _parse_time(text: str) -> time:
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a time of day (expected e.g. 13:08:00.000)")
    hour, minute, second, fraction = match.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6]) // 1000 * 1000
    try:
        return time(int(hour), int(minute), int(second or 0), micro)
    except ValueError as error:
        raise ValueError(f"'{text}' is not a valid time of day: {error}") from None


def _as(node: ast._Node, target: T) -> Any:
    """A literal converted to ``target``, with the Odyssee compatibility forms; ValueError if it cannot be."""
    if target is T.DATETIME and isinstance(node, ast.String | ast.DateTime | ast.Date):
        return parse_datetime(node.val)
    if target is T.GUID and isinstance(node, ast.String | ast.GUID):
        return parse_guid(node.val)
    if target is T.DATE and isinstance(node, ast.String | ast.Date):
        try:
            return date.fromisoformat(node.val)
        except ValueError:
            raise ValueError(f"'{node.val}' is not a date (expected e.g. 2026-01-02)") from None
    if target is T.TIME and isinstance(node, ast.String | ast.Time):
        return _parse_time(node.val)
    kind, value = _literal_value(node)
    if kind is target or (kind in NUMERIC and target in NUMERIC):
        return value
    raise ValueError(f"{_a(kind)} literal cannot be used as {target.value}")


def _a(kind: T) -> str:
    return {T.STRING: "a string", T.INTEGER: "an integer", T.DECIMAL: "a decimal"}.get(kind, f"a {kind.value}")


def _checked(value: Any, kind: T) -> Any:
    if kind is T.INTEGER and not -_INT64 <= value < _INT64:
        raise ValueError(f"{value} is outside the 64-bit integer range")
    return value


def _bind(value: Any, kind: T) -> Any:
    return sa.bindparam(None, _checked(value, kind), type_=_SQL_TYPE[kind])


def _slot_value(node: ast._Node, kind: T) -> Any:
    """A compared literal's value as :meth:`_Binder._pair` computes it: converted to the type it is
    compared as (``_as`` gives a literal that already has it its own value). ValueError as there."""
    return _checked(_as(node, kind), kind)


_COMPARE: dict[type[ast._Comparator], Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_COMPARE_NAME = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.In: "in"}
_ARITHMETIC_NAME = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", DivBy: "divby", ast.Mod: "mod"}


def _two_valued(typed: Sequence[Typed], clause: Any) -> Any:
    """A comparison that is false, not unknown, when an operand is NULL (a division by zero)."""
    if any(t.nullable for t in typed):
        return sa.func.coalesce(clause, sa.false())
    return clause


# --- functions -----------------------------------------------------------------------------

Builder = Callable[[list[Typed]], Any]


@dataclass(frozen=True)
class Function:
    """A ``$filter`` function: the types it accepts per argument, its result, its SQL."""

    params: tuple[frozenset[T], ...]
    result: T | None
    """None: the type of the first argument (round, floor, ceiling)."""
    build: Builder


def _f(params: Sequence[T | frozenset[T]], result: T | None, build: Builder) -> Function:
    return Function(tuple(p if isinstance(p, frozenset) else frozenset({p}) for p in params), result, build)


def _like(kind: str) -> Builder:
    """contains/startswith/endswith: LIKE with the literal escaped (``'50%'`` matches literally);
    with a non-literal argument, by position, which needs no escaping at all."""

    def build(args: list[Typed]) -> Any:
        text, part = args
        if part.literal is not None:
            method = getattr(text.sql, kind)
            return method(_literal_value(part.literal)[1], autoescape=True)
        if kind == "contains":
            return fn.position(text.sql, part.sql) > 0
        size = sa.func.length(part.sql)
        start = 1 if kind == "startswith" else sa.func.length(text.sql) - size + 1
        return sa.and_(sa.func.length(text.sql) >= size, sa.func.substr(text.sql, start, size) == part.sql)

    return build


def _non_negative(value: Any) -> Any:
    return sa.case((value < 0, 0), else_=value)


def _substring(args: list[Typed]) -> Any:
    """0-based like OData; a negative start or length counts as 0 (PostgreSQL refuses negative lengths)."""
    start = sa.cast(_non_negative(args[1].sql), sa.Integer) + 1
    if len(args) == 2:
        return sa.func.substr(args[0].sql, start)
    return sa.func.substr(args[0].sql, start, sa.cast(_non_negative(args[2].sql), sa.Integer))


def _math(build: Callable[[Any], Any]) -> Builder:
    """round/floor/ceiling: integers are already whole."""
    return lambda args: args[0].sql if args[0].type is T.INTEGER else build(args[0].sql)


def _constant(value: Any, kind: T) -> Builder:
    """A constant; a callable one (``now()``) is called each time the statement runs: the parsed
    query and its statement are reused by every request with the same text (odata/options.py)."""
    if callable(value):
        return lambda _args: sa.bindparam(None, callable_=value, type_=_SQL_TYPE[kind])
    return lambda _args: _bind(value, kind)


STRING, NUMBER, DATETIME = T.STRING, NUMERIC, T.DATETIME
FUNCTIONS: dict[str, Function] = {
    "contains": _f([STRING, STRING], T.BOOLEAN, _like("contains")),
    "startswith": _f([STRING, STRING], T.BOOLEAN, _like("startswith")),
    "endswith": _f([STRING, STRING], T.BOOLEAN, _like("endswith")),
    "length": _f([STRING], T.INTEGER, lambda a: sa.func.length(a[0].sql)),
    "indexof": _f([STRING, STRING], T.INTEGER, lambda a: fn.position(a[0].sql, a[1].sql) - 1),
    "substring": _f([STRING, T.INTEGER, T.INTEGER], T.STRING, _substring),
    "tolower": _f([STRING], T.STRING, lambda a: fn.lower(a[0].sql)),
    "toupper": _f([STRING], T.STRING, lambda a: fn.upper(a[0].sql)),
    "trim": _f([STRING], T.STRING, lambda a: sa.func.trim(a[0].sql)),
    "concat": _f([STRING, STRING], T.STRING, lambda a: a[0].sql.concat(a[1].sql)),
    **{
        part: _f([DATETIME], T.INTEGER, lambda a, part=part: fn.date_part(part, a[0].sql))  # type: ignore[misc]
        for part in ("year", "month", "day", "hour", "minute", "second")
    },
    "fractionalseconds": _f([DATETIME], T.DECIMAL, lambda a: fn.fractional_seconds(a[0].sql)),
    "date": _f([DATETIME], T.DATE, lambda a: fn.date_of(a[0].sql)),
    "time": _f([DATETIME], T.TIME, lambda a: fn.time_of(a[0].sql)),
    "totaloffsetminutes": _f([DATETIME], T.INTEGER, lambda _a: _bind(0, T.INTEGER)),
    "now": _f([], T.DATETIME, _constant(utcnow, T.DATETIME)),
    "mindatetime": _f([], T.DATETIME, _constant(datetime(1, 1, 1, tzinfo=UTC), T.DATETIME)),
    "maxdatetime": _f([], T.DATETIME, _constant(datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), T.DATETIME)),
    "round": _f([NUMBER], None, _math(fn.round_half_away)),
    "floor": _f([NUMBER], None, _math(fn.floor)),
    "ceiling": _f([NUMBER], None, _math(fn.ceiling)),
}
"""Every supported function; see docs/odata-compat.md for the semantics both engines share."""


# --- the binder ----------------------------------------------------------------------------


class _Binder:
    def __init__(self, spec: EntitySpec, parsed: Parsed, *, slotted: bool = False) -> None:
        self.root = Scope(spec, spec.table)
        self.parsed = parsed
        self.variables: dict[str, Scope] = {}
        self.slot_of: dict[int, int] | None = None
        """With ``slotted``: literal token value (its ``id``) → its index among the text's literals."""
        self.slots: dict[int, Callable[[ast._Node], Any]] = {}
        """Literal index → how its parameter's value is computed from the literal (compile_slotted)."""
        if slotted:
            literals = [token.value for token in parsed.tokens if token.type in LITERAL_TOKENS]
            self.slot_of = {id(value): index for index, value in enumerate(literals)}

    def _slot(self, typed: Typed) -> Typed:
        """A compared literal as the named parameter of its place in the text, remembering how its
        value was computed, so that a text differing only in literals can reuse the SQL."""
        literal, bind = typed.literal, typed.sql
        if self.slot_of is None or literal is None or not isinstance(bind, sa.BindParameter):
            return typed
        index = self.slot_of.get(id(literal))
        if index is None:
            return typed
        self.slots[index] = functools.partial(_slot_value, kind=typed.type)
        return replace(typed, sql=sa.bindparam(SLOT.format(index), bind.value, type_=bind.type))

    # errors

    def error(
        self, message: str, node: ast._Node | None = None, code: str = "InvalidFilter", subject: str | None = None
    ) -> InvalidQuery:
        """``subject``: the property the error is about, named in ``details`` for programs to read."""
        where = self.parsed.at(node) if node is not None else ""
        details = [ErrorDetail(code, message, subject)] if subject else []
        return InvalidQuery(f"Invalid $filter{where}: {message}", code=code, target=OPTION, details=details)

    # dispatch

    def bind(self, node: ast._Node) -> Typed:
        method: Callable[[Any], Typed] | None = getattr(self, f"_bind_{type(node).__name__}", None)
        if method is not None:
            return method(node)
        if isinstance(node, ast._Literal):
            return self._literal(node)
        raise self.error(f"{type(node).__name__} is not supported here.", node)

    def condition(self, node: ast._Node) -> Any:
        typed = self.bind(node)
        if typed.type is not T.BOOLEAN:
            raise self.error(f"{typed.label} is {typed.type.value}, not a boolean condition.", node)
        return _two_valued([typed], typed.sql)

    # literals

    def _literal(self, node: ast._Node) -> Typed:
        if isinstance(node, ast.Null):
            return Typed(sa.null(), T.NULL, "null", literal=node)
        try:
            kind, value = _literal_value(node)
            return Typed(_bind(value, kind), kind, f"the literal {self._text(node)}", literal=node)
        except ValueError as error:
            raise self.error(f"{error}.", node, "InvalidLiteral") from None

    def _text(self, node: ast._Node) -> str:
        return repr(getattr(node, "val", "")) if isinstance(node, ast.String) else str(getattr(node, "val", node))

    def _retype(self, typed: Typed, target: T, context: str, subject: str | None = None) -> Typed:
        """``typed`` as ``target``: a literal is converted (keeping its own numeric type), anything
        else must already fit. ``context`` starts the error message."""
        fits = typed.type is target or (typed.type in NUMERIC and target in NUMERIC)
        if typed.literal is None or isinstance(typed.literal, ast.Null) or fits:
            if fits:
                return typed
            raise self.error(f"{context}, and {typed.label} is {typed.type.value}.", typed.literal, "TypeMismatch")
        try:
            value = _as(typed.literal, target)
            return replace(typed, sql=_bind(value, target), type=target)
        except ValueError as error:
            raise self.error(f"{context}; {error}.", typed.literal, "InvalidLiteral", subject=subject) from None

    def _pair(self, left: Typed, right: Typed, operator: str) -> tuple[Typed, Typed]:
        """Give a literal (or ``null``) the type of the expression on the other side, then check they match."""
        if left.literal is not None and right.literal is None:
            right, left = self._pair(right, left, operator)
            return left, right
        if T.NULL in (left.type, right.type) and left.type is not right.type:
            if left.type is T.NULL:
                left = replace(left, sql=_bind(EMPTY[right.type], right.type), type=right.type)
            else:
                right = replace(right, sql=_bind(EMPTY[left.type], left.type), type=left.type)
            return left, right
        if right.literal is not None:
            right = self._retype(right, left.type, f"{left.label} is {left.type.value}", subject=left.label.strip("'"))
        if left.type is not right.type and not (left.type in NUMERIC and right.type in NUMERIC):
            raise self.error(
                f"cannot compare with {operator}: {left.label} is {left.type.value} "
                f"and {right.label} is {right.type.value}.",
                right.literal or left.literal,
                "TypeMismatch",
            )
        return left, right

    # comparison and logic

    def _bind_Compare(self, node: ast.Compare) -> Typed:
        name = _COMPARE_NAME[type(node.comparator)]
        left = self.bind(node.left)
        if isinstance(node.comparator, ast.In):
            return self._in(node, left)
        right = self.bind(node.right)
        if T.NULL in (left.type, right.type) and name not in ("eq", "ne"):
            raise self.error(f"null can only be compared with eq or ne, not {name}.", node.comparator)
        left, right = self._pair(left, right, name)
        if left.type is T.NULL:
            return Typed(sa.true() if name == "eq" else sa.false(), T.BOOLEAN, "null comparison")
        left, right = self._slot(left), self._slot(right)
        first = fn.binary_order(left.sql) if left.type is T.STRING and name not in ("eq", "ne") else left.sql
        clause = _COMPARE[type(node.comparator)](first, right.sql)
        return Typed(_two_valued([left, right], clause), T.BOOLEAN, f"a comparison with {name}")

    def _in(self, node: ast.Compare, left: Typed) -> Typed:
        if not isinstance(node.right, ast.List):
            raise self.error("in needs a parenthesised list, e.g. name in ('a', 'b').", node.comparator)
        if left.type is T.NULL:
            raise self.error("null cannot be the left operand of in.", node.comparator)
        items = [self._pair(left, self.bind(item), "in")[1] for item in node.right.val]
        clause = left.sql.in_([item.sql for item in items])
        return Typed(_two_valued([left, *items], clause), T.BOOLEAN, "an in comparison")

    def _bind_BoolOp(self, node: ast.BoolOp) -> Typed:
        """A chain ``a and b and c …`` is bound as one flat AND: a filter listing thousands of
        alternatives must not nest thousands of Python calls deep."""
        combine = sa.and_ if isinstance(node.op, ast.And) else sa.or_
        operands: list[ast._Node] = []
        stack: list[ast._Node] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, ast.BoolOp) and type(current.op) is type(node.op):
                stack += (current.right, current.left)
            else:
                operands.append(current)
        return Typed(combine(*(self.condition(operand) for operand in operands)), T.BOOLEAN, "a condition")

    def _bind_UnaryOp(self, node: ast.UnaryOp) -> Typed:
        if isinstance(node.op, ast.Not):
            return Typed(sa.not_(self.condition(node.operand)), T.BOOLEAN, "a condition")
        operand = self.bind(node.operand)
        if operand.type not in NUMERIC:
            raise self.error(f"unary minus needs a number, and {operand.label} is {operand.type.value}.", node.op)
        operand = self._slot(operand)  # -5: a literal no longer, so nothing looks at its value again
        return replace(operand, sql=-operand.sql, label=f"-{operand.label}", literal=None)

    # arithmetic

    def _bind_BinOp(self, node: ast.BinOp) -> Typed:
        name = _ARITHMETIC_NAME[type(node.op)]
        left, right = self.bind(node.left), self.bind(node.right)
        for side in (left, right):
            if side.type not in NUMERIC:
                raise self.error(
                    f"{name} needs numbers, and {side.label} is {side.type.value}.", side.literal or node.op
                )
        integer = left.type is T.INTEGER and right.type is T.INTEGER
        result = T.INTEGER if integer and name != "divby" else T.DECIMAL
        label = f"({left.label} {name} {right.label})"
        if name in ("add", "sub", "mul"):
            sql = {"add": left.sql + right.sql, "sub": left.sql - right.sql, "mul": left.sql * right.sql}[name]
            return Typed(sql, result, label, nullable=left.nullable or right.nullable)
        if right.literal is not None and _literal_value(right.literal)[1] == 0:
            raise self.error(f"{name} by zero.", node.op)
        divisor = sa.func.nullif(right.sql, 0)
        if name == "mod":
            sql = left.sql.op("%")(divisor) if integer else fn.decimal_mod(left.sql, divisor)
        else:
            dividend = left.sql if integer and name == "div" else fn.as_decimal(left.sql)
            sql = dividend.op("/", return_type=_SQL_TYPE[result])(divisor)
        return Typed(sql, result, label, nullable=True)

    # functions

    def _bind_Call(self, node: ast.Call) -> Typed:
        name = full_name(node.func)
        function = FUNCTIONS.get(name)
        if function is None:
            raise self.error(f"the function {name}() is not supported.", node.func, "UnknownFunction")
        args = [self.bind(arg) for arg in node.args]
        typed: list[Typed] = []
        for index, (arg, accepted) in enumerate(zip(args, function.params, strict=False)):
            wanted = " or ".join(sorted(t.value for t in accepted))
            context = f"argument {index + 1} of {name}() must be {wanted}"
            if arg.type in accepted:
                typed.append(arg)
            elif arg.literal is not None and len(accepted) == 1:
                typed.append(self._retype(arg, next(iter(accepted)), context))
            else:
                message = f"{context}, and {arg.label} is {arg.type.value}."
                raise self.error(message, arg.literal or node.func, "TypeMismatch")
        result = function.result or typed[0].type
        return Typed(
            function.build(typed),
            result,
            f"{name}(…)",
            nullable=any(arg.nullable for arg in typed),
        )

    # names and paths

    def _bind_Identifier(self, node: ast.Identifier) -> Typed:
        return self._path(node, [node.name])

    def _bind_Attribute(self, node: ast.Attribute) -> Typed:
        return self._path(node, self._segments(node))

    def _segments(self, node: ast._Node) -> list[str]:
        if isinstance(node, ast.Identifier):
            return [node.name]
        if isinstance(node, ast.Attribute):
            return [*self._segments(node.owner), node.attr]
        raise self.error(f"{type(node).__name__} cannot start a path.", node)

    def _scope(self, node: ast._Node, segments: list[str]) -> tuple[Scope, list[str]]:
        """Who the first segment refers to: a lambda variable, ``$it``, or (unqualified) the filtered entity."""
        head, *rest = segments
        if head in self.variables or head == "$it":
            scope = self.variables.get(head, self.root)
            if not rest:
                raise self.error(
                    f"'{head}' stands for a {scope.spec.name} entity; use {head}/<property>.", node, "InvalidPath"
                )
            return scope, rest
        spec = self.root.spec
        if spec.field(head) is None and spec.navigation(head) is None:
            in_scope = f" nor a lambda variable in scope ({', '.join(self.variables)})" if self.variables else ""
            close = difflib.get_close_matches(head, [f.name for f in spec.fields] + [*self.variables], n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise self.error(
                f"'{head}' is neither a property nor a navigation of {spec.name}{in_scope}.{hint}",
                node,
                "UnknownProperty",
                subject=head,
            )
        return self.root, segments

    def _path(self, node: ast._Node, segments: list[str]) -> Typed:
        scope, names = self._scope(node, segments)
        if names[-1] == "$count":
            return self._count(node, scope, names[:-1])
        label = "'" + "/".join(segments) + "'"
        *hops, last = names
        reached = walk(scope.spec, scope.source, hops, OPTION)[0]
        if reached.field(last) is None:
            if reached.navigation(last) is not None:
                raise self.error(
                    f"{label} is a navigation property; compare one of its properties, e.g. {last}/id.",
                    node,
                    "InvalidPath",
                )
            raise unknown_member(reached, last, OPTION)
        field, sql = resolve(scope.spec, scope.source, names, OPTION)
        kind = _OF_KIND.get(field.kind)
        if kind is None:
            raise self.error(f"{label} is {field.kind.value}, which $filter cannot compare.", node)
        if hops:
            sql = sa.func.coalesce(sql, _bind(EMPTY[kind], kind))
        return Typed(sql, kind, label)

    def _collection(self, node: ast._Node, scope: Scope, names: list[str], what: str) -> tuple[Step, list[Any]]:
        """The last step of ``names`` (a to-many navigation) and the conditions joining every step."""
        if not names:
            raise self.error(f"{what} needs a collection navigation before it.", node, "InvalidPath")
        spec, source, steps = walk(scope.spec, scope.source, names[:-1], OPTION)
        navigation = navigation_of(spec, names[-1], OPTION)
        if not navigation.many:
            spec = registry().by_table(navigation.target)
            raise self.error(
                f"'{names[-1]}' leads to a single {spec.name} row, not a collection; "
                f"{what} needs a to-many navigation.",
                node,
                "InvalidPath",
            )
        last = step(navigation, source)
        return last, [*(s.condition for s in steps), last.condition]

    def _correlated(self, query: sa.Select[Any]) -> sa.Select[Any]:
        """Correlate with the filtered table and every enclosing lambda's alias, however deep: SQLAlchemy
        only auto-correlates with the immediately enclosing query."""
        return query.correlate(self.root.source, *(scope.source for scope in self.variables.values()))

    def _count(self, node: ast._Node, scope: Scope, names: list[str]) -> Typed:
        last, conditions = self._collection(node, scope, names, "$count")
        query = self._correlated(sa.select(sa.func.count()).select_from(last.alias).where(*conditions))
        return Typed(query.scalar_subquery(), T.INTEGER, "'" + "/".join([*names, "$count"]) + "'")

    def _bind_CollectionLambda(self, node: ast.CollectionLambda) -> Typed:
        scope, names = self._scope(node.owner, self._segments(node.owner))
        operator = "any" if isinstance(node.operator, ast.Any) else "all"
        last, conditions = self._collection(node.owner, scope, names, f"{operator}()")
        query = self._correlated(sa.select(sa.literal_column("1")).select_from(last.alias).where(*conditions))
        if node.lambda_ is None:
            return Typed(query.exists(), T.BOOLEAN, f"{operator}()")
        variable = node.lambda_.identifier.name
        outer = self.variables
        self.variables = {**outer, variable: Scope(last.spec, last.alias)}
        try:
            predicate = self.condition(node.lambda_.expression)
        finally:
            self.variables = outer
        if operator == "any":
            return Typed(query.where(predicate).exists(), T.BOOLEAN, "any(…)")
        return Typed(~query.where(sa.not_(predicate)).exists(), T.BOOLEAN, "all(…)")


def compile_filter(spec: EntitySpec, text: str) -> sa.ColumnElement[bool]:
    """The WHERE clause for ``$filter=text`` on ``spec`` (tenant conditions of subqueries included;
    the caller adds the tenant condition of ``spec.table`` itself)."""
    parsed = parse_filter(text)
    binder = _Binder(spec, parsed)
    clause: sa.ColumnElement[bool] = binder.condition(parsed.tree)
    return clause


SLOT = "odyssee_literal_{}"
"""The parameter name of the text's n-th literal, in a clause made by :func:`compile_slotted`."""


@dataclass(frozen=True)
class Slotted:
    """A ``$filter`` clause whose literals are named parameters, and how to give them the values of
    another text of the same shape (odata/filter_syntax.py ``literal_shape``)."""

    where: sa.ColumnElement[bool]
    converters: tuple[Callable[[ast._Node], Any], ...] | None
    """Per literal, its parameter's value from the literal; ``None`` when a literal is used
    otherwise than compared with an expression (in a function, a list, arithmetic): its value may
    change the SQL or raise an error of its own, so such a text is always parsed in full."""

    def values(self, literals: Sequence[ast._Node]) -> dict[str, Any] | None:
        """The parameters for ``literals``; ``None`` when one does not convert (the full parse of
        that text then reports it with its position)."""
        assert self.converters is not None
        pairs = enumerate(zip(self.converters, literals, strict=True))
        try:
            return {SLOT.format(i): convert(node) for i, (convert, node) in pairs}
        except ValueError:
            return None


Clause = TypeVar("Clause", bound=sa.ClauseElement)


def with_values(clause: Clause, values: Mapping[str, Any]) -> Clause:
    """A copy of a :func:`compile_slotted` clause, or of a statement made with one, with other
    values for its named parameters. Not ``Select.params``: SQLAlchemy 2.1 applies those when it
    executes the statement, and db/direct.py executes it without SQLAlchemy."""

    def revalue(bind: sa.BindParameter[Any]) -> None:
        if bind.key in values:
            bind.value = values[bind.key]

    return sa.sql.visitors.cloned_traverse(clause, {}, {"bindparam": revalue})


def compile_slotted(spec: EntitySpec, text: str, tokens: list[Token] | None = None) -> Slotted:
    """:func:`compile_filter`, with each compared literal a parameter named for its place in the text.

    A poller's ``$filter`` changes with every poll (``modified_dateutc gt <its watermark>``), and
    parsing, binding and building the SQL of a new text cost three times running it. A text of
    the same shape reuses all of that and supplies its own values (odata/options.py): every
    check that depends on a literal's value is in its converter, so it passes or fails exactly as
    the full parse would, and anything else sends the text through the full parse. ``tokens``:
    the text's, from odata/filter_syntax.py ``literal_shape``."""
    parsed = parse_filter(text, tokens)
    binder = _Binder(spec, parsed, slotted=True)
    clause: sa.ColumnElement[bool] = binder.condition(parsed.tree)
    count = sum(token.type in LITERAL_TOKENS for token in parsed.tokens)
    named = {bind.key for bind in sa.sql.visitors.iterate(clause) if isinstance(bind, sa.BindParameter)}
    complete = len(binder.slots) == count and all(SLOT.format(i) in named for i in range(count))
    converters = tuple(binder.slots[i] for i in range(count)) if complete else None
    return Slotted(clause, converters)
