"""Upsert by ERP key: ``Company(code='C001')`` addressing and POST with ``If-None-Match: *`` / ``If-Match: *``."""

from __future__ import annotations

from tests.conftest import Tenant
from tests.factories import Factory


def test_put_by_code_creates_then_updates(tenant: Tenant) -> None:
    first = tenant.put("/api/Company(code='C001')", {"name": "Acme"})
    assert first.status_code == 201, first.text
    assert first.json()["code"] == "C001" and first.headers["Location"].endswith(f"({first.json()['id']})")
    second = tenant.put("/api/Company(code='C001')", {"name": "Acme NV", "city": "Gent"})
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert [(c["code"], c["name"]) for c in tenant.rows("Company")] == [("C001", "Acme NV")]


def test_get_patch_delete_by_alternate_key(tenant: Tenant, make: Factory) -> None:
    job_type = make("JobType", code="O'Neil", name="Quoted")
    url = "/api/JobType(code='O''Neil')"
    assert tenant.get(url).json()["id"] == job_type["id"]
    assert tenant.patch(url, {"name": "Renamed"}).json()["name"] == "Renamed"
    assert tenant.get("/api/JobType(code='o''neil')").status_code == 404, "codes match exactly, case included"
    assert tenant.delete(url).status_code == 204
    assert tenant.get(url).status_code == 404


def test_alternate_key_errors(tenant: Tenant, make: Factory) -> None:
    make("Company", code="C1", name="Acme")
    assert tenant.get("/api/Company(name='Acme')").status_code == 400
    assert tenant.get("/api/JobPartUsage(code='x')").status_code == 400, "usage lines have no ERP key"
    assert tenant.get("/api/Company(code=C1)").status_code == 400
    mismatch = tenant.put("/api/Company(code='C1')", {"code": "C2", "name": "x"})
    assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == "KeyMismatch"
    assert tenant.patch("/api/Company(code='NOPE')", {"name": "x"}).status_code == 404
    assert tenant.put("/api/Company(code='NOPE')", {"name": "x"}, headers={"If-Match": "*"}).status_code == 404
    assert tenant.put("/api/Company(code='C1')", {"name": "x"}, headers={"If-None-Match": "*"}).status_code == 412
    assert [c["name"] for c in tenant.rows("Company")] == ["Acme"]


def test_post_create_only_and_update_only(tenant: Tenant) -> None:
    create_only = {"If-None-Match": "*"}
    assert tenant.post("/api/JobType", {"code": "REP", "name": "Repair"}, headers=create_only).status_code == 201
    again = tenant.post("/api/JobType", {"code": "REP", "name": "Other"}, headers=create_only)
    assert again.status_code == 412 and again.json()["error"]["code"] == "PreconditionFailed"
    update_only = {"If-Match": "*"}
    updated = tenant.post("/api/JobType", {"code": "REP", "name": "Repairs"}, headers=update_only)
    assert updated.status_code == 200 and updated.json()["name"] == "Repairs"
    missing = tenant.post("/api/JobType", {"code": "NEW", "name": "New"}, headers=update_only)
    assert missing.status_code == 404
    assert [(t["code"], t["name"]) for t in tenant.rows("JobType")] == [("REP", "Repairs")]
    plain_duplicate = tenant.post("/api/JobType", {"code": "REP", "name": "Dup"})
    assert plain_duplicate.status_code == 409
    bad = tenant.post("/api/JobType", {"code": "X", "name": "X"}, headers={"If-Match": 'W/"1"'})
    assert bad.status_code == 400
