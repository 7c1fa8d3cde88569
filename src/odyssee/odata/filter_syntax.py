"""``$filter`` text → odata-query AST, with the literal forms Odyssee integrators send and exact error positions.

odata-query's grammar is kept as it is; only its lexer is extended (SLY lexers inherit and
override rules in place, its parser cannot be subclassed):

* v3 typed literals ``datetime'…'``, ``datetimeoffset'…'`` and ``guid'…'`` become the ordinary
  DateTime and GUID tokens, and the v3 suffixes ``1.5m``/``1.5d``/``10L`` plain numbers;
* ``$count`` and ``$it`` are path segments (``children/$count``, ``$it/name``);
* ``13:08`` is a TimeOfDay (seconds are optional);
* ``true``, ``false``, ``null``, ``any`` and ``all`` only match as whole words, so that a
  property like ``allow_in_job`` is not read as ``all`` + ``ow_in_job``;
* ``divby`` (OData 4.01 decimal division) is a ``div`` token carrying :class:`DivBy`;
* ``not(x)`` without a blank is accepted as ``not (x)``;
* ``has`` is recognised only to refuse it with a clear message (there are no enumerations).

One grammar action is replaced (:func:`_property_path`): odata-query crashes on a lambda whose
owner has three or more segments (``j/company/jobs/any(…)``). A parsed tree deeper than
:data:`MAX_DEPTH` is refused, so that binding and SQL compilation (both recursive) stay far from
Python's recursion limit; a long chain of one operator (``a or b or c …``) counts as one level.

The token stream gets one repair before parsing: ``x in ('a')`` (a one-item list, valid OData)
is given the trailing comma odata-query's grammar needs. Every token value the lexer creates is
remembered with its character position, so the binder can name positions in its errors too.
"""

# ruff: noqa: F821, N802, RUF012  # SLY's lexer DSL: ``_``/``before`` are injected, rules are named like tokens
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from odata_query import ast
from odata_query import exceptions as oq
from odata_query.grammar import ODataLexer, ODataParser
from sly.lex import Token  # type: ignore[import-untyped]

from odyssee.model.errors import ErrorDetail, InvalidQuery, NotImplementedFeature


@dataclass(frozen=True)
class DivBy(ast._BinOpToken):
    """``a divby b``: division that is decimal even for integer operands."""


_NOT_OFFERED = {
    "matchesPattern": "regular expressions are not portable between SQLite and PostgreSQL",
    "geo.distance": "there are no geographic properties",
    "geo.length": "there are no geographic properties",
    "geo.intersects": "there are no geographic properties",
    "hassubset": "there are no collection-valued properties",
    "hassubsequence": "there are no collection-valued properties",
    "totalseconds": "there are no duration properties",
    "cast": "the server does not convert between types",
    "isof": "every property has a single declared type",
}
"""Standard functions this server declines, and why (named in the 501 error)."""


_Rule = TypeVar("_Rule", bound=Callable[..., Any])
_DECIMAL_V3 = r"[+-]?\d+(?:\.\d+)?(?:e[-+]?\d+)?[md](?![\w.])"
_DECIMAL = r"[+-]?\d+(?:(?:\.\d+)(?:e[-+]?\d+)|(?:\.\d+)|(?:e[-+]?\d+))"
_TYPED_V3 = r"(?:datetimeoffset|datetime|guid)'[^']*'"
_IDENTIFIER = r"[_a-z](?:\.?\w){0,127}"


