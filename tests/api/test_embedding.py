"""Embedded codes and embedded entities (reference.md §3.5), for every foreign key, generically."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant
from tests.factories import Factory


def created(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def test_project_with_embedded_company_and_codes(tenant: Tenant, make: Factory) -> None:
    make("ProjectType", code="PT1", name="Boiler")
    make("ProjectStatus", code="ACT", name="Active")
    body = {
        "name": "Boiler room",
        "reference_back_office": "P-1",
        "company": {"code": "C001", "name": "Acme", "company_type": {"code": "CUST", "name": "Customer"}},
        "project_type_code": "PT1",
        "project_status_code": "ACT",
    }
    project = created(tenant.post("/api/Project", body))
    company = tenant.get(f"/api/Company({project['company_id']})?$expand=company_type").json()
    assert (company["code"], company["name"], company["company_type"]["code"]) == ("C001", "Acme", "CUST")
    assert project["project_type_id"] == tenant.get("/api/ProjectType?$filter=code eq 'PT1'").json()["value"][0]["id"]
    for helper in ("company", "project_type_code", "project_status_code"):
        assert helper not in project, "helper properties are write-only"


def test_jobs_with_job_type_priority_and_project_by_code(tenant: Tenant, make: Factory) -> None:
    project = make("Project", reference_back_office="PRJ-9")
    body = {
        "name": "Repair",
        "project_reference_back_office": "PRJ-9",
        "job_type": {"code": "REP", "name": "Repair"},
        "job_priority": {"code": "HIGH", "name": "High"},
    }
    job = created(tenant.post("/api/Jobs", body))
    assert job["project_id"] == project["id"] and job["company_id"] == project["company_id"]
    assert tenant.get(f"/api/JobType({job['job_type_id']})").json()["code"] == "REP"
    assert tenant.get(f"/api/JobPriority({job['job_priority_id']})").json()["name"] == "High"


def test_article_with_embedded_category(tenant: Tenant) -> None:
    article = created(
        tenant.post(
            "/api/Article", {"code": "A1", "name": "Bolt", "article_category": {"code": "HW", "name": "Hardware"}}
        )
    )
    again = created(tenant.post("/api/Article", {"code": "A2", "name": "Nut", "article_category_code": "HW"}))
    assert article["article_category_id"] == again["article_category_id"]
    assert len(tenant.rows("ArticleCategory")) == 1


def test_task_with_task_type_as_in_the_spec_json_and_xml(tenant: Tenant, make: Factory) -> None:
    company = make("Company", code="C1", name="Acme")
    make("TaskStatus", reference_back_office="OPEN", name="Open")
    body = {"subject": "Call back", "company_code": "C1", "task_status_reference_back_office": "OPEN",
            "task_type": {"code": "0001", "name": "internal task", "description": "internal"}}  # fmt: skip
    task = created(tenant.post("/api/Task", body))
    xml = (
        b"<task><subject>Visit</subject><company_code>C1</company_code>"
        b"<task_status_reference_back_office>OPEN</task_status_reference_back_office>"
        b"<task_type><code>0001</code><name>internal task</name><description>internal</description></task_type>"
        b"</task>"
    )
    response = tenant.client.post(
        "/api/Task", content=xml, headers={**tenant.headers, "Content-Type": "application/xml"}
    )
    from_xml = created(response)
    assert from_xml["task_type_id"] == task["task_type_id"] and from_xml["company_id"] == company["id"]
    assert len(tenant.rows("TaskType")) == 1


def test_unknown_code_is_422_naming_field_and_value(tenant: Tenant, make: Factory) -> None:
    make("ProjectStatus", code="ACT", name="Active")
    response = tenant.post("/api/Project", {"name": "P", "company_code": "NOPE", "project_status_code": "ACT"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["target"] == "company_code" and "'NOPE'" in error["message"]
    assert tenant.rows("Project") == []


def test_conflicting_forms_are_400(tenant: Tenant, make: Factory) -> None:
    a = make("Company", code="A", name="A")
    make("Company", code="B", name="B")
    status = make("ProjectStatus", code="ACT", name="Active")
    base = {"name": "P", "project_status_id": status["id"]}
    bad = tenant.post("/api/Project", base | {"company_id": a["id"], "company_code": "B"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "ConflictingReference"
    bad_node = tenant.post("/api/Project", base | {"company_id": a["id"], "company": {"code": "B"}})
    assert bad_node.status_code == 400
    agreeing = created(tenant.post("/api/Project", base | {"company_id": a["id"], "company_code": "A"}))
    assert agreeing["company_id"] == a["id"]
    assert len(tenant.rows("Project")) == 1


def test_unchanged_embedded_row_is_not_touched_and_changed_one_is_updated(tenant: Tenant) -> None:
    first = created(
        tenant.post(
            "/api/Article", {"code": "A1", "name": "Bolt", "article_category": {"code": "HW", "name": "Hardware"}}
        )
    )
    category_url = f"/api/ArticleCategory({first['article_category_id']})"
    before = tenant.get(category_url).json()
    created(
        tenant.post(
            "/api/Article", {"code": "A2", "name": "Nut", "article_category": {"code": "HW", "name": "Hardware"}}
        )
    )
    unchanged = tenant.get(category_url).json()
    assert (
        unchanged["modified_dateutc"] == before["modified_dateutc"]
        and unchanged["@odata.etag"] == before["@odata.etag"]
    )
    created(
        tenant.post(
            "/api/Article",
            {"code": "A3", "name": "Washer", "article_category": {"code": "HW", "name": "Hardware & tools"}},
        )
    )
    changed = tenant.get(category_url).json()
    assert changed["name"] == "Hardware & tools" and changed["@odata.etag"] != before["@odata.etag"]
    assert changed["modified_dateutc"] >= before["modified_dateutc"]


def test_nested_failure_rolls_back_everything(tenant: Tenant, make: Factory) -> None:
    make("ProjectStatus", code="ACT", name="Active")
    body = {
        "name": "P",
        "project_status_code": "ACT",
        "company": {"code": "NEW", "name": "New Co", "company_type": {"code": "T", "name": "x" * 500}},
    }
    response = tenant.post("/api/Project", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith("In the embedded 'company': In the embedded 'company_type'")
    assert error["details"][0]["target"] == "company.company_type.name"
    assert tenant.rows("Company") == [] and tenant.rows("CompanyType") == [] and tenant.rows("Project") == []


def test_embedded_keyed_entity_needs_its_key(tenant: Tenant, make: Factory) -> None:
    make("ProjectStatus", code="ACT", name="Active")
    response = tenant.post("/api/Project", {"name": "P", "project_status_code": "ACT", "company": {"name": "No code"}})
    assert response.status_code == 400 and "needs its code" in response.json()["error"]["message"]


def test_put_resolves_embedded_forms_too(tenant: Tenant, make: Factory) -> None:
    article = make("Article", code="A1", name="Bolt")
    replaced = created(
        tenant.put(
            f"/api/Article({article['id']})",
            {"code": "A1", "name": "Bolt", "article_category": {"code": "HW", "name": "HW"}},
        ),
        200,
    )
    assert replaced["article_category_id"] != "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("value", [5, ["HW"], {"code": "HW"}])
def test_malformed_helper_values_are_400(tenant: Tenant, value: object) -> None:
    response = tenant.post("/api/Article", {"code": "A1", "name": "Bolt", "article_category_code": value})
    assert response.status_code == 400
    assert tenant.rows("Article") == []
