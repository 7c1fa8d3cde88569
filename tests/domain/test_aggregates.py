"""``$apply`` on the real database: totals an ERP report relies on, compared with sums computed in Python.

Rows are created through the API (two customers' jobs with usage lines, plus a second tenant
whose rows must never count), then :func:`aggregate` runs as the tenant's API user.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from odyssee.db.engine import Database
from odyssee.domain.aggregates import aggregate, count
from odyssee.domain.tenants import authenticate
from odyssee.model.registry import registry
from odyssee.odata.apply import parse_apply, parse_order_by, then_filter
from odyssee.odata.filter import compile_filter
from tests.conftest import Tenant, make_tenant
from tests.factories import Factory

EMPTY = str(uuid.UUID(int=0))


@dataclass
class Report:
    database: Database
    tenant: Tenant
    lines: list[dict[str, Any]]
    company_of_job: dict[str, str]
    article_name: dict[str, str]

    def run(self, controller: str, text: str, **kwargs: Any) -> list[dict[str, Any]]:
        spec = registry().lookup(controller)
        assert spec is not None
        apply = parse_apply(spec, text)
        with self.database.transaction(write=False) as session:
            actor = authenticate(session, "api@example.com", "secret-pw", self.tenant.domain)
            return aggregate(session, actor, spec, apply, **kwargs)


LINES = [
    # (customer, article, quantity, price, working date)
    ("ACME", "Bolt", 2.0, 10.5, "2026-01-03T08:00:00.125Z"),
    ("ACME", "Nut", 3.0, 20.0, "2026-01-01T08:00:00.000Z"),
    ("ACME", None, 1.5, 0.0, "2026-02-01T17:30:00.000Z"),
    ("Zenith", "Bolt", 4.0, 12.25, "2025-12-24T09:15:00.000Z"),
    ("Zenith", "Nut", 0.5, 30.0, "2026-01-02T10:00:00.000Z"),
    ("Zenith", "Nut", 0.25, 30.0, "2026-01-02T11:00:00.000Z"),
]


@pytest.fixture
def report(database: Database, tenant: Tenant, make: Factory, app_client: TestClient) -> Report:
    user = make("User")
    jobs = {name: make("Jobs", company_id=make("Company", name=name)["id"]) for name in ("Zenith", "ACME")}
    articles = {name: make("Article", name=name) for name in ("Nut", "Bolt")}
    lines = [
        make(
            "JobPartUsage",
            jobs_id=jobs[customer]["id"],
            user_id=user["id"],
            article_id=articles[article]["id"] if article else EMPTY,
            quantity=quantity,
            price=price,
            working_date=when,
        )
        for customer, article, quantity, price, when in LINES
    ]
    other = Factory(make_tenant(database, app_client))
    other("JobPartUsage", quantity=1000, price=1000)
    return Report(
        database,
        tenant,
        lines,
        {job["id"]: name for name, job in jobs.items()},
        {article["id"]: name for name, article in articles.items()},
    )


def test_aggregate_over_all_rows_of_the_tenant(report: Report) -> None:
    rows = report.run(
        "JobPartUsage",
        "aggregate(quantity with sum as Qty,price with average as AvgPrice,price with max as Top,"
        "working_date with min as First,working_date with max as Last,jobs_id with countdistinct as Jobs,"
        "$count as Lines)",
    )
    lines = report.lines
    assert rows == [
        {
            "Qty": pytest.approx(sum(line["quantity"] for line in lines)),
            "AvgPrice": pytest.approx(sum(line["price"] for line in lines) / len(lines)),
            "Top": 30.0,
            "First": "2025-12-24T09:15:00.000Z",
            "Last": "2026-02-01T17:30:00.000Z",
            "Jobs": 2,
            "Lines": 6,
        }
    ]
    assert isinstance(rows[0]["Lines"], int) and isinstance(rows[0]["Qty"], float)


def test_groupby_navigation_path_gives_nested_keys_in_key_order(report: Report) -> None:
    rows = report.run(
        "JobPartUsage", "groupby((jobs/company/name),aggregate(quantity with sum as Qty,$count as Lines))"
    )
    expected: dict[str, list[float]] = defaultdict(list)
    for line in report.lines:
        expected[report.company_of_job[line["jobs_id"]]].append(line["quantity"])
    assert rows == [
        {"jobs": {"company": {"name": name}}, "Qty": pytest.approx(sum(quantities)), "Lines": len(quantities)}
        for name, quantities in sorted(expected.items())
    ]


def test_key_behind_an_empty_reference_is_null_and_sorts_first(report: Report) -> None:
    rows = report.run("JobPartUsage", "groupby((article/name,article_id),aggregate($count as Lines))")
    assert rows == [
        {"article": {"name": None}, "article_id": EMPTY, "Lines": 1},
        *sorted(
            (
                {
                    "article": {"name": name},
                    "article_id": key,
                    "Lines": sum(1 for x in report.lines if x["article_id"] == key),
                }
                for key, name in report.article_name.items()
            ),
            key=lambda row: row["article"]["name"],
        ),
    ]


def test_filter_then_groupby_with_average(report: Report) -> None:
    rows = report.run(
        "JobPartUsage", "filter(price gt 10)/groupby((article_id),aggregate(price with average as AvgPrice))"
    )
    prices: dict[str, list[float]] = defaultdict(list)
    for line in report.lines:
        if line["price"] > 10:
            prices[line["article_id"]].append(line["price"])
    assert rows == [
        {"article_id": key, "AvgPrice": pytest.approx(sum(values) / len(values))}
        for key, values in sorted(prices.items())
    ]


def test_filter_after_groupby_keeps_the_matching_groups(report: Report) -> None:
    rows = report.run(
        "JobPartUsage", "groupby((jobs_id),aggregate(quantity with sum as Qty))/filter(Qty gt 4 and Qty lt 5)"
    )
    zenith = next(job for job, name in report.company_of_job.items() if name == "Zenith")
    assert rows == [{"jobs_id": zenith, "Qty": pytest.approx(4.75)}]


def test_outer_filter_restricts_input_rows_and_then_filter_restricts_groups(report: Report) -> None:
    spec = registry().lookup("JobPartUsage")
    assert spec is not None
    text = "groupby((jobs/company/name),aggregate(quantity with sum as Qty))"
    rows = report.run("JobPartUsage", text, where=compile_filter(spec, "price lt 15"))
    assert rows == [
        {"jobs": {"company": {"name": "ACME"}}, "Qty": pytest.approx(3.5)},
        {"jobs": {"company": {"name": "Zenith"}}, "Qty": pytest.approx(4.0)},
    ]
    apply = then_filter(parse_apply(spec, text), "Qty lt 6")
    with report.database.transaction(write=False) as session:
        actor = authenticate(session, "api@example.com", "secret-pw", report.tenant.domain)
        assert aggregate(session, actor, spec, apply) == [{"jobs": {"company": {"name": "Zenith"}}, "Qty": 4.75}]
        assert count(session, actor, spec, apply) == 1
        assert count(session, actor, spec, parse_apply(spec, text)) == 2


def test_order_by_alias_then_paging(report: Report) -> None:
    spec = registry().lookup("JobPartUsage")
    assert spec is not None
    apply = parse_apply(spec, "groupby((working_date),aggregate(price with sum as Total))")
    order = parse_order_by(apply, "Total desc")
    by_total = sorted(report.lines, key=lambda line: (-line["price"], line["working_date"]))
    everything = report.run("JobPartUsage", apply.text, order_by=order)
    assert [row["working_date"] for row in everything] == [line["working_date"] for line in by_total]
    page = report.run("JobPartUsage", apply.text, order_by=order, skip=1, top=2)
    assert page == everything[1:3]


def test_integer_sums_stay_integers_and_averages_are_exact(report: Report) -> None:
    rows = report.run("Jobs", "aggregate(id2 with sum as Total,id2 with average as Mean,id2 with max as Last)")
    assert rows == [{"Total": 3, "Mean": 1.5, "Last": 2}]
    assert isinstance(rows[0]["Total"], int)


def test_min_max_keep_the_json_encoding_of_guids_and_strings(report: Report) -> None:
    rows = report.run(
        "JobPartUsage",
        "filter(article_id ne 00000000-0000-0000-0000-000000000000)/"
        "aggregate(article_id with min as Low,article_id with max as High,name with max as Name)",
    )
    ids = sorted(line["article_id"] for line in report.lines if line["article_id"] != EMPTY)
    assert rows == [{"Low": ids[0], "High": ids[-1], "Name": max(line["name"] for line in report.lines)}]
    assert rows[0]["Low"] == rows[0]["Low"].lower()


def test_nothing_to_aggregate_gives_null_totals_and_zero_counts(report: Report) -> None:
    rows = report.run("JobPartUsage", "filter(price gt 1000)/aggregate(quantity with sum as Qty,$count as Lines)")
    assert rows == [{"Qty": None, "Lines": 0}]
    assert report.run("JobPartUsage", "filter(price gt 1000)/groupby((jobs_id))") == []


def test_groupby_without_aggregate_lists_distinct_keys(report: Report) -> None:
    rows = report.run("JobPartUsage", "groupby((jobs/company/name))")
    assert rows == [{"jobs": {"company": {"name": "ACME"}}}, {"jobs": {"company": {"name": "Zenith"}}}]


def test_filter_only_returns_the_entity_rows(report: Report) -> None:
    rows = report.run("JobPartUsage", "filter(price eq 30)")
    assert sorted(row["id"] for row in rows) == sorted(line["id"] for line in report.lines if line["price"] == 30)
    assert rows[0].keys() == report.lines[0].keys() - {"@odata.context", "@odata.etag"}
