"""Fuzzing the ``$filter`` parser and binder: whatever the text, the only outcomes are a WHERE clause
that compiles on both SQL dialects, or our InvalidQuery / NotImplementedFeature — never another
exception (which the API would turn into a 500).

Three sources of text: arbitrary Unicode, grammar-shaped token soup built from the entity's real
property and navigation names, operators, functions and every literal form, and a fixed list of
hostile inputs (SQL injection, unbalanced quotes, huge numbers, 1000-deep nesting, long chains).
``ODYSSEE_FUZZ_EXAMPLES`` scales the example counts (docs/testing.md).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from odyssee.model.errors import InvalidQuery, NotImplementedFeature
from odyssee.model.registry import EntitySpec, registry
from odyssee.odata.filter import FUNCTIONS, compile_filter
from odyssee.odata.filter_syntax import MAX_CONDITIONS, MAX_DEPTH

SCALE = max(1, int(os.environ.get("ODYSSEE_FUZZ_EXAMPLES", "5")) // 5)
FUZZ = settings(
    max_examples=300 * SCALE, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


def spec(name: str) -> EntitySpec:
    found = registry().lookup(name)
    assert found is not None
    return found


SPECS = [spec("Company"), spec("Jobs")]


def outcome(entity: EntitySpec, text: str) -> str:
    """``compiled`` or the error code; any other exception fails the test."""
    try:
        clause = compile_filter(entity, text)
    except (InvalidQuery, NotImplementedFeature) as error:
        assert error.target == "$filter" and error.message, error
        return error.code
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        str(clause.compile(dialect=dialect))
    return "compiled"


HOSTILE = [
    "'; drop table company; --",
    "name eq ''; drop table company; --'",
    "name eq 'x' or 1 eq 1; delete from company",
    "name eq 'a''",
    "'''",
    "name eq '",
    "name eq 1" + "9" * 1000,
    "id2 eq 99999999999999999999999",
    "id2 eq -9223372036854775809",
    "id2 add 9223372036854775807 eq 1",
    "name eq 1e99999",
    "id2 eq 1.5e-400",
    "name eq 'ü€😀\x00'",
    "naméx eq 1",
    "\x00",
    "\ud800 eq 1",
    "(" * 1000 + "name eq 'a'" + ")" * 1000,
    "(" * 1000 + "name eq 'a'",
    "not " * 1000 + "true",
    "not (" * 1000 + "true" + ")" * 1000,
    "-" * 1000 + "1 eq 1",
    "id2 add " * 1000 + "1 eq 1",
    " and ".join(["name eq 'a'"] * 3000),
    " or ".join(f"id2 eq {n}" for n in range(3000)),
    "id2 in (" + ",".join(str(n) for n in range(3000)) + ")",
    "modified_dateutc gt '99999-01-01'",
    "modified_dateutc gt 2020-02-30",
    "modified_dateutc gt datetime'2020-13-45'",
    "id eq guid'xyz'",
    "time(modified_dateutc) eq 25:00",
    "substring(name, 99999999999999999999) eq 'a'",
    "id2 mod 0 eq 1",
    "id2 div 0.0 eq 1",
    "jobs/any(j:j/company/jobs/all(k:k/id2 eq 1))",
    "jobs/any(j:j/company/jobs/all(j:j/id2 eq 1))",
    "x/any(a:a/b/any(a:true))",
    "$it eq $it",
    "jobs/$count eq 99999999999999999999",
    "name in ()",
    "null in (null)",
    "contains(null, null)",
    "geo.distance(name, name) lt 1",
    "name has 'a'",
    "$it/" * 500 + "name eq 'a'",
    "company/" * 500 + "name eq 'a'",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("entity", SPECS, ids=lambda s: s.name)
def test_hostile_filters_are_compiled_or_refused(entity: EntitySpec, text: str) -> None:
    outcome(entity, text)


def test_deep_nesting_is_refused_with_a_clear_error() -> None:
    assert outcome(SPECS[0], "not (" * (MAX_DEPTH + 1) + "true" + ")" * (MAX_DEPTH + 1)) == "FilterTooComplex"
    assert outcome(SPECS[0], " or ".join(["name eq 'a'"] * (MAX_CONDITIONS + 2))) == "FilterTooComplex"
    assert outcome(SPECS[1], " or ".join(f"id2 eq {n}" for n in range(MAX_CONDITIONS))) == "compiled"


def test_a_lambda_under_a_three_segment_path_compiles() -> None:
    """odata-query's grammar raised AttributeError for ``j/company/jobs/any(…)`` (found by this fuzzer)."""
    assert outcome(SPECS[0], "jobs/any(j:j/company/jobs/all(k:k/id2 eq 1))") == "compiled"


