"""The OpenAPI document describes the write-only embedded forms next to every foreign key."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_embedded_forms_are_write_only(app_client: TestClient) -> None:
    schemas = app_client.get("/openapi.json").json()["components"]["schemas"]
    project = schemas["Project"]
    assert project["properties"]["company_code"] == {
        "type": "string",
        "writeOnly": True,
        "description": "Write-only alternative to company_id: the code of an existing Company.",
    }
    assert project["properties"]["company"]["allOf"] == [{"$ref": "#/components/schemas/Company"}]
    assert project["properties"]["company"]["writeOnly"] is True
    assert "company_id" not in project["required"], "a code or a nested company may stand in for it"
    assert "name" in schemas["Company"]["required"]
    assert "project_reference_back_office" in schemas["Jobs"]["properties"]
