"""Keyset paging: the ``$skiptoken`` of a next link, and the predicate that continues after it.

A next link carries the order-key values of the last row it returned, ``id`` always last. The
next page is "the rows that sort after that row", not "skip N rows": rows inserted or deleted
between two requests cannot shift the pages, so a client following the links sees every row
that existed throughout exactly once (``$skip`` cannot promise that; it is kept for Odyssee
compatibility). The token is opaque to clients: base64url of a small JSON array, bound to the
``$orderby``/``$filter`` it was made under.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa

from odyssee.model.errors import InvalidQuery
from odyssee.model.registry import Field, Kind
from odyssee.model.values import parse_datetime, parse_guid


def _digest(fingerprint: str) -> str:
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:10]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def encode(values: Sequence[Any], fingerprint: str) -> str:
    """The token for continuing after a row whose order keys (``id`` last) are ``values``."""
    raw = orjson.dumps([_digest(fingerprint), *(_plain(v) for v in values)])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _invalid(reason: str) -> InvalidQuery:
    return InvalidQuery(
        f"Invalid $skiptoken: {reason}. Follow @odata.nextLink as given, without changing $orderby or $filter.",
        code="InvalidSkipToken",
        target="$skiptoken",
    )


def _typed(field: Field, value: Any) -> Any:
    if field.kind is Kind.DATETIME:
        return parse_datetime(value)
    if field.kind is Kind.GUID:
        return parse_guid(value)
    if field.kind in (Kind.INT32, Kind.DECIMAL) and not isinstance(value, int | float):
        raise ValueError("not a number")
    if field.kind is Kind.STRING and not isinstance(value, str):
        raise ValueError("not a string")
    if field.kind is Kind.BOOLEAN and not isinstance(value, bool):
        raise ValueError("not a boolean")
    return value


def decode(token: str, fields: Sequence[Field], fingerprint: str) -> tuple[Any, ...]:
    """The typed order-key values (``id`` last) a token was made from, for ``fields`` + id."""
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise _invalid("it is not a token this server made") from None
    if not isinstance(raw, list) or len(raw) != len(fields) + 2:
        raise _invalid("it does not match the query's $orderby")
    if raw[0] != _digest(fingerprint):
        raise _invalid("it was made for a different $orderby or $filter")
    try:
        values = [_typed(f, v) for f, v in zip(fields, raw[1:-1], strict=True)]
        return (*values, parse_guid(raw[-1]))
    except (ValueError, TypeError):
        raise _invalid("it holds values of the wrong type") from None


def after(keys: Sequence[tuple[Any, bool, Field]], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Rows that sort strictly after ``values`` under ``keys`` = [(expression, descending, field)].

    ``(a, b) > (x, y)`` spelled out as ``a > x OR (a = x AND b > y)`` so that mixed directions
    work and both engines can use the (tenant, key, id) indexes.
    """
    alternatives: list[sa.ColumnElement[bool]] = []
    equal: list[sa.ColumnElement[bool]] = []
    for (expression, descending, field), value in zip(keys, values, strict=True):
        bound = sa.bindparam(None, value, type_=field.column.type)
        beyond = expression < bound if descending else expression > bound
        alternatives.append(sa.and_(*equal, beyond))
        equal.append(expression == bound)
    return sa.or_(*alternatives)
