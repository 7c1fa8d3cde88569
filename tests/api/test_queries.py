"""Query options on collections: the seed's exact URLs, $filter, $select, $orderby, paging, $count."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import Tenant
from tests.factories import Factory


@pytest.fixture
def companies(tenant: Tenant) -> list[dict[str, Any]]:
    rows = [
        {"code": "C001", "name": "Acme Bakeries", "city": "Brussels", "discount": 5, "is_client": True},
        {"code": "C002", "name": "Northwind Dairy", "city": "Antwerpen", "discount": 0, "is_client": True},
        {"code": "C003", "name": "Sunrise Hotels", "city": "Gent", "discount": 12.5, "is_client": False},
        {"code": "C004", "name": "O'Neil & Sons", "city": "Gent", "discount": 2, "is_client": False},
    ]
    return [tenant.post("/api/Company", row).json() for row in rows]


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["name"] for row in response.json()["value"]]


def test_seed_job_approval_delta_query(tenant: Tenant, make: Factory) -> None:
    final = make("JobApproval", is_daily_approval=False)
    make("JobApproval", is_daily_approval=True)
    url = (
        "/api/JobApproval?$filter=modified_dateutc+gt+'2015-07-14T13:08:00.000Z'+and+is_daily_approval+eq+false"
        "&$orderby=modified_dateutc+asc"
    )
    body = tenant.get(url).json()
    assert body["@odata.context"] == "http://testserver/api/$metadata#JobApproval"
    assert [row["id"] for row in body["value"]] == [final["id"]]
    later = final["modified_dateutc"]
    assert tenant.get(url.replace("2015-07-14T13:08:00.000Z", later)).json()["value"] == []


def test_seed_select_by_id_query(tenant: Tenant, make: Factory) -> None:
    job = make("Jobs", reference_back_office="ERP_PK_123")
    make("Jobs")
    body = tenant.get(f"/api/Jobs?$select=reference_back_office&$filter=id+eq+{job['id']}").json()
    assert body == {
        "@odata.context": "http://testserver/api/$metadata#Jobs(reference_back_office)",
        "value": [{"@odata.etag": 'W/"1"', "reference_back_office": "ERP_PK_123"}],
    }
    assert tenant.get(f"/api/Jobs?$filter=id eq {job['id'].upper()}").json()["value"][0]["id"] == job["id"]
    assert tenant.get(f"/api/Jobs?$filter=id eq '{job['id']}'").json()["value"][0]["id"] == job["id"]


def test_seed_usage_lines_by_job(tenant: Tenant, make: Factory) -> None:
    job = make("Jobs")
    part = make("JobPartUsage", jobs_id=job["id"])
    make("JobPartUsage")
    time_line = make("JobNonPartUsage", jobs_id=job["id"])
    assert [r["id"] for r in tenant.get(f"/api/JobPartUsage?$filter=jobs_id+eq+{job['id']}").json()["value"]] == [
        part["id"]
    ]
    lines = tenant.get(f"/api/JobNonPartUsage?$filter=jobs_id+eq+{job['id']}").json()["value"]
    assert [r["id"] for r in lines] == [time_line["id"]]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("name eq 'Acme Bakeries'", ["Acme Bakeries"]),
        ("name ne 'Acme Bakeries'", ["Northwind Dairy", "O'Neil & Sons", "Sunrise Hotels"]),
        ("name eq 'O''Neil & Sons'", ["O'Neil & Sons"]),
        ("discount gt 2", ["Acme Bakeries", "Sunrise Hotels"]),
        ("discount ge 2 and discount le 5", ["Acme Bakeries", "O'Neil & Sons"]),
        ("discount lt 1 or city eq 'Gent'", ["Northwind Dairy", "O'Neil & Sons", "Sunrise Hotels"]),
        ("not (city eq 'Gent')", ["Acme Bakeries", "Northwind Dairy"]),
        ("is_client eq true", ["Acme Bakeries", "Northwind Dairy"]),
        ("contains(name,'o')", ["Northwind Dairy", "O'Neil & Sons", "Sunrise Hotels"]),
        ("contains(name,'O')", ["O'Neil & Sons"]),
        ("startswith(name,'Sun')", ["Sunrise Hotels"]),
        ("endswith(name,'Dairy')", ["Northwind Dairy"]),
        ("tolower(city) eq 'gent'", ["O'Neil & Sons", "Sunrise Hotels"]),
        ("toupper(code) eq 'C002'", ["Northwind Dairy"]),
        ("length(city) eq 4", ["O'Neil & Sons", "Sunrise Hotels"]),
        ("code in ('C001', 'C003')", ["Acme Bakeries", "Sunrise Hotels"]),
        ("discount add 1 ge 6", ["Acme Bakeries", "Sunrise Hotels"]),
        ("year(modified_dateutc) ge 2020", ["Acme Bakeries", "Northwind Dairy", "O'Neil & Sons", "Sunrise Hotels"]),
        (
            "modified_dateutc gt 2015-07-14T13:08:00Z",
            ["Acme Bakeries", "Northwind Dairy", "O'Neil & Sons", "Sunrise Hotels"],
        ),
        ("modified_dateutc lt '2015-07-14T13:08:00.000Z'", []),
        ("create_date gt '2015-07-14'", ["Acme Bakeries", "Northwind Dairy", "O'Neil & Sons", "Sunrise Hotels"]),
    ],
)
def test_filter_expressions(
    tenant: Tenant, companies: list[dict[str, Any]], expression: str, expected: list[str]
) -> None:
    response = tenant.get("/api/Company", params={"$filter": expression, "$orderby": "name"})
    assert names(response) == expected


def test_guid_filter_compares_case_insensitively(tenant: Tenant, companies: list[dict[str, Any]]) -> None:
    target = companies[2]["id"]
    assert names(tenant.get("/api/Company", params={"$filter": f"id eq {target.upper()}"})) == ["Sunrise Hotels"]
    assert names(tenant.get("/api/Company", params={"$filter": f"id eq '{target.upper()}'"})) == ["Sunrise Hotels"]


def test_datetime_filter_has_millisecond_precision(tenant: Tenant, companies: list[dict[str, Any]]) -> None:
    newest = max(companies, key=lambda row: (row["modified_dateutc"], row["id"]))
    stamp = newest["modified_dateutc"]
    same_or_later = tenant.get("/api/Company", params={"$filter": f"modified_dateutc ge '{stamp}'"}).json()["value"]
    assert newest["id"] in [row["id"] for row in same_or_later]
    assert all(row["modified_dateutc"] >= stamp for row in same_or_later)
    offset = stamp.replace("Z", "+02:00")
    shifted = tenant.get("/api/Company", params={"$filter": f"modified_dateutc ge '{offset}'"}).json()["value"]
    assert len(shifted) == 4, "an offset of +02:00 means two hours earlier in UTC"


def test_orderby_several_keys_and_desc(tenant: Tenant, companies: list[dict[str, Any]]) -> None:
    response = tenant.get("/api/Company", params={"$orderby": "city desc,name asc"})
    assert names(response) == ["O'Neil & Sons", "Sunrise Hotels", "Acme Bakeries", "Northwind Dairy"]


def test_select_several_and_star(tenant: Tenant, companies: list[dict[str, Any]]) -> None:
    body = tenant.get("/api/Company", params={"$select": "name,code", "$orderby": "code", "$top": "1"}).json()
    assert body["@odata.context"].endswith("#Company(name,code)")
    assert body["value"] == [{"@odata.etag": 'W/"1"', "name": "Acme Bakeries", "code": "C001"}]
    star = tenant.get("/api/Company", params={"$select": "*", "$top": "1"}).json()["value"][0]
    assert "vat_reg_code" in star
    one = tenant.get(f"/api/Company({companies[0]['id']})", params={"$select": "code"}).json()
    assert one == {
        "@odata.context": "http://testserver/api/$metadata#Company(code)/$entity",
        "@odata.etag": 'W/"1"',
        "code": "C001",
    }


def test_count_top_skip(tenant: Tenant, companies: list[dict[str, Any]]) -> None:
    body = tenant.get("/api/Company", params={"$count": "true", "$top": "2", "$skip": "1", "$orderby": "code"}).json()
    assert body["@odata.count"] == 4
    assert [row["code"] for row in body["value"]] == ["C002", "C003"]
    assert "@odata.nextLink" not in body, "$top=2 was satisfied"
    filtered = tenant.get("/api/Company", params={"$count": "true", "$filter": "city eq 'Gent'"}).json()
    assert filtered["@odata.count"] == 2


def test_server_paging_in_pages_of_20_with_next_links(tenant: Tenant) -> None:
    created = {tenant.post("/api/JobType", {"name": f"Type {i:02d}"}, headers={"Prefer": "return=minimal"}).json()["id"]
               for i in range(45)}  # fmt: skip
    first = tenant.get("/api/JobType").json()
    assert len(first["value"]) == 20
    link = first["@odata.nextLink"]
    assert link.startswith("http://testserver/api/JobType?") and "$skiptoken" in parse_qs(urlsplit(link).query)
    seen = [row["id"] for row in first["value"]]
    while link:
        page = tenant.get(link).json()
        seen += [row["id"] for row in page["value"]]
        link = page.get("@odata.nextLink")
    assert len(seen) == 45 and set(seen) == created


def test_top_above_page_size_pages_until_top(tenant: Tenant) -> None:
    for i in range(30):
        tenant.post("/api/JobType", {"name": f"Type {i:02d}"}, headers={"Prefer": "return=minimal"})
    first = tenant.get("/api/JobType", params={"$top": "25", "$orderby": "name"}).json()
    assert len(first["value"]) == 20
    second = tenant.get(first["@odata.nextLink"]).json()
    assert [row["name"] for row in second["value"]] == [f"Type {i:02d}" for i in range(20, 25)]
    assert "@odata.nextLink" not in second


def test_prefer_maxpagesize(tenant: Tenant) -> None:
    for i in range(30):
        tenant.post("/api/JobType", {"name": f"Type {i:02d}"}, headers={"Prefer": "return=minimal"})
    response = tenant.get("/api/JobType", headers={"Prefer": "odata.maxpagesize=25"})
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=25"
    assert len(response.json()["value"]) == 25


def test_controller_names_are_case_insensitive(tenant: Tenant, companies: list[dict[str, Any]]) -> None:
    body = tenant.get("/api/company").json()
    assert body["@odata.context"].endswith("#Company")
    assert len(body["value"]) == 4
