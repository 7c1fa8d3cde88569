"""Create, read, replace and delete every entity through HTTP, with the Odyssee envelopes."""

from __future__ import annotations

import uuid

import pytest

from odyssee.model.base import Deletion
from odyssee.model.registry import Kind, registry
from tests.conftest import Tenant
from tests.factories import Factory, sample

WRITABLE = [spec.name for spec in registry() if not spec.options.read_only]


def test_every_issue_controller_is_served(tenant: Tenant) -> None:
    required = {
        "Company", "CompanyType", "Contact", "User", "Project", "ProjectType", "ProjectStatus", "Article",
        "ArticleCategory", "Jobs", "JobType", "JobPriority", "JobStatus", "JobPartUsage", "JobNonPartUsage",
        "JobApproval", "HourType", "Task", "TaskType", "TaskStatus", "DbFile", "DbFileFolder",
    }  # fmt: skip
    listed = {item["name"] for item in tenant.get("/api/").json()["value"]}
    assert required <= listed
    for name in required:
        response = tenant.get(f"/api/{name}")
        assert response.status_code == 200, name
        assert response.json()["@odata.context"] == f"http://testserver/api/$metadata#{name}"


@pytest.mark.parametrize("controller", WRITABLE)
def test_create_then_get_returns_the_full_entity(make: Factory, tenant: Tenant, controller: str) -> None:
    spec = registry().lookup(controller)
    assert spec is not None
    body = make.body(controller)
    response = tenant.post(f"/api/{controller}", body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["@odata.context"] == f"http://testserver/api/$metadata#{controller}/$entity"
    assert response.headers["Location"] == f"http://testserver/api/{controller}({created['id']})"
    assert set(created) == {"@odata.context", "@odata.etag"} | {f.name for f in spec.fields if not f.write_only}
    for name, value in body.items():
        if name in created or not spec.by_name[name].write_only:  # secrets are accepted, never returned
            assert created[name] == value, name
    assert None not in created.values(), "the spec allows no nulls"
    fetched = tenant.get(f"/api/{controller}({created['id']})")
    assert fetched.status_code == 200
    assert fetched.json() == created


@pytest.mark.parametrize("controller", WRITABLE)
def test_put_replaces_and_bumps_modified_dateutc(make: Factory, tenant: Tenant, controller: str) -> None:
    spec = registry().lookup(controller)
    assert spec is not None
    created = make(controller)
    text_fields = [
        f for f in spec.writable if f.kind is Kind.STRING and not f.required and f.name != spec.options.erp_key
    ]
    # a PUT resends the whole entity, write-only secrets included
    body = {name: created.get(name, value) for name, value in make.body(controller).items()}
    changed = text_fields[0].name if text_fields else None
    if changed:
        body[changed] = sample(spec, text_fields[0])
    response = tenant.put(f"/api/{controller}({created['id'].upper()})", body)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["id"] == created["id"]
    assert updated["modified_dateutc"] >= created["modified_dateutc"]
    if changed:
        assert updated[changed] == body[changed]
    assert tenant.get(f"/api/{controller}({created['id']})").json() == updated


@pytest.mark.parametrize("controller", WRITABLE)
def test_delete_follows_the_entity_policy(make: Factory, tenant: Tenant, controller: str) -> None:
    spec = registry().lookup(controller)
    assert spec is not None
    created = make(controller)
    response = tenant.delete(f"/api/{controller}({created['id']})")
    after = tenant.get(f"/api/{controller}({created['id']})")
    if spec.options.deletion is Deletion.HARD:
        assert response.status_code == 204
        assert after.status_code == 404
    elif spec.options.deletion is Deletion.LOGICAL:
        assert response.status_code == 204
        assert after.json()["sys_logical_delete"] is True
        assert after.json()["modified_dateutc"] >= created["modified_dateutc"]
        assert tenant.delete(f"/api/{controller}({created['id']})").status_code == 404
    else:
        assert response.status_code == 405
        assert response.json()["error"]["message"] == spec.options.deletion_hint
        assert after.json() == created


def test_client_may_choose_the_id_and_the_empty_guid_means_generate(tenant: Tenant) -> None:
    chosen = str(uuid.uuid4())
    assert tenant.post("/api/JobType", {"id": chosen, "name": "Repair"}).json()["id"] == chosen
    generated = tenant.post("/api/JobType", {"id": "00000000-0000-0000-0000-000000000000", "name": "Service"}).json()
    assert generated["id"] != "00000000-0000-0000-0000-000000000000"


def test_defaults_follow_the_spec_conventions(tenant: Tenant) -> None:
    company = tenant.post("/api/Company", {"name": "Acme"}).json()
    assert company["code"] == ""
    assert company["is_working_address"] is True, "documented default true"
    assert company["is_client"] is False
    assert company["discount"] == 0
    assert company["sales_organization_id"] == "00000000-0000-0000-0000-000000000000"
    assert company["create_date"] != "1980-01-01T00:00:00.000Z", "creation date taken from the clock"
    contact = tenant.post("/api/Contact", {"lastname": "Doe", "company_id": company["id"]}).json()
    assert contact["birthdate"] == "1980-01-01T00:00:00.000Z"


def test_required_reference_falls_back_to_the_is_default_row(tenant: Tenant, make: Factory) -> None:
    default_type = tenant.post("/api/JobType", {"name": "Repair", "is_default": True}).json()
    project = make("Project")
    job = tenant.post("/api/Jobs", {"project_id": project["id"], "name": "Leak"}).json()
    assert job["job_type_id"] == default_type["id"]
    assert job["job_status_id"] == "8ba9da71-ef32-423a-bb50-ae767315f55c", "a new job is Open"
    assert job["company_id"] == project["company_id"], "a job belongs to its installation's company"


def test_numbered_entities_count_per_tenant(make: Factory) -> None:
    first, second = make("Jobs"), make("Jobs")
    assert (first["id2"], second["id2"]) == (1, 2)


def test_prefer_return_minimal_returns_only_the_id(tenant: Tenant) -> None:
    response = tenant.post("/api/JobType", {"name": "Repair"}, headers={"Prefer": "return=minimal"})
    assert response.status_code == 201
    assert response.headers["Preference-Applied"] == "return=minimal"
    body = response.json()
    assert set(body) == {"@odata.context", "id"}
    put = tenant.put(f"/api/JobType({body['id']})", {"name": "Fix"}, headers={"Prefer": "return=minimal"})
    assert put.status_code == 200
    assert put.json()["id"] == body["id"]
    assert tenant.get(f"/api/JobType({body['id']})").json()["name"] == "Fix"


def test_put_echoing_a_get_body_is_accepted(tenant: Tenant, make: Factory) -> None:
    """Clients send back what they read, annotations and read-only properties included."""
    company = make("Company")
    company["name"] = "Renamed"
    response = tenant.put(f"/api/Company({company['id']})", company)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Renamed"


def test_put_omitted_properties_return_to_defaults(tenant: Tenant) -> None:
    company = tenant.post("/api/Company", {"name": "Acme", "phone": "+32 2 123"}).json()
    replaced = tenant.put(f"/api/Company({company['id']})", {"name": "Acme"}).json()
    assert replaced["phone"] == ""
    assert replaced["create_date"] == company["create_date"], "the creation date is kept"


def test_system_job_statuses_are_seeded_and_fixed(tenant: Tenant) -> None:
    statuses = tenant.rows("JobStatus")
    assert len(statuses) == 17
    by_name = {row["name"]: row["id"] for row in statuses}
    assert by_name["Completed"] == "6557b9dc-6106-4327-8e26-6f24d0329c33"
    assert by_name["Pooling"] == "8adbc894-d612-de11-bd84-0030488c6c36"
    assert tenant.post("/api/JobStatus", {"name": "Mine"}).status_code == 400, "only virtual statuses may be added"
    completed = "6557B9DC-6106-4327-8E26-6F24D0329C33"
    assert tenant.put(f"/api/JobStatus({completed})", {"name": "Done"}).status_code == 405
    assert tenant.delete(f"/api/JobStatus({completed})").status_code == 405
    assert len(tenant.rows("JobStatus")) == 17


def test_db_file_size_is_computed_from_the_content(tenant: Tenant) -> None:
    created = tenant.post("/api/DbFile", {"name": "Manual", "file_content": "SGVsbG8=", "file_size": 999}).json()
    assert created["file_size"] == 5
    assert created["file_content"] == "SGVsbG8="


def test_delete_of_a_referenced_row_is_refused(tenant: Tenant, make: Factory) -> None:
    job = make("Jobs")
    response = tenant.delete(f"/api/JobType({job['job_type_id']})")
    assert response.status_code == 409
    assert "Jobs.job_type_id" in response.json()["error"]["message"]
    assert tenant.get(f"/api/JobType({job['job_type_id']})").status_code == 200


def test_a_logically_deleted_job_cannot_be_referenced_or_changed(tenant: Tenant, make: Factory) -> None:
    job = make("Jobs")
    assert tenant.delete(f"/api/Jobs({job['id']})").status_code == 204
    part = make.body("JobPartUsage", jobs_id=job["id"])
    assert tenant.post("/api/JobPartUsage", part).status_code == 422
    assert tenant.put(f"/api/Jobs({job['id']})", {"project_id": job["project_id"]}).status_code == 409
