"""``GET /api/<Set>?$apply=…`` over HTTP: groups and totals, ``$filter``/``$orderby``/``$count``
on the output, paging, and clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant
from tests.factories import Factory


@pytest.fixture
def usage(tenant: Tenant, make: Factory) -> list[dict[str, Any]]:
    lines = []
    for company_name, quantities in (("ACME", [1, 2, 3]), ("Zenith", [4.5]), ("Beta", [0.5, 0.5])):
        job = make("Jobs", company_id=make("Company", name=company_name)["id"])
        for quantity in quantities:
            lines.append(make("JobPartUsage", jobs_id=job["id"], quantity=quantity, price=10.0))
    return lines


def test_groupby_navigation_path_with_totals(tenant: Tenant, usage: list[dict[str, Any]]) -> None:
    url = "/api/JobPartUsage?$apply=groupby((jobs/company/name),aggregate(quantity with sum as Qty,$count as Lines))"
    body = tenant.get(url).json()
    assert body["@odata.context"] == "http://testserver/api/$metadata#JobPartUsage(jobs(company(name)),Qty,Lines)"
    assert body["value"] == [
        {"jobs": {"company": {"name": "ACME"}}, "Qty": 6.0, "Lines": 3},
        {"jobs": {"company": {"name": "Beta"}}, "Qty": 1.0, "Lines": 2},
        {"jobs": {"company": {"name": "Zenith"}}, "Qty": 4.5, "Lines": 1},
    ]


def test_filter_orderby_count_and_paging_apply_to_the_groups(tenant: Tenant, usage: list[dict[str, Any]]) -> None:
    url = (
        "/api/JobPartUsage?$apply=groupby((jobs_id),aggregate(quantity with sum as Qty))"
        "&$filter=Qty gt 0.9&$orderby=Qty desc&$count=true"
    )
    first = tenant.get(url, headers={"Prefer": "odata.maxpagesize=2"}).json()
    assert first["@odata.count"] == 3
    assert [g["Qty"] for g in first["value"]] == [6.0, 4.5]
    rest = tenant.get(first["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"}).json()
    assert [g["Qty"] for g in rest["value"]] == [1.0] and "@odata.nextLink" not in rest


def test_aggregate_of_everything(tenant: Tenant, usage: list[dict[str, Any]]) -> None:
    body = tenant.get("/api/JobPartUsage?$apply=aggregate(quantity with max as Most,price with average as Avg)").json()
    assert body["value"] == [{"Most": 4.5, "Avg": 10.0}]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/JobPartUsage?$apply=groupby((quantity)", 400),
        ("/api/JobPartUsage?$apply=aggregate(nope with sum as X)", 400),
        ("/api/JobPartUsage?$apply=aggregate(quantity with sum as X)&$select=X", 501),
        ("/api/JobPartUsage?$apply=aggregate(quantity with sum as X)&$orderby=nope", 400),
        ("/api/JobPartUsage?$apply=compute(quantity mul price as Total)", 501),
        ("/api/JobPartUsage?$apply=frobnicate(x)", 400),
    ],
)
def test_bad_apply_is_a_clear_error(tenant: Tenant, url: str, status: int) -> None:
    response = tenant.get(url)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]
