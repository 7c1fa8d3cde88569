"""``$expand`` in both directions, nested options, and one query per level whatever the row count."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant, counted, is_login_query
from tests.factories import Factory


def _companies_with_projects(make: Factory, companies: int, projects: int, first: int = 0) -> list[dict[str, Any]]:
    made = []
    for c in range(first, first + companies):
        company = make("Company", name=f"Company {c}", code=f"C{c:03d}")
        for p in range(projects):
            make("Project", company_id=company["id"], name=f"P{c}-{p}")
        made.append(company)
    return made


def test_to_one_and_to_many_expansions(tenant: Tenant, make: Factory) -> None:
    job = make("Jobs")
    body = tenant.get(f"/api/Jobs({job['id']})?$expand=company,project,job_status").json()
    assert body["company"]["id"] == job["company_id"]
    assert body["project"]["id"] == job["project_id"]
    assert body["job_status"]["id"] == job["job_status_id"]
    assert body["company"]["@odata.etag"].startswith('W/"')
    company = tenant.get(f"/api/Company({job['company_id']})?$expand=projects,jobs,contacts").json()
    assert [p["id"] for p in company["projects"]] == [job["project_id"]]
    assert [j["id"] for j in company["jobs"]] == [job["id"]]
    assert company["contacts"] == []


def test_empty_foreign_key_expands_to_null(tenant: Tenant, make: Factory) -> None:
    company = make("Company", name="Solo")
    body = tenant.get(f"/api/Company({company['id']})?$expand=parent,company_type").json()
    assert body["parent"] is None
    assert body["company_type"] is None or body["company_type"]["id"] == body["company_type_id"]


def test_nested_select_filter_orderby_top_count(tenant: Tenant, make: Factory) -> None:
    _companies_with_projects(make, 2, 4)
    url = (
        "/api/Company?$orderby=code&$select=code"
        "&$expand=projects($select=name;$filter=name ne 'P0-0';$orderby=name desc;$top=2;$count=true)"
    )
    value = tenant.get(url).json()["value"]
    assert [c["code"] for c in value] == ["C000", "C001"]
    assert [p["name"] for p in value[0]["projects"]] == ["P0-3", "P0-2"]
    assert value[0]["projects@odata.count"] == 3, "the count ignores $top but honours $filter"
    assert [p["name"] for p in value[1]["projects"]] == ["P1-3", "P1-2"]
    assert value[1]["projects@odata.count"] == 4
    assert set(value[0]["projects"][0]) == {"@odata.etag", "name"}


def test_nested_expand_two_levels(tenant: Tenant, make: Factory) -> None:
    job = make("Jobs")
    body = tenant.get(f"/api/Company({job['company_id']})?$expand=projects($expand=jobs($expand=job_status))").json()
    assert body["projects"][0]["jobs"][0]["job_status"]["code"]


def test_one_query_per_level_not_per_row(tenant: Tenant, make: Factory) -> None:
    _companies_with_projects(make, 3, 2)
    url = "/api/Company?$expand=projects($expand=company),company_type"
    with counted() as few:
        assert len(tenant.get(url).json()["value"]) == 3
    work = [statement for statement in few if not is_login_query(statement)]  # the login's is read or kept
    assert len(work) >= 3, "the companies and one query per expanded level"
    _companies_with_projects(make, 6, 2, first=3)
    with counted() as many:
        body = tenant.get(url).json()
    assert len(body["value"]) == 9
    assert len([statement for statement in many if not is_login_query(statement)]) == len(work), (
        "expanding more rows must not cost more queries"
    )
    assert all(p["company"]["id"] == c["id"] for c in body["value"] for p in c["projects"])


def test_orderby_navigation_path(tenant: Tenant, make: Factory) -> None:
    b = make("Company", name="B-company")
    a = make("Company", name="A-company")
    make("Project", company_id=b["id"], name="first")
    make("Project", company_id=a["id"], name="second")
    names = [p["name"] for p in tenant.get("/api/Project?$orderby=company/name").json()["value"]]
    assert names == ["second", "first"]
    names = [p["name"] for p in tenant.get("/api/Project?$orderby=company/name desc").json()["value"]]
    assert names == ["first", "second"]


def test_count_path_segment(tenant: Tenant, make: Factory) -> None:
    _companies_with_projects(make, 3, 0)
    response = tenant.get("/api/Company/$count")
    assert response.status_code == 200 and response.text == "3"
    assert response.headers["content-type"].startswith("text/plain")
    assert tenant.get("/api/Company/$count?$filter=code eq 'C001'").text == "1"
