"""SQL that returns GUIDs and datetimes already in their wire form (``docs/formats.md``).

Reading an entity page used to turn every GUID column into a ``uuid.UUID`` and every datetime
into a ``datetime`` (SQLAlchemy's result processing), only for the serializer to turn them back
into strings: with a dozen GUID and date columns per row that was most of the cost of a page
(bench/suite.py). The database formats them instead, in C, and the row holds the string the
client receives:

* GUID — lower-case ``8-4-4-4-12`` hex. PostgreSQL's ``uuid::text`` is exactly that.
* datetime — UTC with exactly three fraction digits and ``Z``, as :func:`~odyssee.model.values.format_datetime`:
  PostgreSQL's ``to_char`` of the UTC time.

SQLite stores both as text already: a GUID exactly in its wire form (model/types.py ``Guid``), so
it is read as stored; a datetime as ``YYYY-MM-DD hh:mm:ss.ffffff``, which the result type
reshapes in Python (cheaper than SQLite's string functions per value, measured). Both give NULL
for NULL.

PostgreSQL evaluates the select list before a sort: formatting must apply to the rows a page
returns, not to every row the sort sees, so odata/query.py formats in an outer query around
the ordered, limited one. ``tests/odata/test_wire.py`` checks them against the Python formatting
on both engines, for the edge values (year 1, the null date, the last millisecond of a day).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from odyssee.model.registry import Field, Kind
from odyssee.model.values import format_datetime


def _instant(text: str | None) -> str | None:
    if text is None:
        return None
    if len(text) == 26:  # what SQLAlchemy writes: YYYY-MM-DD hh:mm:ss.ffffff, at millisecond precision here
        return f"{text[:10]}T{text[11:23]}Z"
    return format_datetime(datetime.fromisoformat(text))


class _WireText(sa.types.TypeDecorator[str]):
    """Text from the database; on SQLite, the stored text reshaped in Python (see the module doc)."""

    impl = sa.String
    cache_ok = True
    sqlite: Callable[[Any], Any] | None = None

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        return self.sqlite if dialect.name == "sqlite" else None


class _GuidText(_WireText):
    """SQLite stores the wire text itself (model/types.py ``Guid``)."""


class _InstantText(_WireText):
    sqlite = staticmethod(_instant)


class guid_text(FunctionElement[str]):  # noqa: N801 - SQL function names are lower case
    """A GUID column as its canonical text."""

    type = _GuidText()
    name = "guid_text"
    inherit_cache = True


class instant_text(FunctionElement[str]):  # noqa: N801
    """A datetime column as ``YYYY-MM-DDThh:mm:ss.fffZ``."""

    type = _InstantText()
    name = "instant_text"
    inherit_cache = True


def _argument(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    (argument,) = element.clauses
    return compiler.process(argument, **kw)


@compiles(guid_text, "sqlite")
@compiles(instant_text, "sqlite")
def _stored_text(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return _argument(element, compiler, **kw)


@compiles(guid_text)
def _guid_postgresql(element: guid_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({_argument(element, compiler, **kw)} AS TEXT)"


@compiles(instant_text)
def _instant_postgresql(element: instant_text, compiler: SQLCompiler, **kw: Any) -> str:
    column = _argument(element, compiler, **kw)
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""


def wire(field: Field, expression: Any) -> Any:
    """``expression`` (a column of ``field``) as the value the client receives, labelled ``field.name``
    by the caller; columns of other kinds are returned unchanged."""
    if field.kind is Kind.GUID:
        return guid_text(expression)
    if field.kind is Kind.DATETIME:
        return instant_text(expression)
    return expression


ROW_VERSION = "row_version"
"""The column of every entity table holding its version (the ``@odata.etag``)."""

_CONCAT_ARGUMENTS = 90
"""PostgreSQL functions take at most 100 arguments; longer objects are concatenated in chunks."""


def _quoted(text: str) -> str:
    """A string constant as SQL text (names from the model, never client input)."""
    return "'" + text.replace("'", "''") + "'"


def _sql_string(text: str) -> Any:
    return sa.literal_column(_quoted(text), sa.Text)


def _json_value(field: Field, expression: Any) -> Any:
    """``expression`` as JSON text exactly as odata/serialize.py would encode it; ``null`` for NULL.

    Only text that may need escaping (strings) and numbers PostgreSQL must spell (decimals) go
    through ``to_json``, which looks up how to write its argument's type on every call: GUIDs,
    datetimes, integers and booleans are spelled here, a third of the database's time for a
    page of jobs (docs/performance.md)."""
    if field.kind in (Kind.GUID, Kind.DATETIME):
        written = _sql_string('"').op("||")(wire(field, expression)).op("||")(_sql_string('"'))
    elif field.kind is Kind.INT32:
        written = sa.cast(expression, sa.Text)
    elif field.kind is Kind.BOOLEAN:
        return sa.case(
            (expression, _sql_string("true")), (sa.not_(expression), _sql_string("false")), else_=_sql_string("null")
        )
    else:
        if field.kind is Kind.DECIMAL:  # the serializer sends decimals as JSON numbers
            expression = sa.cast(expression, sa.Float)
        elif field.kind is Kind.BINARY:  # base64 without line breaks
            expression = sa.func.translate(sa.func.encode(expression, "base64"), "\n", "")
        written = sa.cast(sa.func.to_json(expression), sa.Text)
    return sa.func.coalesce(written, _sql_string("null"))


def json_object(row_version: Any, properties: list[tuple[Field, Any]]) -> Any:
    """PostgreSQL: one entity as compact JSON text, ``@odata.etag`` (``W/"<row_version>"``) first,
    then ``properties`` in order: what ``serialize.encode_entity`` makes of a row, built by the
    database in C.

    ``json_build_object`` would write ``"name" : value`` with spaces; ``concat`` of each
    property's JSON (:func:`_json_value`) keeps the bytes compact."""
    # The version is an integer: nothing to escape. E'' strings read the backslash before the
    # quote the same whatever the server's standard_conforming_strings.
    parts: list[Any] = [
        sa.literal_column("""E'{"@odata.etag":"W/\\\\"'""", sa.Text),
        row_version,
        sa.literal_column("""E'\\\\""'""", sa.Text),
    ]
    for field, expression in properties:
        parts += [_sql_string("," + orjson.dumps(field.name).decode() + ":"), _json_value(field, expression)]
    parts.append(_sql_string("}"))
    while len(parts) > _CONCAT_ARGUMENTS:
        parts = [sa.func.concat(*parts[i : i + _CONCAT_ARGUMENTS]) for i in range(0, len(parts), _CONCAT_ARGUMENTS)]
    return sa.func.concat(*parts)


