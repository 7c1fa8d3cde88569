"""``GET /api/$metadata`` over HTTP: authentication, format negotiation, conditional requests, and
agreement with the service document and the context URLs of data responses."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.factories import Factory
from tests.odata.test_metadata import json_errors, json_summary, xml_errors, xml_summary

URL = "/api/$metadata"


def _is_xml(response: Any) -> bool:
    return response.headers["content-type"].startswith("application/xml")


def _is_json(response: Any) -> bool:
    return response.headers["content-type"].split(";")[0] == "application/json"


def test_metadata_requires_authentication(app_client: TestClient) -> None:
    response = app_client.get(URL)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert "error" in response.json()


def test_default_is_csdl_xml_valid_against_the_oasis_schema(tenant: Tenant) -> None:
    response = tenant.get(URL)
    assert response.status_code == 200, response.text
    assert _is_xml(response)
    assert response.headers["odata-version"] == "4.0"
    assert response.content.startswith(b"<?xml")
    assert xml_errors(response.content) == []
    described = xml_summary(response.content)
    assert described["types"]["Company"]["properties"]["name"]["max_length"] == 64


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("?$format=json", {}),
        ("?$format=application/json", {}),
        ("?$format=application/json;odata.metadata=minimal", {}),
        ("", {"Accept": "application/json"}),
        ("", {"Accept": "application/xml;q=0.5, application/json"}),
        ("?$format=json", {"Accept": "application/xml"}),  # $format wins over Accept
    ],
)
def test_csdl_json_on_request(tenant: Tenant, query: str, headers: dict[str, str]) -> None:
    response = tenant.get(URL + query, headers=headers)
    assert response.status_code == 200, response.text
    assert _is_json(response)
    assert response.headers["odata-version"] == "4.0"
    document = response.json()
    assert json_errors(document) == []
    assert document["$EntityContainer"] == "Odyssee.Container"


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("", {"Accept": "*/*"}),
        ("", {"Accept": "application/*"}),
        ("", {"Accept": "application/json, application/xml"}),  # a tie goes to XML, the OData default
        ("", {"Accept": "application/xml"}),
        ("?$format=xml", {"Accept": "application/json"}),
        ("?$format=application/xml", {}),
    ],
)
def test_xml_when_asked_or_when_the_client_does_not_prefer_json(
    tenant: Tenant, query: str, headers: dict[str, str]
) -> None:
    response = tenant.get(URL + query, headers=headers)
    assert response.status_code == 200, response.text
    assert _is_xml(response)


def test_both_forms_served_describe_the_same_service(tenant: Tenant) -> None:
    xml = tenant.get(URL)
    json_form = tenant.get(URL + "?$format=json")
    assert xml_summary(xml.content) == json_summary(json_form.json())


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("?$format=atom", {}),
        ("?$format=text/csv", {}),
        ("", {"Accept": "text/html"}),
        ("", {"Accept": "application/json;q=0, application/xml;q=0"}),
    ],
)
def test_formats_we_do_not_produce_are_refused_clearly(tenant: Tenant, query: str, headers: dict[str, str]) -> None:
    response = tenant.get(URL + query, headers=headers)
    assert response.status_code == 406
    error = response.json()["error"]
    assert error["code"] == "NotAcceptable"
    assert "xml" in error["message"] and "json" in error["message"]


@pytest.mark.parametrize("option", ["$filter=name eq 'x'", "$top=1", "$select=name", "$bogus=1"])
def test_other_system_query_options_are_refused(tenant: Tenant, option: str) -> None:
    response = tenant.get(f"{URL}?{option}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "InvalidQueryOption"
    assert error["target"] == option.split("=")[0]


def test_custom_query_options_are_ignored(tenant: Tenant) -> None:
    response = tenant.get(URL + "?sap-client=100")
    assert response.status_code == 200
    assert _is_xml(response)


def test_conditional_get_answers_304_for_the_current_etag(tenant: Tenant) -> None:
    identity = {"Accept-Encoding": "identity"}  # compressed bytes differ, so a compressed answer's ETag is weak
    first = tenant.get(URL, headers=identity)
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')  # strong: the bytes never change within a version
    assert "Accept" in first.headers["vary"]

    again = tenant.get(URL, headers={"If-None-Match": etag, **identity})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["odata-version"] == "4.0"

    assert tenant.get(URL, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert tenant.get(URL, headers={"If-None-Match": "*"}).status_code == 304
    assert tenant.get(URL, headers={"If-None-Match": f"W/{etag}"}).status_code == 304, "the gzip variant's tag"
    stale = tenant.get(URL, headers={"If-None-Match": '"0123"', **identity})
    assert stale.status_code == 200
    assert stale.content == first.content


def test_each_form_has_its_own_etag(tenant: Tenant) -> None:
    xml_etag = tenant.get(URL).headers["etag"]
    json_response = tenant.get(URL + "?$format=json", headers={"If-None-Match": xml_etag})
    assert json_response.status_code == 200
    assert json_response.headers["etag"] != xml_etag
    assert (
        tenant.get(URL + "?$format=json", headers={"If-None-Match": json_response.headers["etag"]}).status_code == 304
    )


def test_conditional_get_still_requires_authentication(tenant: Tenant, app_client: TestClient) -> None:
    etag = tenant.get(URL).headers["etag"]
    assert app_client.get(URL, headers={"If-None-Match": etag}).status_code == 401


def test_service_document_sets_match_the_metadata_container(tenant: Tenant) -> None:
    service = tenant.get("/api/").json()
    assert service["@odata.context"] == "http://testserver/api/$metadata"
    metadata = tenant.get(service["@odata.context"].removeprefix("http://testserver"))
    assert metadata.status_code == 200
    sets = xml_summary(metadata.content)["sets"]
    listed = {entry["name"]: entry["url"] for entry in service["value"]}
    assert set(listed) == set(sets)
    for name, url in listed.items():
        assert url == name


def test_context_urls_of_data_responses_name_metadata_entity_sets(tenant: Tenant, make: Factory) -> None:
    sets = xml_summary(tenant.get(URL).content)["sets"]
    company = make("Company")
    single = tenant.get(f"/api/Company({company['id']})").json()["@odata.context"]
    collection = tenant.get("/api/Jobs?$select=name").json()["@odata.context"]
    for context in (single, collection):
        prefix, fragment = context.split("#")
        assert prefix == "http://testserver/api/$metadata"
        assert fragment.split("(")[0].split("/")[0] in sets


def test_percent_encoded_dollar_reaches_metadata(tenant: Tenant) -> None:
    """Some HTTP clients escape ``$`` in paths; ``/api/%24metadata`` is the same resource."""
    response = tenant.get("/api/%24metadata")
    assert response.status_code == 200
    assert _is_xml(response)
