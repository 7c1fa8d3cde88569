"""``$apply`` parsing and binding: what a report author may write, and the errors when they get it wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from odyssee.model.errors import InvalidQuery, NotImplementedFeature
from odyssee.model.registry import EntitySpec, Kind, registry
from odyssee.odata.apply import apply_select, context_properties, parse_apply, parse_order_by, then_filter


def _spec(name: str) -> EntitySpec:
    spec = registry().lookup(name)
    assert spec is not None
    return spec


USAGE = _spec("JobPartUsage")


def test_groupby_with_aggregate_binds_keys_and_aliases() -> None:
    apply = parse_apply(
        USAGE,
        "groupby((jobs/company/name, article_id),aggregate(quantity with sum as Qty, price with average as Avg,"
        " working_date with max as Last, $count as Lines, article_id with countdistinct as Articles))",
    )
    assert [key.name for key in apply.keys] == ["jobs/company/name", "article_id"]
    assert [(a.alias, a.method, a.output.kind) for a in apply.aggregations] == [
        ("Qty", "sum", Kind.DECIMAL),
        ("Avg", "average", Kind.DECIMAL),
        ("Last", "max", Kind.DATETIME),
        ("Lines", "$count", Kind.INT32),
        ("Articles", "countdistinct", Kind.INT32),
    ]
    assert context_properties(apply) == ["jobs(company(name))", "article_id", "Qty", "Avg", "Last", "Lines", "Articles"]


def test_context_merges_keys_behind_the_same_navigation() -> None:
    apply = parse_apply(USAGE, "groupby((jobs/name,jobs/reference_back_office,code))")
    assert context_properties(apply) == ["jobs(name,reference_back_office)", "code"]


def test_sum_of_an_integer_stays_an_integer_and_average_is_decimal() -> None:
    apply = parse_apply(
        _spec("Jobs"), "aggregate(id2 with sum as Total,id2 with average as Mean,id2 with min as First)"
    )
    assert [a.output.kind for a in apply.aggregations] == [Kind.INT32, Kind.DECIMAL, Kind.INT32]


def test_filters_before_the_aggregation_restrict_rows_and_after_it_restrict_groups() -> None:
    apply = parse_apply(
        USAGE, "filter(price gt 10)/filter(quantity lt 5)/groupby((code),aggregate(price with sum as T))/filter(T gt 1)"
    )
    assert len(apply.filters) == 2
    assert len(apply.output_filters) == 1
    sql = str(apply_select(USAGE, 7, apply).compile(dialect=sqlite.dialect()))
    assert "job_part_usage.price > ?" in sql
    assert "apply_output.a0 > ?" in sql
    assert "job_part_usage.tenant_id = ?" in sql


def test_every_statement_is_tenant_scoped_and_ordered_by_the_group_keys() -> None:
    apply = parse_apply(USAGE, "groupby((jobs/company/name,code),aggregate($count as N))")
    compiled = apply_select(USAGE, 42, apply).compile(dialect=postgresql.dialect())
    sql = str(compiled)
    assert 42 in compiled.params.values()
    assert "job_part_usage.tenant_id = %(tenant_id_1)s" in sql
    assert "company_1.tenant_id = jobs_1.tenant_id" in sql
    assert sql.endswith("ORDER BY apply_output.k0 ASC NULLS FIRST, apply_output.k1 ASC NULLS FIRST")


def test_order_by_output_names_comes_before_the_keys() -> None:
    apply = parse_apply(USAGE, "groupby((code,name),aggregate(quantity with sum as Qty))")
    assert parse_order_by(apply, "Qty desc,name") == [("Qty", True), ("name", False)]
    sql = str(apply_select(USAGE, 1, apply, order_by=[("Qty", True)]).compile(dialect=sqlite.dialect()))
    assert sql.endswith(
        "ORDER BY apply_output.a0 DESC NULLS LAST, apply_output.k0 ASC NULLS FIRST, apply_output.k1 ASC NULLS FIRST"
    )


@pytest.mark.parametrize("text", ["price desc", "Qty up", "Qty asc desc", ""])
def test_order_by_must_name_an_output_property(text: str) -> None:
    apply = parse_apply(USAGE, "groupby((code),aggregate(quantity with sum as Qty))")
    with pytest.raises(InvalidQuery) as raised:
        parse_order_by(apply, text)
    assert raised.value.target == "$orderby"


def test_then_filter_is_a_filter_on_the_result() -> None:
    apply = then_filter(parse_apply(USAGE, "groupby((code),aggregate(quantity with sum as Qty))"), "Qty ge 3")
    assert len(apply.output_filters) == 1
    with pytest.raises(InvalidQuery) as raised:
        then_filter(parse_apply(USAGE, "groupby((code),aggregate(quantity with sum as Qty))"), "Qty ge")
    assert raised.value.target == "$filter"
    assert "position 4" in raised.value.message
    with pytest.raises(InvalidQuery, match=r"'price' is neither a property nor a navigation of The \$apply result"):
        then_filter(parse_apply(USAGE, "groupby((code),aggregate(quantity with sum as Qty))"), "price gt 1")


MALFORMED = [
    ("groupby(", 8, "'('"),
    ("groupby((name)", 14, "')'"),
    ("groupby(())", 9, "a property name"),
    ("groupby((jobs/))", 14, "a property name after '/'"),
    ("groupby((name),)", 15, "a transformation"),
    ("groupby((name))x", 15, "'/' and another transformation"),
    ("aggregate(quantity sum as Qty)", 19, "'with'"),
    ("aggregate(quantity with sum Qty)", 28, "'as'"),
    ("aggregate(quantity with sum as)", 30, "an alias"),
    ("aggregate(quantity with sum as 1x)", 31, "an alias"),
    ("aggregate(quantity with sum as Qty", 34, "')'"),
    ("aggregate($count)", 16, "'as'"),
    ("aggregate(quantity with sum as Qty)/", 36, "a transformation"),
    ("/filter(price gt 1)", 0, "a transformation"),
    ("frobnicate(x)", 0, "a transformation"),
    ("filter()", 7, "a boolean expression"),
    ("filter(price gt 10", 18, "')' closing filter("),
    ("filter(price gt)", 13, "a valid filter expression"),
    ("filter(name eq 'abc)", 20, "the closing quote"),
    ("filter(price gt 1) filter(price gt 2)", 19, "'/' and another transformation"),
    ("groupby((code),aggregate(quantity with sum as Q))/filter(Q gt)", 59, "a valid filter expression"),
]


@pytest.mark.parametrize(("text", "position", "expected"), MALFORMED)
def test_syntax_errors_name_the_position_and_what_was_expected(text: str, position: int, expected: str) -> None:
    with pytest.raises(InvalidQuery) as raised:
        parse_apply(USAGE, text)
    error = raised.value
    assert error.code == "SyntaxError"
    assert error.target == "$apply"
    assert f"position {position}: expected {expected}" in error.message
    assert error.details[0].message == f"{text[:position]}<<HERE>>{text[position:]}"


def test_filter_strings_may_contain_parentheses_and_quotes() -> None:
    apply = parse_apply(USAGE, "filter(name eq 'a) (''b''')/aggregate($count as N)")
    params = apply.filters[0].compile().params
    assert list(params.values()) == ["a) ('b'"]


@pytest.mark.parametrize(
    ("text", "code", "target"),
    [
        ("  ", "InvalidQueryOption", None),
        ("aggregate(name with sum as T)", "InvalidAggregation", "name"),
        ("aggregate(working_date with average as T)", "InvalidAggregation", "working_date"),
        ("aggregate(is_under_warranty with max as T)", "InvalidAggregation", "is_under_warranty"),
        ("aggregate(jobs/name with sum as T)", "InvalidAggregation", "jobs/name"),
        ("aggregate(quantity with avg as T)", "UnknownAggregationMethod", "avg"),
        ("aggregate(quantiy with sum as T)", "UnknownProperty", "quantiy"),
        ("groupby((jobs/nmae))", "UnknownProperty", "nmae"),
        ("groupby((jobs/job_part_usages/name))", "CollectionPath", None),
        ("groupby((code),aggregate(quantity with sum as code))", "AliasClash", "code"),
        ("groupby((jobs/name),aggregate(quantity with sum as jobs))", "AliasClash", "jobs"),
        ("aggregate(quantity with sum as quantity)", "AliasClash", "quantity"),
        ("aggregate(quantity with sum as T,price with sum as T)", "AliasClash", "T"),
        ("groupby((code,code))", "DuplicateGroupKey", "code"),
        ("groupby((code),aggregate(price with sum as T))/filter(name eq 'x')", "UnknownProperty", "name"),
        ("filter(price eq 'x')/aggregate($count as N)", "InvalidLiteral", "price"),
    ],
)
def test_names_and_types_are_checked_against_the_entity(text: str, code: str, target: str | None) -> None:
    with pytest.raises(InvalidQuery) as raised:
        parse_apply(USAGE, text)
    assert raised.value.code == code
    assert raised.value.target == "$apply"
    if target is not None:
        assert raised.value.details[0].target == target


@pytest.mark.parametrize(
    "text",
    [
        "topcount(2,quantity)",
        "identity",
        "groupby((rollup(code,name)))",
        "groupby((article))",
        "aggregate(quantity mul price with sum as Revenue)",
        "aggregate(quantity with sum as Q from code with max)",
        "aggregate(quantity with Sales.median as M)",
        "aggregate(jobs(id2 with sum as S))",
        "groupby((code),filter(price gt 1))",
        "groupby((code),aggregate(price with sum as T)/filter(T gt 1))",
        "aggregate(quantity with sum as Q)/aggregate(Q with max as M)",
        "groupby((code))/groupby((code))",
    ],
)
def test_unsupported_shapes_are_501_never_ignored(text: str) -> None:
    with pytest.raises(NotImplementedFeature):
        parse_apply(USAGE, text)


def test_filter_steps_speak_the_whole_filter_language() -> None:
    apply = parse_apply(USAGE, "filter(jobs/company/name eq 'x' and jobs/job_part_usages/any(u: u/quantity gt 1))")
    assert len(apply.filters) == 1


def _documented_examples() -> list[tuple[str, str, str]]:
    """Every ``GET /api/<Set>?$apply=…`` line of docs/apply.md, split into (set, apply, filter)."""
    found = []
    for line in (Path(__file__).parents[2] / "docs" / "apply.md").read_text().splitlines():
        match = re.match(r"(?:GET )?/api/(\w+)\?\$apply=(.*?)(?:&\$filter=(.*))?$", line.strip())
        if match:
            found.append((match.group(1), match.group(2), match.group(3) or ""))
    return found


@pytest.mark.parametrize(("entity_set", "text", "filter_text"), _documented_examples())
def test_documented_examples_parse(entity_set: str, text: str, filter_text: str) -> None:
    apply = parse_apply(_spec(entity_set), text)
    if filter_text:
        apply = then_filter(apply, filter_text)
    assert apply.aggregated


def test_documented_examples_are_found() -> None:
    assert len(_documented_examples()) >= 7


def test_apply_parsed_for_another_entity_is_refused() -> None:
    with pytest.raises(ValueError, match="parsed for JobPartUsage"):
        apply_select(_spec("Jobs"), 1, parse_apply(USAGE, "aggregate($count as N)"))
