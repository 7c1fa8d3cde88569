"""Bad input gets a clear OData error with the right status and leaves the data as it was."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from odyssee.model.registry import EntitySpec, Kind, registry
from tests.conftest import Tenant
from tests.factories import Factory


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    if code:
        assert error["code"] == code
    return error  # type: ignore[no-any-return]


@pytest.fixture
def company(make: Factory) -> dict[str, Any]:
    return make("Company", name="Original", phone="123")


BAD_BODIES = [
    pytest.param({"name": 42}, "InvalidType", "name", id="number-for-string"),
    pytest.param({"name": "x" * 65}, "TooLong", "name", id="over-long"),
    pytest.param({"name": "Acme", "nmae": "x"}, "UnknownProperty", "nmae", id="unknown-property"),
    pytest.param({"name": "Acme", "is_client": "yes"}, "InvalidType", "is_client", id="string-for-bool"),
    pytest.param({"name": "Acme", "company_type_id": "not-a-guid"}, "InvalidGuid", "company_type_id", id="bad-guid"),
    pytest.param({"name": "Acme", "create_date": "yesterday"}, "InvalidDateTime", "create_date", id="bad-date"),
    pytest.param(
        {"name": "Acme", "create_date": "2015-02-30T00:00:00Z"}, "InvalidDateTime", "create_date", id="no-such-day"
    ),
    pytest.param({"name": "Acme", "discount": 150}, "OutOfRange", "discount", id="above-maximum"),
    pytest.param({"name": "Acme", "credit_limit": 1e30}, "OutOfRange", "credit_limit", id="too-big"),
    pytest.param({"name": ""}, "Required", "name", id="empty-required"),
    pytest.param({"phone": "1"}, "Required", "name", id="missing-required"),
    pytest.param({"name": None}, "Required", "name", id="null-required"),
]


@pytest.mark.parametrize(("body", "code", "target"), BAD_BODIES)
def test_invalid_post_is_400_with_field_details_and_creates_nothing(
    tenant: Tenant, company: dict[str, Any], body: dict[str, Any], code: str, target: str
) -> None:
    before = tenant.rows("Company")
    error = assert_error(tenant.post("/api/Company", body), 400, "ValidationFailed")
    assert {"code": code, "target": target} in [{"code": d["code"], "target": d["target"]} for d in error["details"]]
    assert tenant.rows("Company") == before


@pytest.mark.parametrize(("body", "code", "target"), BAD_BODIES)
def test_invalid_put_is_400_and_changes_nothing(
    tenant: Tenant, company: dict[str, Any], body: dict[str, Any], code: str, target: str
) -> None:
    before = tenant.rows("Company")
    assert_error(tenant.put(f"/api/Company({company['id']})", body), 400, "ValidationFailed")
    assert tenant.rows("Company") == before


def test_every_problem_is_reported_at_once(tenant: Tenant) -> None:
    error = assert_error(tenant.post("/api/Company", {"name": 1, "phone": 2, "zzz": 3}), 400)
    assert {d["target"] for d in error["details"]} == {"name", "phone", "zzz"}


def test_unknown_property_suggests_the_close_name(tenant: Tenant) -> None:
    error = assert_error(tenant.post("/api/Company", {"name": "A", "vat_reg_cod": "BE1"}), 400)
    assert "did you mean 'vat_reg_code'" in error["details"][0]["message"]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        pytest.param(b'{"name": "Acme"', "application/json", 400, "MalformedJson", id="truncated-json"),
        pytest.param(b"name=Acme", "application/json", 400, "MalformedJson", id="not-json"),
        pytest.param(b"", "application/json", 400, "InvalidBody", id="empty"),
        pytest.param(b'["Acme"]', "application/json", 400, "InvalidBody", id="array"),
        pytest.param(b"<company>", "application/xml", 400, "MalformedXml", id="truncated-xml"),
        pytest.param(b"<job_type/>", "application/xml", 400, None, id="xml-wrong-root"),
        pytest.param(b"name", "text/plain", 415, "UnsupportedMediaType", id="text"),
    ],
)
def test_unreadable_bodies(tenant: Tenant, content: bytes, content_type: str, status: int, code: str) -> None:
    before = tenant.rows("Company")
    response = tenant.client.post(
        "/api/Company", content=content, headers={**tenant.headers, "Content-Type": content_type}
    )
    assert_error(response, status, code)
    assert tenant.rows("Company") == before


def test_body_too_large_is_413(tenant: Tenant) -> None:
    response = tenant.post("/api/Company", {"name": "A", "notes": "x" * 70_000})
    assert_error(response, 413, "PayloadTooLarge")
    assert tenant.rows("Company") == []


def test_duplicate_id_is_409(tenant: Tenant, company: dict[str, Any]) -> None:
    error = assert_error(tenant.post("/api/Company", {"id": company["id"], "name": "Twin"}), 409, "DuplicateKey")
    assert company["id"] in error["message"]
    assert [row["name"] for row in tenant.rows("Company")] == ["Original"]


def test_duplicate_erp_key_is_409_and_empty_codes_do_not_clash(tenant: Tenant) -> None:
    assert tenant.post("/api/Company", {"name": "A", "code": "C001"}).status_code == 201
    error = assert_error(tenant.post("/api/Company", {"name": "B", "code": "C001"}), 409, "DuplicateKey")
    assert error["target"] == "code"
    assert tenant.post("/api/Company", {"name": "C"}).status_code == 201
    assert tenant.post("/api/Company", {"name": "D"}).status_code == 201
    assert sorted(row["name"] for row in tenant.rows("Company")) == ["A", "C", "D"]


def test_unknown_foreign_key_is_422_naming_field_and_value(tenant: Tenant, make: Factory) -> None:
    ghost = str(uuid.uuid4())
    body = make.body("Project", project_type_id=ghost)
    error = assert_error(tenant.post("/api/Project", body), 422, "UnknownReference")
    assert error["details"][0]["target"] == "project_type_id"
    assert ghost in error["message"]
    assert tenant.rows("Project") == []


def test_required_reference_without_default_is_400(tenant: Tenant) -> None:
    error = assert_error(tenant.post("/api/Contact", {"lastname": "Doe"}), 400)
    assert error["details"][0]["target"] == "company_id"


def test_put_with_a_different_id_in_the_body_is_400(tenant: Tenant, company: dict[str, Any]) -> None:
    assert_error(
        tenant.put(f"/api/Company({company['id']})", {"id": str(uuid.uuid4()), "name": "X"}), 400, "KeyMismatch"
    )
    assert tenant.get(f"/api/Company({company['id']})").json()["name"] == "Original"


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        pytest.param("/api/Nothing", 404, "UnknownController", id="unknown-controller"),
        pytest.param(f"/api/Company({uuid.uuid4()})", 404, "NotFound", id="unknown-id"),
        pytest.param("/api/Company(12345)", 400, "InvalidKey", id="bad-key"),
        pytest.param("/api/Company(code='C001')", 404, "NotFound", id="alternate-key-unknown"),
        pytest.param("/api/Company(nmae='C001')", 400, "InvalidKey", id="alternate-key-wrong-column"),
        pytest.param("/api/Company?$filter=name eq", 400, "SyntaxError", id="filter-syntax"),
        pytest.param("/api/Company?$filter=nmae eq 'x'", 400, "UnknownProperty", id="filter-unknown-property"),
        pytest.param("/api/Company?$filter=tenant_id eq 1", 400, "UnknownProperty", id="filter-hidden-column"),
        pytest.param("/api/Company?$filter=name eq 5", 400, "InvalidLiteral", id="filter-type-mismatch"),
        pytest.param("/api/Company?$filter=company_type_id eq 'nope'", 400, "InvalidLiteral", id="filter-bad-guid"),
        pytest.param("/api/Company?$filter=modified_dateutc gt 'soon'", 400, "InvalidLiteral", id="filter-bad-date"),
        pytest.param("/api/Company?$filter=name", 400, "InvalidFilter", id="filter-not-boolean"),
        pytest.param("/api/Company?$filter=", 400, "InvalidQueryOption", id="filter-empty"),
        pytest.param("/api/Company?$select=nmae", 400, "UnknownProperty", id="select-unknown"),
        pytest.param("/api/Company?$orderby=name sideways", 400, "InvalidQueryOption", id="orderby-direction"),
        pytest.param("/api/Company?$orderby=nmae", 400, "UnknownProperty", id="orderby-unknown"),
        pytest.param("/api/Company?$top=-1", 400, "InvalidQueryOption", id="top-negative"),
        pytest.param("/api/Company?$skip=abc", 400, "InvalidQueryOption", id="skip-text"),
        pytest.param("/api/Company?$count=maybe", 400, "InvalidQueryOption", id="count-text"),
        pytest.param("/api/Company?$frobnicate=1", 400, "InvalidQueryOption", id="unknown-option"),
        pytest.param("/api/Company?$expand=nope", 400, "UnknownProperty", id="expand-unknown"),
        pytest.param("/api/Company?$expand=projects($frob=1)", 400, "InvalidQueryOption", id="expand-nested-unknown"),
        pytest.param("/api/Company?$expand=projects($top=x)", 400, "InvalidQueryOption", id="expand-nested-top"),
        pytest.param("/api/Company?$expand=projects(", 400, "InvalidQueryOption", id="expand-unbalanced"),
        pytest.param("/api/Company?$expand=name", 400, "UnknownProperty", id="expand-property"),
        pytest.param("/api/Company?$select=projects", 400, "InvalidQueryOption", id="select-navigation"),
        pytest.param("/api/Company?$orderby=projects/name", 400, "CollectionPath", id="orderby-collection"),
        pytest.param("/api/Company?$skiptoken=garbage", 400, "InvalidSkipToken", id="skiptoken-garbage"),
        pytest.param("/api/Company/$count?$top=1", 400, "InvalidQueryOption", id="count-with-top"),
        pytest.param(
            "/api/Company(00000000-0000-0000-0000-000000000001)/projects", 501, "NotImplemented", id="url-nav"
        ),
        pytest.param("/api/Company?$search=acme", 501, "NotImplemented", id="search-not-yet"),
        pytest.param("/api/Company?$filter=matchesPattern(name,'x')", 501, "NotImplemented", id="regex-not-offered"),
    ],
)
def test_bad_urls(tenant: Tenant, url: str, status: int, code: str) -> None:
    assert_error(tenant.get(url), status, code)


def test_filter_syntax_error_names_the_position(tenant: Tenant) -> None:
    error = assert_error(tenant.get("/api/Company?$filter=name eq 'a' zz"), 400, "SyntaxError")
    assert "position 12" in error["message"]


def test_unknown_route_and_wrong_verb_use_the_error_format(tenant: Tenant) -> None:
    assert_error(tenant.get("/elsewhere"), 404)
    assert_error(tenant.client.patch("/api/Company", headers=tenant.headers), 405)


def test_unknown_response_formats_are_refused_clearly(tenant: Tenant) -> None:
    assert_error(tenant.get("/api/Company", headers={"Accept": "image/png"}), 406, "NotAcceptable")


WRITABLE_SPECS = [spec for spec in registry() if not spec.options.read_only]


def _bad_values(spec: EntitySpec) -> list[tuple[str, Any, str]]:
    """(property, bad value, expected detail code) for each kind of mistake this entity allows."""
    cases: list[tuple[str, Any, str]] = [("no_such_property", 1, "UnknownProperty")]
    bounded = next((f for f in spec.writable if f.kind is Kind.STRING and f.max_length), None)
    if bounded:
        cases.append((bounded.name, "x" * (bounded.max_length + 1), "TooLong"))  # type: ignore[operator]
    for field in spec.writable:
        if field.kind is Kind.BOOLEAN:
            cases.append((field.name, "true", "InvalidType"))
            break
    for field in spec.writable:
        if field.kind is Kind.GUID:
            cases.append((field.name, "not-a-guid", "InvalidGuid"))
            break
    for field in spec.writable:
        if field.kind is Kind.DATETIME:
            cases.append((field.name, "31/12/2026", "InvalidDateTime"))
            break
    for field in spec.writable:
        if field.kind in (Kind.INT32, Kind.DECIMAL):
            cases.append((field.name, "many" if field.kind is Kind.DECIMAL else 1.5, "InvalidType"))
            break
    return cases


@pytest.mark.parametrize("spec", WRITABLE_SPECS, ids=lambda spec: spec.name)
def test_every_entity_rejects_bad_values_and_keeps_its_rows(tenant: Tenant, make: Factory, spec: EntitySpec) -> None:
    existing = make(spec.name)
    before = tenant.rows(spec.name)
    for name, value, code in _bad_values(spec):
        body = make.body(spec.name) | {name: value}
        created = tenant.post(f"/api/{spec.name}", body)
        error = assert_error(created, 400, "ValidationFailed")
        assert (code, name) in [(d["code"], d["target"]) for d in error["details"]], (name, error)
        replaced = tenant.put(f"/api/{spec.name}({existing['id']})", body)
        assert_error(replaced, 400, "ValidationFailed")
    assert tenant.rows(spec.name) == before