class _Lexer(ODataLexer):
    tokens = {*ODataLexer.tokens, "HAS"}
    _: Callable[..., Callable[[_Rule], _Rule]]
    before: Callable[[str, str], str]
    """``_`` and ``before`` are provided by SLY's class namespace while the body runs."""

    HAS = before(WS, r"\s+has\s+")  # type: ignore[name-defined]  # WS: the base lexer's whitespace rule

    @_(_DECIMAL_V3, _DECIMAL)
    def DECIMAL(self, t: Token) -> Token:
        t.value = ast.Float(t.value.rstrip("mMdD"))
        return t

    @_(r"[+-]?\d+(?:L(?![\w.]))?")
    def INTEGER(self, t: Token) -> Token:
        t.value = ast.Integer(t.value.rstrip("lL"))
        return t

    @_(r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,12})?)?(?![\w:])")
    def TIME(self, t: Token) -> Token:
        """Seconds are optional in OData's timeOfDayValue (odata-query's pattern requires them)."""
        t.value = ast.Time(t.value)
        return t

    @_(r"(?:true|false)(?![\w.])")
    def BOOLEAN(self, t: Token) -> Token:
        t.value = ast.Boolean(t.value.lower())
        return t

    @_(r"null(?![\w.])")
    def NULL(self, t: Token) -> Token:
        t.value = ast.Null()
        return t

    @_(r"\s+divby\s+", r"\s+div\s+")
    def DIV(self, t: Token) -> Token:
        t.value = DivBy() if "divby" in t.value.lower() else ast.Div()
        return t

    @_(r"any(?=\s*\()")
    def ANY(self, t: Token) -> Token:
        t.value = ast.Any()
        return t

    @_(r"all(?=\s*\()")
    def ALL(self, t: Token) -> Token:
        t.value = ast.All()
        return t

    @_(_TYPED_V3, r"\$(?:count|it)(?!\w)", _IDENTIFIER)
    def ODATA_IDENTIFIER(self, t: Token) -> Token:
        text: str = t.value
        prefix, quote, rest = text.partition("'")
        if quote:
            if prefix.lower() == "guid":
                t.type, t.value = "GUID", ast.GUID(rest[:-1])
            else:
                t.type, t.value = "DATETIME", ast.DateTime(rest[:-1])
            return t
        *namespace, name = text.split(".")
        t.value = ast.Identifier(name, tuple(namespace))
        return t


MAX_DEPTH = 40
"""Nesting levels a ``$filter`` may have; real filters use a handful."""
MAX_CONDITIONS = 500
"""``and``/``or`` operators a ``$filter`` may have: SQLite nests a chain of them one level per
operator and refuses expressions deeper than 1000. A list of values belongs in ``in (…)``."""


def _prepend(head: ast._Node, path: ast._Node) -> ast._Node:
    """``head/path`` for a path that is an identifier or a chain of attributes: ``a`` + ``b/c`` → ``a/b/c``."""
    names: list[str] = []
    while isinstance(path, ast.Attribute):
        names.append(path.attr)
        path = path.owner
    if not isinstance(path, ast.Identifier):
        raise oq.ParsingException(None)
    names.append(path.name)
    result = head
    for name in reversed(names):
        result = ast.Attribute(result, name)
    return result


_original_property_path = None


def _property_path(parser: Any, p: Any) -> Any:
    """odata-query's ``entity_navigation_property single_navigation_expr`` action, fixed for a lambda
    owner that is itself a path (its version reads ``owner.name`` and raises AttributeError)."""
    if isinstance(p[1], ast.CollectionLambda):
        return ast.CollectionLambda(_prepend(p[0], p[1].owner), p[1].operator, p[1].lambda_)
    return _original_property_path(parser, p)  # type: ignore[misc]


for _production in ODataParser._grammar.Productions:
    if str(_production) == "property_path_expr -> entity_navigation_property single_navigation_expr":
        _original_property_path, _production.func = _production.func, _property_path


def _children(node: ast._Node) -> Iterator[ast._Node]:
    for item in dataclasses.fields(node):
        value = getattr(node, item.name)
        for child in value if isinstance(value, list | tuple) else (value,):
            if isinstance(child, ast._Node):
                yield child


