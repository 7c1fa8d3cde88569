"""Optimistic concurrency: ``@odata.etag`` on every entity, If-Match → 412, If-None-Match → 304; PATCH."""

from __future__ import annotations

from tests.conftest import Tenant
from tests.factories import Factory


def test_every_entity_carries_its_etag(tenant: Tenant, make: Factory) -> None:
    company = make("Company", name="Acme")
    listed = tenant.get("/api/Company").json()["value"][0]
    one = tenant.get(f"/api/Company({company['id']})")
    assert listed["@odata.etag"] == one.json()["@odata.etag"] == one.headers["ETag"] == company["@odata.etag"]


def test_if_none_match_gives_304_until_the_row_changes(tenant: Tenant, make: Factory) -> None:
    company = make("Company", name="Acme")
    url = f"/api/Company({company['id']})"
    tag = tenant.get(url).headers["ETag"]
    unchanged = tenant.get(url, headers={"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["ETag"] == tag
    tenant.patch(url, {"city": "Gent"})
    changed = tenant.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag


def test_if_match_protects_against_lost_updates(tenant: Tenant, make: Factory) -> None:
    company = make("Company", name="Acme")
    url = f"/api/Company({company['id']})"
    tag = company["@odata.etag"]
    first = tenant.patch(url, {"city": "Gent"}, headers={"If-Match": tag})
    assert first.status_code == 200 and first.json()["city"] == "Gent"
    stale = tenant.patch(url, {"city": "Brugge"}, headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "PreconditionFailed"
    stale_put = tenant.put(url, {"name": "Other"}, headers={"If-Match": tag})
    assert stale_put.status_code == 412
    current = tenant.get(url).json()
    assert current["city"] == "Gent" and current["name"] == "Acme", "refused writes changed nothing"
    latest = tenant.patch(url, {"city": "Brugge"}, headers={"If-Match": "*"}).json()["@odata.etag"]
    assert tenant.patch(url, {"city": "Kortrijk"}, headers={"If-Match": f'W/"999", {latest}'}).status_code == 200


def test_if_match_on_delete(tenant: Tenant, make: Factory) -> None:
    job_type = make("JobType", name="Repair")
    url = f"/api/JobType({job_type['id']})"
    current = tenant.patch(url, {"name": "Repairs"}).json()["@odata.etag"]
    assert tenant.delete(url, headers={"If-Match": job_type["@odata.etag"]}).status_code == 412
    assert tenant.get(url).status_code == 200
    assert tenant.delete(url, headers={"If-Match": current}).status_code == 204
    assert tenant.get(url).status_code == 404


def test_patch_keeps_omitted_properties_and_put_resets_them(tenant: Tenant, make: Factory) -> None:
    company = make("Company", name="Acme", city="Gent", code="C1")
    url = f"/api/Company({company['id']})"
    patched = tenant.patch(url, {"phone": "123"}).json()
    assert (patched["name"], patched["city"], patched["code"], patched["phone"]) == ("Acme", "Gent", "C1", "123")
    assert patched["modified_dateutc"] >= company["modified_dateutc"]
    assert patched["@odata.etag"] != company["@odata.etag"]
    put = tenant.put(url, {"name": "Acme"}).json()
    assert (put["city"], put["code"], put["phone"]) == ("", "", "")


def test_patch_minimal_is_204(tenant: Tenant, make: Factory) -> None:
    company = make("Company", name="Acme")
    response = tenant.patch(f"/api/Company({company['id']})", {"city": "Gent"}, headers={"Prefer": "return=minimal"})
    assert response.status_code == 204 and response.content == b""
    assert response.headers["OData-EntityId"].endswith(f"/api/Company({company['id']})")


def test_patch_validates_like_put(tenant: Tenant, make: Factory) -> None:
    company = make("Company", name="Acme")
    url = f"/api/Company({company['id']})"
    assert tenant.patch(url, {"name": ""}).status_code == 400
    assert tenant.patch(url, {"nope": 1}).status_code == 400
    assert tenant.get(url).json()["name"] == "Acme"