@FUZZ
@given(text=st.text(max_size=200), entity=st.sampled_from(SPECS))
@example(text="name eq 'a' and", entity=SPECS[0])
def test_arbitrary_text(entity: EntitySpec, text: str) -> None:
    outcome(entity, text)


def _names(entity: EntitySpec) -> list[str]:
    return [f.name for f in entity.fields] + [n.name for n in entity.navigations]


LITERALS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=8).map(lambda s: "'" + s.replace("'", "''") + "'"),
    st.text(alphabet="'\\\"%_;-", max_size=4).map(lambda s: f"'{s}"),
    st.sampled_from(
        [
            "null",
            "true",
            "false",
            "2026-01-02",
            "2026-01-02T03:04:05.678Z",
            "13:08",
            "datetime'2015-07-14T13:08:00'",
            "guid'00000000-0000-0000-0000-000000000000'",
            "6557b9dc-6106-4327-8e26-6f24d0329c33",
            "1.5m",
            "10L",
            "$it",
            "$count",
        ]
    ),
)
OPERATORS = ["eq", "ne", "lt", "le", "gt", "ge", "in", "and", "or", "not", "add", "sub", "mul", "div", "divby", "mod"]
FUNCTION_NAMES = [*FUNCTIONS, "matchesPattern", "cast", "isof", "geo.distance", "unknownfn"]


@st.composite
def token_soup(draw: st.DrawFn) -> tuple[EntitySpec, str]:
    entity = draw(st.sampled_from(SPECS))
    names = _names(entity)
    path = st.lists(st.sampled_from([*names, "x", "$it", "$count"]), min_size=1, max_size=4).map("/".join)
    atom = st.one_of(
        path,
        LITERALS,
        st.sampled_from(OPERATORS),
        st.sampled_from(FUNCTION_NAMES).map(lambda f: f + "("),
        st.sampled_from(["(", ")", ",", ":", "/", "any(x:", "all(x:", "x/"]),
    )
    tokens = draw(st.lists(atom, min_size=1, max_size=25))
    separators = draw(st.lists(st.sampled_from([" ", "", "  ", "\t"]), min_size=len(tokens), max_size=len(tokens)))
    return entity, "".join(t + s for t, s in zip(tokens, separators, strict=True)).strip() or "x"


@FUZZ
@given(case=token_soup())
def test_grammar_shaped_token_soup(case: tuple[EntitySpec, str]) -> None:
    outcome(*case)


@st.composite
def expressions(draw: st.DrawFn) -> tuple[EntitySpec, str]:
    """Well-formed but arbitrarily typed trees: property op literal, functions, lambdas, combined."""
    entity = draw(st.sampled_from(SPECS))
    fields = [f.name for f in entity.fields]
    many = [n.name for n in entity.navigations if n.many] or ["x"]
    leaf = st.one_of(st.sampled_from(fields), LITERALS)
    value = st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["add", "sub", "mul", "div", "divby", "mod"]), inner).map(" ".join),
            st.tuples(st.sampled_from(sorted(FUNCTIONS)), st.lists(inner, max_size=3)).map(
                lambda call: f"{call[0]}({', '.join(call[1])})"
            ),
            inner.map(lambda v: f"-({v})"),
        ),
        max_leaves=6,
    )
    comparison = st.one_of(
        st.tuples(value, st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge"]), value).map(" ".join),
        st.tuples(value, st.lists(value, max_size=3)).map(lambda c: f"{c[0]} in ({', '.join(c[1])})"),
    )
    condition = st.recursive(
        comparison,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda c: f"({c[0]} {c[1]} {c[2]})"),
            inner.map(lambda c: f"not ({c})"),
            st.tuples(st.sampled_from(many), st.sampled_from(["any", "all"]), inner).map(
                lambda c: f"{c[0]}/{c[1]}(x: {c[2].replace(fields[0], 'x/' + fields[0])})"
            ),
        ),
        max_leaves=5,
    )
    return entity, draw(condition)


@FUZZ
@given(case=expressions())
def test_well_formed_expressions(case: tuple[EntitySpec, str]) -> None:
    outcome(*case)
