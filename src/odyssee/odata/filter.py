"""``$filter`` -> SQLAlchemy boolean clause, bound to an entity of the registry.

odata-query parses the expression into an AST; we own only the binding step. It checks every
identifier against the entity (no access to hidden columns, a clear error for unknown names)
and gives each literal the type of the property it is compared with. That typing is what makes
the Odyssee compatibility forms work the same on both engines: a quoted string compared with a
datetime property is a datetime (``modified_dateutc gt '2015-07-14T13:08:00.000Z'``), a quoted
or unquoted GUID compared with a GUID property is a GUID.
"""

from __future__ import annotations

import difflib
from typing import Any

import sqlalchemy as sa
from odata_query import ast
from odata_query import exceptions as oq
from odata_query.grammar import ODataLexer, ODataParser
from odata_query.sqlalchemy.core import AstToSqlAlchemyCoreVisitor

from odyssee.model.errors import ErrorDetail, InvalidQuery, NotImplementedFeature
from odyssee.model.registry import EntitySpec, Field, Kind
from odyssee.model.values import parse_datetime, parse_guid

_LITERALS = (
    ast.String,
    ast.Integer,
    ast.Float,
    ast.Boolean,
    ast.DateTime,
    ast.Date,
    ast.GUID,
    ast.Time,
)


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


class _Binder(AstToSqlAlchemyCoreVisitor):
    def __init__(self, spec: EntitySpec) -> None:
        super().__init__(spec.table)  # type: ignore[arg-type]  # odata-query annotates a class, uses an instance
        self.spec = spec

    def _field(self, node: ast._Node) -> Field | None:
        if isinstance(node, ast.Identifier):
            found = self.spec.field(node.name)
            if found is None:
                raise unknown_property(self.spec, node.name, "$filter")
            return found
        return None

    def visit_Identifier(self, node: ast.Identifier) -> sa.ColumnElement[Any]:  # type: ignore[override]
        found = self._field(node)
        assert found is not None
        return found.column

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        raise NotImplementedFeature(
            "Navigation paths in $filter (e.g. company/name) are not supported yet.",
            code="NotImplemented",
        )

    def visit_CollectionLambda(self, node: ast.CollectionLambda) -> Any:
        raise NotImplementedFeature("any/all in $filter are not supported yet.", code="NotImplemented")

    def visit_Compare(self, node: ast.Compare) -> sa.ColumnElement[bool]:  # type: ignore[override]
        left_field = self._field(node.left)
        right_field = self._field(node.right)
        left = self._operand(node.left, right_field)
        right = self._operand(node.right, left_field)
        return self.visit(node.comparator)(left, right)  # type: ignore[no-any-return]

    def _operand(self, node: ast._Node, other: Field | None) -> Any:
        if other is not None and isinstance(node, ast.List):
            return [self._typed_literal(item, other) for item in node.val]
        if other is not None and isinstance(node, _LITERALS):
            return self._typed_literal(node, other)
        return self.visit(node)

    def _typed_literal(self, node: ast._Node, target: Field) -> sa.BindParameter[Any]:
        """Convert a literal to the kind of the property it is compared with, or refuse clearly."""
        accepted = _ACCEPTED_LITERALS[target.kind]
        try:
            if not isinstance(node, accepted):
                raise ValueError(f"a {type(node).__name__.lower()} literal cannot be compared with {target.kind.value}")
            value = _CONVERT.get(target.kind, lambda literal: literal.py_val)(node)
        except ValueError as error:
            raise InvalidQuery(
                f"Invalid literal for '{target.name}' in $filter: {error}.",
                code="InvalidLiteral",
                target="$filter",
                details=[ErrorDetail("InvalidLiteral", str(error), target.name)],
            ) from None
        return sa.bindparam(None, value, type_=target.column.type)


_ACCEPTED_LITERALS: dict[Kind, tuple[type[ast._Node], ...]] = {
    Kind.DATETIME: (ast.String, ast.DateTime, ast.Date),
    Kind.GUID: (ast.String, ast.GUID),
    Kind.STRING: (ast.String,),
    Kind.BOOLEAN: (ast.Boolean,),
    Kind.INT32: (ast.Integer, ast.Float),
    Kind.DECIMAL: (ast.Integer, ast.Float),
    Kind.BINARY: (),
}
"""Which literals may stand beside a property of each kind; quoted forms are the Odyssee compatibility."""

_CONVERT: dict[Kind, Any] = {
    Kind.DATETIME: lambda literal: parse_datetime(literal.val),
    Kind.GUID: lambda literal: parse_guid(literal.val),
}


def parse_filter(text: str) -> ast._Node:
    """Parse a ``$filter`` expression; syntax errors name the character position."""
    try:
        tokens = list(ODataLexer().tokenize(text))
    except oq.TokenizingException as error:
        position = getattr(error.token, "index", 0)
        raise _syntax_error(text, position) from None
    try:
        tree: ast._Node = ODataParser().parse(iter(tokens))
        return tree
    except oq.ParsingException as error:
        if error.eof or error.token is None:
            raise _syntax_error(text, len(text)) from None
        position = error.token.index
        if error.token.type == "WS":
            position += len(error.token.value)
        raise _syntax_error(text, position) from None
    except oq.ODataException as error:
        raise InvalidQuery(f"Invalid $filter: {error}", code="InvalidFilter", target="$filter") from None


def _syntax_error(text: str, position: int) -> InvalidQuery:
    rest = text[position:].split()
    where = f"near '{rest[0]}'" if rest else "the expression ends too early"
    return InvalidQuery(
        f"Syntax error in $filter at position {position}: {where}.",
        code="SyntaxError",
        target="$filter",
        details=[ErrorDetail("SyntaxError", f"{text[:position]}<<HERE>>{text[position:]}", "$filter")],
    )


def compile_filter(spec: EntitySpec, text: str) -> sa.ColumnElement[bool]:
    """The WHERE clause for ``$filter=text`` on ``spec``."""
    tree = parse_filter(text)
    try:
        clause = _Binder(spec).visit(tree)
    except (InvalidQuery, NotImplementedFeature):
        raise
    except oq.ODataException as error:
        raise InvalidQuery(f"Invalid $filter: {error}", code="InvalidFilter", target="$filter") from None
    except (TypeError, AttributeError, NotImplementedError) as error:
        raise InvalidQuery(f"Invalid $filter: {error}", code="InvalidFilter", target="$filter") from None
    if not isinstance(clause, sa.ColumnElement) or not isinstance(clause.type, sa.Boolean):
        raise InvalidQuery(
            "$filter must be a boolean expression.",
            code="InvalidFilter",
            target="$filter",
        )
    return clause
