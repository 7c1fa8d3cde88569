"""``$filter`` parsing and binding without a database: literal forms, typing, positions, per-engine SQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from odyssee.model.errors import InvalidQuery, NotImplementedFeature
from odyssee.model.registry import EntitySpec, registry
from odyssee.odata.filter import compile_filter
from odyssee.odata.filter_syntax import iter_tokens, parse_filter


def spec(name: str) -> EntitySpec:
    found = registry().lookup(name)
    assert found is not None
    return found


COMPANY = spec("Company")


def sql(expression: str, dialect: Any = None, entity: EntitySpec = COMPANY) -> str:
    clause = compile_filter(entity, expression)
    return str(clause.compile(dialect=dialect or sqlite.dialect()))


def params(expression: str) -> list[Any]:
    return list(compile_filter(COMPANY, expression).compile(dialect=sqlite.dialect()).params.values())


def test_quoted_datetime_is_bound_as_a_datetime() -> None:
    assert params("modified_dateutc gt '2015-07-14T13:08:00.000Z'") == [datetime(2015, 7, 14, 13, 8, tzinfo=UTC)]


@pytest.mark.parametrize(
    "literal",
    [
        "2015-07-14T13:08:00Z",
        "2015-07-14T13:08:00.000Z",
        "'2015-07-14T13:08:00.000Z'",
        "'2015-07-14T13:08:00'",
        "datetime'2015-07-14T13:08:00'",
        "datetimeoffset'2015-07-14T15:08:00+02:00'",
        "2015-07-14T15:08:00+02:00",
    ],
)
def test_every_datetime_literal_form_means_the_same_instant(literal: str) -> None:
    assert params(f"create_date eq {literal}") == [datetime(2015, 7, 14, 13, 8, tzinfo=UTC)]


def test_guid_forms_bind_to_the_same_value() -> None:
    guid = "98461E3A-DCCB-436E-B975-002A78A7B52E"
    forms = (guid, guid.lower(), f"'{guid}'", f"guid'{guid}'", f"guid'{guid.lower()}'")
    assert {str(params(f"id eq {form}")[0]) for form in forms} == {guid.lower()}


def test_v3_number_suffixes_are_plain_numbers() -> None:
    assert params("discount eq 1.5m or discount eq 2d or credit_limit eq 10L") == [1.5, 2.0, 10]


def test_null_is_the_empty_value_of_the_other_side() -> None:
    assert params("name eq null") == [""]
    assert params("null eq parent_id") == [uuid.UUID(int=0)]
    assert params("create_date ne null") == [datetime(1980, 1, 1, tzinfo=UTC)]


def test_names_starting_like_keywords_are_identifiers() -> None:
    assert [kind for kind, _ in iter_tokens("allow_in_job eq true")] == ["ODATA_IDENTIFIER", "EQ", "BOOLEAN"]
    assert [kind for kind, _ in iter_tokens("nullable or falsey")] == ["ODATA_IDENTIFIER", "OR", "ODATA_IDENTIFIER"]
    assert [kind for kind, _ in iter_tokens("jobs/any (j: true)")][:4] == ["ODATA_IDENTIFIER", "/", "ANY", "WS"]


def test_token_positions_skip_the_blanks_operators_swallow() -> None:
    assert list(iter_tokens("a  eq 'x'")) == [("ODATA_IDENTIFIER", 0), ("EQ", 3), ("STRING", 6)]


def test_one_item_in_list_needs_no_trailing_comma() -> None:
    assert parse_filter("code in ('a')").tree == parse_filter("code in ('a',)").tree


def test_precedence_follows_odata() -> None:
    tree = parse_filter("a eq 1 or b eq 2 and not c").tree
    assert type(tree).__name__ == "BoolOp" and type(tree.op).__name__ == "Or"  # type: ignore[attr-defined]
    assert "company.discount + ? * ?" in sql("discount add 2 mul 3 eq 8")
    assert "(company.discount + ?) * ?" in sql("(discount add 2) mul 3 eq 8")


@pytest.mark.parametrize(
    ("expression", "position"),
    [("name eq", 5), ("name eq 'a' and", 12), ("(name eq 'a'", 12), ("name eq 'a' zz", 12), ("name €", 5)],
)
def test_syntax_errors_name_the_position(expression: str, position: int) -> None:
    with pytest.raises(InvalidQuery) as raised:
        compile_filter(COMPANY, expression)
    assert f"position {position}" in raised.value.message
    assert raised.value.code == "SyntaxError"


def test_type_errors_name_the_position_of_the_literal() -> None:
    with pytest.raises(InvalidQuery, match="position 8") as raised:
        compile_filter(COMPANY, "name eq 5")
    assert raised.value.code == "InvalidLiteral"


def test_unknown_property_suggests_a_close_one() -> None:
    with pytest.raises(InvalidQuery, match="Did you mean 'name'"):
        compile_filter(COMPANY, "nmae eq 'x'")


def test_functions_without_a_portable_meaning_are_not_implemented() -> None:
    for expression in ("matchesPattern(name, 'a.*')", "geo.distance(name, name) lt 1", "totalseconds(name) gt 1"):
        with pytest.raises(NotImplementedFeature):
            compile_filter(COMPANY, expression)


def test_filter_is_a_boolean_clause() -> None:
    assert isinstance(compile_filter(COMPANY, "is_client").type, sa.Boolean)
    with pytest.raises(InvalidQuery, match="not a boolean"):
        compile_filter(COMPANY, "discount add 1")


def test_engine_specific_sql() -> None:
    pg = postgresql.psycopg.dialect()  # type: ignore[attr-defined]
    assert "odyssee_lower(company.city)" in sql("tolower(city) eq 'gent'")
    assert "lower(company.city)" in sql("tolower(city) eq 'gent'", pg)
    assert '(company.name COLLATE "C") >' in sql("name gt 'b'", pg), "code-point order whatever the locale"
    assert "COLLATE" not in sql("name eq 'b'", pg)
    assert "strftime" in sql("year(create_date) eq 2026") and "timezone" in sql("year(create_date) eq 2026", pg)
    assert "ESCAPE '/'" in sql("contains(name, '50%')")


def test_lambdas_and_counts_are_correlated_tenant_aware_subqueries() -> None:
    text = sql("jobs/any(j: j/job_part_usages/any(p: p/quantity gt 2 and j/name eq name))")
    assert text.count("EXISTS") == 2
    assert "FROM job_part_usage AS job_part_usage_1 WHERE" in " ".join(text.split()), "company is correlated"
    assert "jobs_1.tenant_id = company.tenant_id" in text
    assert "job_part_usage_1.tenant_id = jobs_1.tenant_id" in text
    assert "NOT (EXISTS" in sql("projects/all(p: p/name ne '')")
    assert "count(*)" in sql("children/$count gt 2")
