"""Odyssee XML over HTTP: ``Accept: application/xml`` responses and ``Content-Type: application/xml`` bodies."""

from __future__ import annotations

from defusedxml import ElementTree

from tests.conftest import Tenant
from tests.factories import Factory

XML = {"Accept": "application/xml"}


def test_entity_and_collection_as_xml(tenant: Tenant, make: Factory) -> None:
    job_type = make("JobType", name="Repair", code="REP")
    one = tenant.get(f"/api/JobType({job_type['id']})", headers=XML)
    assert one.status_code == 200 and one.headers["content-type"].startswith("application/xml")
    assert one.headers["OData-Version"] == "4.0" and one.headers["ETag"] == job_type["@odata.etag"]
    root = ElementTree.fromstring(one.content)
    assert root.tag == "job_type"
    assert root.findtext("name") == "Repair" and root.findtext("id") == job_type["id"]
    children = [child.tag for child in root]
    assert children == sorted(children), "alphabetical, as DataContractSerializer writes"
    many = ElementTree.fromstring(tenant.get("/api/JobType?$select=name", headers=XML).content)
    assert many.tag == "ArrayOfjob_type" and [e.findtext("name") for e in many] == ["Repair"]


def test_expanded_navigation_nests_in_xml(tenant: Tenant, make: Factory) -> None:
    job = make("Jobs")
    root = ElementTree.fromstring(tenant.get(f"/api/Jobs({job['id']})?$expand=company", headers=XML).content)
    assert root.find("company/id").text == job["company_id"]  # type: ignore[union-attr]


def test_xml_bodies_create_and_replace(tenant: Tenant) -> None:
    body = b"<job_type><name>Install</name><code>0001</code></job_type>"
    created = tenant.client.post(
        "/api/JobType", content=body, headers={**tenant.headers, "Content-Type": "application/xml; charset=utf-8"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "0001", "leading zeros of an XML code survive"
    key = created.json()["id"]
    replaced = tenant.client.put(
        f"/api/JobType({key})",
        content=b"<JobType><name>Installation</name></JobType>",
        headers={**tenant.headers, "Content-Type": "text/xml", **XML},
    )
    assert replaced.status_code == 200
    assert ElementTree.fromstring(replaced.content).findtext("name") == "Installation"


def test_hostile_or_wrong_xml_is_a_400_and_changes_nothing(tenant: Tenant) -> None:
    bodies = [
        b"<job_type><name>x</name>",
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><job_type><name>&e;</name></job_type>',
        b"<company><name>x</name></company>",
        b"<job_type><nope>1</nope></job_type>",
    ]
    for body in bodies:
        response = tenant.client.post(
            "/api/JobType", content=body, headers={**tenant.headers, "Content-Type": "application/xml"}
        )
        assert response.status_code == 400, body
        assert response.json()["error"]["message"]
    assert tenant.rows("JobType") == []


def test_aggregations_have_no_xml_form(tenant: Tenant) -> None:
    response = tenant.get("/api/JobType?$apply=aggregate($count as N)", headers=XML)
    assert response.status_code == 406
