"""HTTP Basic with ``username:password@domain`` on every request, and tenant isolation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from odyssee.db.engine import Database
from odyssee.domain.tenants import create_credential, create_tenant
from tests.conftest import Tenant, basic, make_tenant


def test_the_documented_literal_header_authenticates(database: Database, app_client: TestClient) -> None:
    with database.transaction(write=True) as session:
        create_tenant(session, "TESTAPI")
        create_credential(session, "TESTAPI", "APIUser", "123456", api=True)
    response = app_client.get("/api/Company", headers={"Authorization": "Basic QVBJVXNlcjoxMjM0NTZAVEVTVEFQSQ=="})
    assert response.status_code == 200
    assert response.json() == {"@odata.context": "http://testserver/api/$metadata#Company", "value": []}
    assert response.headers["OData-Version"] == "4.0"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Bearer abc"}, id="other-scheme"),
        pytest.param({"Authorization": "Basic !!!"}, id="not-base64"),
        pytest.param(basic("api@example.com", "wrong", "X"), id="wrong-password"),
        pytest.param({"Authorization": "Basic YXBpOnNlY3JldA=="}, id="no-domain"),
    ],
)
def test_bad_credentials_are_401_with_www_authenticate(tenant: Tenant, headers: dict[str, str]) -> None:
    response = tenant.client.get("/api/Company", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json()["error"]["code"] == "Unauthorized"


def test_wrong_password_for_a_real_user_and_unknown_domain(tenant: Tenant) -> None:
    for headers in (basic("api@example.com", "nope", tenant.domain), basic("api@example.com", "secret-pw", "OTHER")):
        response = tenant.client.post("/api/Company", json={"name": "X"}, headers=headers)
        assert response.status_code == 401
    assert tenant.rows("Company") == []


def test_email_usernames_passwords_with_at_and_case_insensitive_domain(
    database: Database, app_client: TestClient
) -> None:
    with database.transaction(write=True) as session:
        create_tenant(session, "SampleApi")
        create_credential(session, "SampleApi", "test@sampleapi.com", "p@ss:word", api=True)
    for domain in ("SampleApi", "SAMPLEAPI", "sampleapi"):
        response = app_client.get("/api/Company", headers=basic("test@sampleapi.com", "p@ss:word", domain))
        assert response.status_code == 200, domain


def test_tenants_cannot_see_or_touch_each_others_rows(database: Database, app_client: TestClient) -> None:
    alpha = make_tenant(database, app_client, "ALPHA")
    beta = make_tenant(database, app_client, "BETA")
    company = alpha.post("/api/Company", {"name": "Alpha only", "code": "C1"}).json()
    assert beta.get(f"/api/Company({company['id']})").status_code == 404
    assert beta.put(f"/api/Company({company['id']})", {"name": "Hijack"}).status_code == 404
    assert beta.get("/api/Company").json()["value"] == []
    assert beta.get(f"/api/Company?$filter=id eq {company['id']}").json()["value"] == []
    contact = beta.post("/api/Contact", {"lastname": "Spy", "company_id": company["id"]})
    assert contact.status_code == 422, "a foreign key into another tenant does not exist"
    assert beta.post("/api/Company", {"name": "Same code, other tenant", "code": "C1"}).status_code == 201
    assert beta.post("/api/Company", {"id": company["id"], "name": "Same id, other tenant"}).status_code == 201
    assert alpha.get(f"/api/Company({company['id']})").json()["name"] == "Alpha only"


def test_technician_logins_get_a_user_row(database: Database, app_client: TestClient) -> None:
    tenant = make_tenant(database, app_client)
    with database.transaction(write=True) as session:
        create_credential(session, tenant.domain, "anna@example.com", "pw-anna", api=False)
    users = tenant.get("/api/User?$filter=username eq 'anna@example.com'").json()["value"]
    assert len(users) == 1
    assert (
        app_client.get("/api/Company", headers=basic("anna@example.com", "pw-anna", tenant.domain)).status_code == 200
    )
