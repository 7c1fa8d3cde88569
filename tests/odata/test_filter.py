"""``$filter`` binding: identifiers are checked against the entity, literals typed by their property."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from odyssee.model.errors import InvalidQuery, NotImplementedFeature
from odyssee.model.registry import registry
from odyssee.odata.filter import compile_filter

COMPANY = registry().lookup("Company")
assert COMPANY is not None


def sql(expression: str) -> str:
    clause = compile_filter(COMPANY, expression)  # type: ignore[arg-type]
    return str(clause.compile(compile_kwargs={"literal_binds": False}))


def test_quoted_datetime_is_bound_as_a_datetime() -> None:
    clause = compile_filter(COMPANY, "modified_dateutc gt '2015-07-14T13:08:00.000Z'")  # type: ignore[arg-type]
    bound = next(iter(clause.compile().params.values()))
    assert bound.isoformat() == "2015-07-14T13:08:00+00:00"


def test_guid_forms_bind_to_the_same_value() -> None:
    guid = "98461E3A-DCCB-436E-B975-002A78A7B52E"
    values = {
        str(next(iter(compile_filter(COMPANY, text).compile().params.values())))  # type: ignore[arg-type]
        for text in (f"id eq {guid}", f"id eq '{guid}'", f"id eq {guid.lower()}")
    }
    assert values == {guid.lower()}


@pytest.mark.parametrize(
    ("expression", "position"),
    [("name eq", 5), ("name eq 'a' and", 12), ("(name eq 'a'", 12), ("name eq 'a' zz", 12), ("name €", 5)],
)
def test_syntax_errors_name_the_position(expression: str, position: int) -> None:
    with pytest.raises(InvalidQuery) as raised:
        compile_filter(COMPANY, expression)  # type: ignore[arg-type]
    assert f"position {position}" in raised.value.message
    assert raised.value.code == "SyntaxError"


def test_unknown_property_suggests_a_close_one() -> None:
    with pytest.raises(InvalidQuery, match="Did you mean 'name'"):
        compile_filter(COMPANY, "nmae eq 'x'")  # type: ignore[arg-type]


def test_navigation_is_reported_as_not_implemented() -> None:
    with pytest.raises(NotImplementedFeature):
        compile_filter(COMPANY, "company_type/name eq 'x'")  # type: ignore[arg-type]


def test_filter_is_a_boolean_clause() -> None:
    assert isinstance(compile_filter(COMPANY, "is_client").type, sa.Boolean)  # type: ignore[arg-type]
    assert "lower(company.city)" in sql("tolower(city) eq 'gent'")