def _check_depth(tree: ast._Node) -> None:
    """Refuse a tree nested deeper than :data:`MAX_DEPTH` or with more than :data:`MAX_CONDITIONS`
    and/or operators, without recursing (a chain of one boolean operator, which the binder flattens,
    is one level)."""
    stack: list[tuple[ast._Node, int]] = [(tree, 1)]
    conditions = 0
    while stack:
        node, depth = stack.pop()
        conditions += isinstance(node, ast.BoolOp)
        if conditions > MAX_CONDITIONS:
            raise InvalidQuery(
                f"$filter combines more than {MAX_CONDITIONS} conditions with and/or; "
                "use 'in' for a list of values (e.g. id2 in (1, 2, 3)).",
                code="FilterTooComplex",
                target="$filter",
            )
        if depth > MAX_DEPTH:
            raise InvalidQuery(
                f"$filter is nested more than {MAX_DEPTH} levels deep; simplify it.",
                code="FilterTooComplex",
                target="$filter",
            )
        for child in _children(node):
            same_chain = (
                isinstance(node, ast.BoolOp) and isinstance(child, ast.BoolOp) and type(child.op) is type(node.op)
            )
            stack.append((child, depth if same_chain else depth + 1))


@dataclass(frozen=True)
class Parsed:
    """A parsed ``$filter``: the tree, and where in the text each of its leaves and operators was."""

    text: str
    tree: ast._Node
    positions: dict[int, int]
    tokens: tuple[Token, ...]
    """Kept so that the ``id()`` keys of ``positions`` stay valid."""

    def position(self, node: ast._Node) -> int | None:
        return self.positions.get(id(node))

    def at(self, node: ast._Node) -> str:
        """`` at position N`` for messages, or nothing when the node was built by the parser."""
        found = self.position(node)
        return "" if found is None else f" at position {found}"


def full_name(identifier: ast.Identifier) -> str:
    """``geo.distance`` for a namespaced identifier, ``contains`` otherwise."""
    return ".".join((*identifier.namespace, identifier.name))


def syntax_error(text: str, position: int, reason: str | None = None) -> InvalidQuery:
    rest = text[position:].split()
    where = f"near '{rest[0]}'" if rest else "the expression ends too early"
    return InvalidQuery(
        f"Syntax error in $filter at position {position}: {reason or where}.",
        code="SyntaxError",
        target="$filter",
        details=[ErrorDetail("SyntaxError", f"{text[:position]}<<HERE>>{text[position:]}", "$filter")],
    )


def _start(text: str, token: Token) -> int:
    """Where the token's own text starts: operator tokens include the blanks around them."""
    index = int(token.index)
    if token.type == "WS":
        return index
    rest = text[index:]
    return index + len(rest) - len(rest.lstrip())


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    lexer = _Lexer()
    try:
        for token in lexer.tokenize(text):
            if token.type == "HAS":
                raise _has_error(text, _start(text, token))
            tokens.append(token)
    except oq.TokenizingException as error:
        raise syntax_error(text, int(getattr(error.token, "index", 0))) from None
    return tokens


def _has_error(text: str, position: int) -> InvalidQuery:
    return InvalidQuery(
        f"The 'has' operator at position {position} tests enumeration flags, and this API has no "
        "enumeration-typed properties. Compare the property with eq or in instead.",
        code="UnsupportedOperator",
        target="$filter",
    )


def _single_item_lists(tokens: list[Token]) -> list[Token]:
    """``x in ('a')`` → ``x in ('a',)``: odata-query reads a one-item list only with a trailing comma."""
    result = list(tokens)
    for index, token in enumerate(tokens):
        if token.type != "IN":
            continue
        opening = index + 1
        if opening >= len(tokens) or tokens[opening].type != "(":
            continue
        depth, commas = 0, 0
        for closing in range(opening, len(tokens)):
            kind = tokens[closing].type
            depth += kind == "("
            depth -= kind == ")"
            commas += kind == "," and depth == 1
            if depth == 0:
                break
        else:
            continue
        if commas == 0 and closing > opening + 1:
            comma = Token()
            comma.type, comma.value, comma.lineno, comma.index = ",", ",", 1, tokens[closing].index
            result.insert(result.index(tokens[closing]), comma)
    return result


