"""Property-based: random $filter expressions select exactly the rows a Python model of OData says they should.

A fixed set of companies (strings with case, '%', '_', quotes and non-ASCII; dyadic decimals so
that binary floating point on SQLite and exact numerics on PostgreSQL agree; datetimes at
millisecond precision) is created once through the API. Hypothesis then draws typed expression
trees; each tree renders itself as $filter text and evaluates itself on a row in Python. The ids
the API returns must be exactly the rows for which the Python predicate holds, on either engine.
"""

from __future__ import annotations

import math
import operator
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from odyssee.model.values import parse_datetime
from tests.conftest import Tenant

Row = dict[str, Any]


@dataclass(frozen=True)
class Expr:
    text: str
    value: Callable[[Row], Any]


# --- the reference semantics ---------------------------------------------------------------


def fold(text: str, method: str) -> str:
    """Per-character case mapping, leaving characters whose mapping is longer than one (ß) alone."""
    return "".join(m if len(m := getattr(c, method)()) == 1 else c for c in text)


def trunc_div(a: int, b: int) -> int:
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b > 0) else -quotient


def int_mod(a: int, b: int) -> int:
    return a - b * trunc_div(a, b)


def round_half_away(x: float) -> float:
    return math.copysign(math.floor(abs(x) + 0.5), x)


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- the dataset ---------------------------------------------------------------------------

PIECES = ["a", "A", "b", "B", "z", "%", "_", "'", "é", "É", "ß", "ü", "Ü", " ", "0", "x", "ab", "Ab", "50%"]
STRINGS = ["", " ", "a", "A", "ab", "%", "_", "'", "é", "É", "ß", "50%", "a_b", "x y", "O'Neil", "Zürich"]


def dataset(seed: int = 20260102) -> list[Row]:
    rng = random.Random(seed)

    def text(low: int, high: int) -> str:
        return "".join(rng.choice(PIECES) for _ in range(rng.randint(low, high)))

    rows = []
    for index in range(40):
        stamp = datetime(1980, 1, 1, tzinfo=UTC) + timedelta(
            days=rng.randint(0, 18000), milliseconds=rng.randint(0, 86_400_000 - 1)
        )
        rows.append(
            {
                "name": text(1, 6) if index % 7 else rng.choice(STRINGS[2:]),
                "city": text(0, 4) if index % 5 else rng.choice(STRINGS),
                "street": text(0, 3),
                "discount": rng.randint(0, 400) / 4,
                "credit_limit": rng.randint(0, 40) / 2,
                "latitude_decimal": rng.randint(-360, 360) / 4,
                "is_client": rng.random() < 0.5,
                "archived": rng.random() < 0.3,
                "create_date": f"{stamp:%Y-%m-%dT%H:%M:%S}.{stamp.microsecond // 1000:03d}Z",
            }
        )
    return rows


# --- the grammar ---------------------------------------------------------------------------


def infix(
    left: st.SearchStrategy[Expr], right: st.SearchStrategy[Expr], operator: str, combine: Callable[[Any, Any], Any]
) -> st.SearchStrategy[Expr]:
    return st.tuples(left, right).map(
        lambda p: Expr(f"({p[0].text} {operator} {p[1].text})", lambda r: combine(p[0].value(r), p[1].value(r)))
    )


def call(inner: st.SearchStrategy[Expr], name: str, apply: Callable[[Any], Any]) -> st.SearchStrategy[Expr]:
    return inner.map(lambda e: Expr(f"{name}({e.text})", lambda r: apply(e.value(r))))


def constant(values: list[Any]) -> st.SearchStrategy[Expr]:
    return st.sampled_from(values).map(lambda v: Expr(str(v), lambda _r: v))


def prop(name: str, convert: Callable[[Any], Any] = lambda v: v) -> Expr:
    return Expr(name, lambda row: convert(row[name]))


