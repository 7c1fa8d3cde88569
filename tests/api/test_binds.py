"""``nav@odata.bind``: the standard OData way to set a reference, as generic clients send it."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant
from tests.factories import Factory


@pytest.mark.parametrize("form", ["Company({id})", "/api/Company({id})", "http://testserver/api/Company({ID})"])
def test_bind_sets_the_foreign_key(tenant: Tenant, make: Factory, form: str) -> None:
    company = make("Company", name="Acme")
    status = make("ProjectStatus", name="Active")
    bind = form.format(id=company["id"], ID=company["id"].upper())
    body = {"name": "Site", "company@odata.bind": bind, "project_status_id": status["id"]}
    response = tenant.post("/api/Project", body)
    assert response.status_code == 201, response.text
    assert response.json()["company_id"] == company["id"]


@pytest.mark.parametrize(
    ("bind", "status"),
    [
        ({"company@odata.bind": "JobType(00000000-0000-0000-0000-000000000001)"}, 400),
        ({"company@odata.bind": "not a url"}, 400),
        ({"nope@odata.bind": "Company(00000000-0000-0000-0000-000000000001)"}, 400),
        ({"jobs@odata.bind": ["Jobs(00000000-0000-0000-0000-000000000001)"]}, 501),
        ({"company@odata.bind": "Company(00000000-0000-0000-0000-000000000001)", "company_id": "{other}"}, 400),
    ],
)
def test_bad_binds_are_refused_and_change_nothing(
    tenant: Tenant, make: Factory, bind: dict[str, object], status: int
) -> None:
    other = make("Company", name="Other")
    body = {"name": "Site"} | {k: (v.format(other=other["id"]) if isinstance(v, str) else v) for k, v in bind.items()}
    response = tenant.post("/api/Project", body)
    assert response.status_code == status, response.text
    assert tenant.rows("Project") == []