def _parser(text: str, positions: dict[int, int]) -> Any:
    """odata-query's parser, with function calls checked here so that their errors carry a position."""
    parser = ODataParser()

    def function_call(func: ast.Identifier, args: list[ast._Node]) -> ast.Call:
        position = positions.get(id(func), 0)
        name = full_name(func)
        if name == "not" and len(args) == 1:
            return ast.UnaryOp(ast.Not(), args[0])  # type: ignore[return-value]  # not(x): a common lenient form
        if name in _NOT_OFFERED:
            raise NotImplementedFeature(
                f"The function {name}() is not supported in $filter: {_NOT_OFFERED[name]}.",
                code="NotImplemented",
                target="$filter",
            )
        try:
            return ODataParser._function_call(parser, func, args)  # type: ignore[no-any-return]
        except oq.UnknownFunctionException:
            raise syntax_error(text, position, f"unknown function '{name}'") from None
        except oq.ArgumentCountException as error:
            raise syntax_error(text, position, str(error).rstrip(".")) from None

    parser._function_call = function_call  # type: ignore[method-assign]  # the parser cannot be subclassed
    return parser


def parse_filter(text: str, tokens: list[Token] | None = None) -> Parsed:
    """Parse a ``$filter`` expression; every syntax error names its character position.
    ``tokens``: the text's, when :func:`literal_shape` already made them."""
    tokens = _tokenize(text) if tokens is None else tokens
    positions = {id(token.value): _start(text, token) for token in tokens if isinstance(token.value, ast._Node)}
    stream = _single_item_lists(tokens)
    try:
        tree: ast._Node = _parser(text, positions).parse(iter(stream))
    except oq.ParsingException as error:
        if error.eof or error.token is None:
            raise syntax_error(text, len(text)) from None
        position = int(error.token.index)
        if error.token.type == "WS":
            position += len(error.token.value)
        raise syntax_error(text, position) from None
    except oq.ODataException as error:
        raise InvalidQuery(f"Invalid $filter: {error}", code="InvalidFilter", target="$filter") from None
    if tree is None:
        raise syntax_error(text, 0, "the expression is empty")
    _check_depth(tree)
    return Parsed(text, tree, positions, tuple(tokens))


def iter_tokens(text: str) -> Iterator[tuple[str, int]]:
    """The token types and positions of ``text`` (for tests and diagnostics)."""
    for token in _tokenize(text):
        yield token.type, _start(text, token)


LITERAL_TOKENS = frozenset({"STRING", "INTEGER", "DECIMAL", "DATETIME", "DATE", "TIME", "GUID"})
"""Tokens whose value is a literal the binder may take as a parameter (``true``, ``false`` and
``null`` are not: they change the SQL)."""


@dataclass(frozen=True)
class Shape:
    key: tuple[Any, ...]
    """The tokens, each literal's value left out."""
    literals: tuple[ast._Node, ...]
    tokens: list[Token]


def literal_shape(text: str) -> Shape | None:
    """``text`` as its tokens with the literals left out, the literals in order, and the tokens
    (for :func:`parse_filter`); ``None`` when it does not tokenize (the full parse then reports why).

    Two texts of the same shape parse to the same tree but for those literals: the lexer alone
    decides the tree's structure (odata/filter.py ``compile_slotted``)."""
    try:
        tokens = _tokenize(text)
    except InvalidQuery:
        return None
    key = tuple((token.type, None if token.type in LITERAL_TOKENS else token.value) for token in tokens)
    try:
        hash(key)
    except TypeError:  # a token value that cannot be a key: no shape, parse in full
        return None
    return Shape(key, tuple(token.value for token in tokens if token.type in LITERAL_TOKENS), tokens)