def strings(depth: int) -> st.SearchStrategy[Expr]:
    properties = st.sampled_from([prop("name"), prop("city"), prop("street")])
    base = st.one_of(properties, properties, st.sampled_from(STRINGS).map(lambda s: Expr(quote(s), lambda _row: s)))
    if depth == 0:
        return base
    inner = strings(depth - 1)
    small = st.integers(-1, 4)
    return st.one_of(
        base,
        call(inner, "tolower", lambda v: fold(v, "lower")),
        call(inner, "toupper", lambda v: fold(v, "upper")),
        call(inner, "trim", lambda v: v.strip(" ")),
        st.tuples(inner, inner).map(
            lambda p: Expr(f"concat({p[0].text}, {p[1].text})", lambda r: p[0].value(r) + p[1].value(r))
        ),
        st.tuples(inner, small).map(
            lambda p: Expr(f"substring({p[0].text}, {p[1]})", lambda r: p[0].value(r)[max(p[1], 0) :])
        ),
        st.tuples(inner, small, small).map(
            lambda p: Expr(
                f"substring({p[0].text}, {p[1]}, {p[2]})",
                lambda r: p[0].value(r)[max(p[1], 0) :][: max(p[2], 0)],
            )
        ),
    )


DATE_PARTS: dict[str, Callable[[datetime], int]] = {
    "year": lambda d: d.year,
    "month": lambda d: d.month,
    "day": lambda d: d.day,
    "hour": lambda d: d.hour,
    "minute": lambda d: d.minute,
    "second": lambda d: d.second,
}


def created(row: Row) -> datetime:
    return parse_datetime(row["create_date"])


def integers(depth: int) -> st.SearchStrategy[Expr]:
    base = st.one_of(
        st.one_of(st.integers(-5, 12), st.integers(1979, 2030)).map(lambda n: Expr(str(n), lambda _r: n)),
        strings(1).map(lambda e: Expr(f"length({e.text})", lambda r: len(e.value(r)))),
        st.tuples(strings(1), strings(0)).map(
            lambda p: Expr(f"indexof({p[0].text}, {p[1].text})", lambda r: p[0].value(r).find(p[1].value(r)))
        ),
        st.sampled_from(sorted(DATE_PARTS)).map(
            lambda part: Expr(f"{part}(create_date)", lambda r: DATE_PARTS[part](created(r)))
        ),
    )
    if depth == 0:
        return base
    inner = integers(depth - 1)
    divisor = constant([-3, -2, 2, 3, 7])
    return st.one_of(
        base,
        infix(inner, inner, "add", operator.add),
        infix(inner, inner, "sub", operator.sub),
        infix(inner, constant([-3, -1, 0, 2, 3]), "mul", operator.mul),
        infix(inner, divisor, "div", trunc_div),
        infix(inner, divisor, "mod", int_mod),
    )


