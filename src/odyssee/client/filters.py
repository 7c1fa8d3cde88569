"""``F``: build ``$filter`` expressions from Python values, quoted correctly every time.

>>> str((F("name") == "O'Brien") & (F("credit_limit") > 3))
"name eq 'O''Brien' and credit_limit gt 3"

Literals follow docs/odata-compat.md: strings in single quotes with quotes doubled, datetimes
as UTC ``2026-11-23T13:08:00.000Z`` (a naive datetime is taken as UTC, as the server does),
GUIDs bare, ``true``/``false``, ``null``. A value of any other type is a ``TypeError`` rather
than a guess.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

_ATOM, _NOT, _AND, _OR = 3, 2, 1, 0
"""Binding strength of an expression's outermost operator: atoms and ``not (…)`` never need
parentheses, an ``or`` does inside an ``and``."""


def literal(value: Any) -> str:
    """The OData literal for a Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no OData literal")
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value!r} has no OData literal")
        return format(value, "f")
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write a {type(value).__name__} as an OData literal: {value!r}")


class Expr:
    """A boolean ``$filter`` expression. Combine with ``&`` (and), ``|`` (or), ``~`` (not)."""

    __slots__ = ("_rank", "text")

    def __init__(self, text: str, _rank: int = _ATOM) -> None:
        self.text = text
        self._rank = _rank

    @classmethod
    def of(cls, condition: Expr | str) -> Expr:
        """An expression, or a raw ``$filter`` string (kept in parentheses when combined)."""
        if isinstance(condition, Expr):
            return condition
        if isinstance(condition, str):
            if not condition.strip():
                raise ValueError("an empty $filter string")
            return cls(f"({condition})")
        raise TypeError(f"a filter is an F expression or a string, not {type(condition).__name__}")

    def _operand(self, rank: int) -> str:
        return self.text if self._rank >= rank else f"({self.text})"

    def __and__(self, other: Expr | str) -> Expr:
        right = Expr.of(other)
        return Expr(f"{self._operand(_AND)} and {right._operand(_AND)}", _AND)

    def __rand__(self, other: str) -> Expr:
        return Expr.of(other) & self

    def __or__(self, other: Expr | str) -> Expr:
        right = Expr.of(other)
        return Expr(f"{self._operand(_OR)} or {right._operand(_OR)}", _OR)

    def __ror__(self, other: str) -> Expr:
        return Expr.of(other) | self

    def __invert__(self) -> Expr:
        inner = self.text[1:-1] if self._rank == _ATOM and _wrapped(self.text) else self.text
        return Expr(f"not ({inner})", _NOT)

    def __bool__(self) -> bool:
        raise TypeError("use &, | and ~ to combine filters, not and/or/not (and no chained comparisons)")

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"


def _wrapped(text: str) -> bool:
    """Whether the whole text is one parenthesised group: ``(a) or (b)`` is not."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth, quoted = 0, False
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth == 0 and index != len(text) - 1:
                return False
    return True


class F:
    """A property (or path: ``F("company/name")``) to compare with Python values."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        if not path or any(c in path for c in " '()"):
            raise ValueError(f"not a property path: {path!r}")
        self.path = path

    def _compare(self, operator: str, value: Any) -> Expr:
        right = value.path if isinstance(value, F) else literal(value)
        return Expr(f"{self.path} {operator} {right}")

    def __eq__(self, value: Any) -> Expr:  # type: ignore[override]
        return self._compare("eq", value)

    def __ne__(self, value: Any) -> Expr:  # type: ignore[override]
        return self._compare("ne", value)

    def __gt__(self, value: Any) -> Expr:
        return self._compare("gt", value)

    def __ge__(self, value: Any) -> Expr:
        return self._compare("ge", value)

    def __lt__(self, value: Any) -> Expr:
        return self._compare("lt", value)

    def __le__(self, value: Any) -> Expr:
        return self._compare("le", value)

    __hash__ = None  # type: ignore[assignment]

    def contains(self, text: str) -> Expr:
        return Expr(f"contains({self.path},{literal(text)})")

    def startswith(self, text: str) -> Expr:
        return Expr(f"startswith({self.path},{literal(text)})")

    def endswith(self, text: str) -> Expr:
        return Expr(f"endswith({self.path},{literal(text)})")

    def in_(self, values: Iterable[Any]) -> Expr:
        items = [literal(value) for value in values]
        if not items:
            raise ValueError(f"{self.path}.in_() needs at least one value")
        return Expr(f"{self.path} in ({','.join(items)})")

    def tolower(self) -> F:
        """``tolower(path)``, for case-insensitive comparisons (string comparison is case-sensitive)."""
        return _Function(f"tolower({self.path})")

    def toupper(self) -> F:
        return _Function(f"toupper({self.path})")

    def __repr__(self) -> str:
        return f"F({self.path!r})"


class _Function(F):
    """A function of a property, compared like one."""

    __slots__ = ()

    def __init__(self, text: str) -> None:
        self.path = text


__all__ = ["Expr", "F", "literal"]