class json_entity(sa.ColumnElement[str]):  # noqa: N801 - an SQL expression, named like the others
    """The entity JSON of each row of the page subquery (odata/query.py ``json_page_select``),
    whose columns are named like the properties: :func:`json_object` on PostgreSQL, its SQLite
    spelling below.

    One opaque element, keyed by the property names, in place of the hundred-odd nodes of the
    expression itself: a poll whose ``$filter`` text is new (its watermark moved) builds a new
    statement, and building that expression and walking it for SQLAlchemy's cache key cost more
    than the query (docs/performance.md). The expression is built once per property list, when
    SQLAlchemy first compiles the statement shape."""

    __visit_name__ = "json_entity"
    inherit_cache = True
    _traverse_internals = [("key", InternalTraversal.dp_string)]  # noqa: RUF012 - SQLAlchemy declares it so
    type = sa.Text()

    def __init__(self, fields: tuple[Field, ...]) -> None:
        self.fields = fields
        self.key = ",".join(f"{field.name}:{field.kind.name}" for field in fields)


@functools.lru_cache(maxsize=256)
def _entity_expression(fields: tuple[Field, ...]) -> Any:
    """Unqualified column names: the outer query reads from the page subquery alone."""
    return json_object(sa.column(ROW_VERSION), [(field, sa.column(field.name)) for field in fields])


@compiles(json_entity)
def _compile_json_entity(element: json_entity, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(_entity_expression(element.fields), **kw)


@functools.lru_cache(maxsize=1024)  # per $select: bounded; asked on every list request
def json_writable(fields: tuple[Field, ...], dialect: str) -> bool:
    """Whether ``dialect`` can write these properties as JSON: SQLite has no base64 for binaries."""
    return dialect == "postgresql" or all(field.kind is not Kind.BINARY for field in fields)


_SQLITE_VALUE: dict[Kind, str] = {
    # Text goes into json_object() as a JSON string, integers as numbers, NULL as null; GUIDs are
    # stored as their wire text (model/types.py Guid). What needs reshaping:
    Kind.DATETIME: "CASE WHEN length({c}) = 26 THEN substr({c}, 1, 10) || 'T' || substr({c}, 12, 12) || 'Z' "
    "ELSE strftime('%Y-%m-%dT%H:%M:%fZ', {c}) END",  # 26 characters: as SQLAlchemy writes them
    Kind.BOOLEAN: "CASE WHEN {c} IS NULL THEN NULL WHEN {c} THEN json('true') ELSE json('false') END",
    # A REAL: 15 significant digits when they read back as the same number (SQLite's own JSON
    # stops there and would lose the rest), else 17, which always do.
    Kind.DECIMAL: "CASE WHEN {c} IS NULL THEN NULL WHEN CAST(printf('%!.15g', {c}) AS REAL) = {c} "
    "THEN json(printf('%!.15g', {c})) ELSE json(printf('%!.17g', {c})) END",
}
JSON_OBJECT_PAIRS = 60
"""json_object() takes at most 127 arguments (SQLITE_MAX_FUNCTION_ARG): longer entities are
written in chunks and spliced."""


@compiles(json_entity, "sqlite")
def _compile_json_entity_sqlite(element: json_entity, compiler: SQLCompiler, **kw: Any) -> str:
    """SQLite: the same text as :func:`json_object`, by its own ``json_object()`` (compact, and
    escaping as JSON requires), with datetimes, booleans and decimals reshaped first."""
    quote = compiler.preparer.quote
    pairs = [(_quoted("@odata.etag"), f"""'W/"' || {quote(ROW_VERSION)} || '"'""")]
    for field in element.fields:
        value = _SQLITE_VALUE.get(field.kind, "{c}").format(c=quote(field.name))
        pairs.append((_quoted(field.name), value))
    objects = [
        "json_object(" + ", ".join(f"{name}, {value}" for name, value in pairs[i : i + JSON_OBJECT_PAIRS]) + ")"
        for i in range(0, len(pairs), JSON_OBJECT_PAIRS)
    ]
    if len(objects) == 1:
        return objects[0]
    # {"a":1} {"b":2} -> {"a":1,"b":2}: each object without its braces, joined by commas.
    inner = [f"rtrim(ltrim({o}, '{{'), '}}')" for o in objects]  # values are scalars: one brace each
    return "('{' || " + " || ',' || ".join(inner) + " || '}')"