def decimals(depth: int) -> st.SearchStrategy[Expr]:
    base = st.one_of(
        st.sampled_from([prop("discount"), prop("credit_limit"), prop("latitude_decimal")]),
        st.integers(-40, 40).map(lambda n: Expr(str(n / 4), lambda _r: n / 4)),
        st.just(Expr("fractionalseconds(create_date)", lambda r: created(r).microsecond // 1000 / 1000)),
    )
    if depth == 0:
        return base
    inner = decimals(depth - 1)
    return st.one_of(
        base,
        infix(inner, inner, "add", operator.add),
        infix(inner, integers(0), "sub", operator.sub),
        infix(inner, constant([-2, 0.5, 3]), "mul", operator.mul),
        infix(inner, constant([2, 4, 0.5, -0.25]), "div", operator.truediv),
        infix(inner, constant([2, 0.5, 1.5]), "mod", math.fmod),
        call(inner, "-", operator.neg),
        call(inner, "round", round_half_away),
        call(inner, "floor", math.floor),
        call(inner, "ceiling", math.ceil),
    )


COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def comparison(left: st.SearchStrategy[Expr], right: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.tuples(left, st.sampled_from(sorted(COMPARE)), right).map(
        lambda p: Expr(f"{p[0].text} {p[1]} {p[2].text}", lambda r: COMPARE[p[1]](p[0].value(r), p[2].value(r)))
    )


def datetime_literal(draw: st.DrawFn) -> tuple[str, datetime]:
    base = datetime(1980, 1, 1, tzinfo=UTC) + timedelta(
        days=draw(st.integers(0, 18000)), milliseconds=draw(st.integers(0, 86_400_000 - 1))
    )
    text = f"{base:%Y-%m-%dT%H:%M:%S}.{base.microsecond // 1000:03d}"
    shifted = base + timedelta(hours=2)
    form = draw(st.sampled_from(["plain", "quoted", "v3", "offset", "date"]))
    if form == "date":
        return f"{base:%Y-%m-%d}", base.replace(hour=0, minute=0, second=0, microsecond=0)
    rendered = {
        "plain": text + "Z",
        "quoted": f"'{text}Z'",
        "v3": f"datetime'{text}'",
        "offset": f"{shifted:%Y-%m-%dT%H:%M:%S}.{base.microsecond // 1000:03d}+02:00",
    }[form]
    return rendered, base


@st.composite
def datetime_comparison(draw: st.DrawFn) -> Expr:
    literal, value = datetime_literal(draw)
    operator = draw(st.sampled_from(sorted(COMPARE)))
    if draw(st.booleans()):
        day = value.date()
        return Expr(f"date(create_date) {operator} {day:%Y-%m-%d}", lambda r: COMPARE[operator](created(r).date(), day))
    return Expr(f"create_date {operator} {literal}", lambda r: COMPARE[operator](created(r), value))


def booleans(depth: int) -> st.SearchStrategy[Expr]:
    text_functions = st.tuples(st.sampled_from(["contains", "startswith", "endswith"]), strings(1), strings(1)).map(
        lambda p: Expr(
            f"{p[0]}({p[1].text}, {p[2].text})",
            lambda r: {"contains": lambda a, b: b in a, "startswith": str.startswith, "endswith": str.endswith}[p[0]](
                p[1].value(r), p[2].value(r)
            ),
        )
    )
    memberships = st.one_of(
        st.lists(st.sampled_from(STRINGS), min_size=1, max_size=3).map(
            lambda items: Expr(f"city in ({', '.join(map(quote, items))})", lambda r: r["city"] in items)
        ),
        st.lists(st.integers(0, 20).map(lambda n: n / 2), min_size=1, max_size=3).map(
            lambda items: Expr(f"credit_limit in ({', '.join(map(str, items))})", lambda r: r["credit_limit"] in items)
        ),
    )
    base = st.one_of(
        comparison(strings(1), strings(1)),
        comparison(integers(2), integers(1)),
        comparison(decimals(2), st.one_of(decimals(0), integers(0))),
        datetime_comparison(),
        text_functions,
        memberships,
        st.sampled_from([prop("is_client"), prop("archived")]),
    )
    if depth == 0:
        return base
    inner = booleans(depth - 1)
    return st.one_of(
        base,
        base,
        infix(inner, inner, "and", lambda a, b: a and b),
        infix(inner, inner, "or", lambda a, b: a or b),
        call(inner, "not ", operator.not_),
    )


# --- the property --------------------------------------------------------------------------


def matching_ids(tenant: Tenant, expression: str) -> set[str]:
    response = tenant.get("/api/Company", params={"$filter": expression})
    assert response.status_code == 200, (expression, response.text)
    body = response.json()
    ids = {row["id"] for row in body["value"]}
    while link := body.get("@odata.nextLink"):
        body = tenant.get(link).json()
        ids |= {row["id"] for row in body["value"]}
    return ids


def test_random_filters_agree_with_the_python_model(tenant: Tenant) -> None:
    rows = []
    for index, row in enumerate(dataset()):
        created_row = tenant.post("/api/Company", {**row, "code": f"P{index:02d}"})
        assert created_row.status_code == 201, created_row.text
        rows.append({**row, "id": created_row.json()["id"]})

    @settings(max_examples=150, deadline=None, derandomize=True)
    @given(expression=booleans(2))
    def check(expression: Expr) -> None:
        expected = {row["id"] for row in rows if expression.value(row)}
        assert matching_ids(tenant, expression.text) == expected, expression.text

    check()
