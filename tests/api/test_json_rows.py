"""A collection's entities read the same whichever way they were serialized.

A page without ``$expand`` or file bytes is written as JSON by the database (odata/wire.py
``json_entity``, on both engines); a single entity goes through the Python serializer
(odata/serialize.py). A client must not be able to tell: every property of
every writable entity set, with awkward strings and decimals, compares equal between the
collection and the entity read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from odyssee.model.registry import Kind, registry
from odyssee.odata import wire
from tests.conftest import PG_URL, Tenant
from tests.factories import AWKWARD, Factory

WRITABLE = [spec.name for spec in registry() if not spec.options.read_only]


def _awkward_overrides(controller: str) -> dict[str, Any]:
    spec = registry().lookup(controller)
    assert spec is not None
    keys = {*spec.options.unique, spec.options.erp_key}
    for field in spec.writable:
        roomy = (field.max_length or 100) >= len(AWKWARD)
        if field.kind is Kind.STRING and not field.references and roomy and field.name not in keys:
            return {field.name: AWKWARD}
    return {}


def _as_entity(body: dict[str, Any], apart: set[str]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "@odata.context" and k not in apart}


@pytest.mark.parametrize("controller", WRITABLE)
def test_collection_rows_equal_entity_reads(make: Factory, tenant: Tenant, controller: str) -> None:
    spec = registry().lookup(controller)
    assert spec is not None
    made = [make(controller, **_awkward_overrides(controller)), make(controller)]
    response = tenant.get(f"/api/{controller}?$orderby=id", headers={"Prefer": "odata.maxpagesize=5000"})
    assert response.status_code == 200, response.text
    listed = {row["id"]: row for row in response.json()["value"]}
    apart = {f.name for f in spec.fields if f.apart}
    for entity in made:
        single = tenant.get(f"/api/{controller}({entity['id']})")
        assert single.status_code == 200, single.text
        assert listed[entity["id"]] == _as_entity(single.json(), apart)
        assert list(listed[entity["id"]]) == list(_as_entity(single.json(), apart)), "same property order"


def test_selected_properties_and_paging_read_the_same(make: Factory, tenant: Tenant) -> None:
    made = [make("Company", name=f"Company {i:02d} {AWKWARD}") for i in range(5)]
    url = "/api/Company?$select=name,id,modified_dateutc&$orderby=name desc&$count=true"
    pages: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = tenant.get(next_url, headers={"Prefer": "odata.maxpagesize=2"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["@odata.count"] == len(made)
        pages.extend(body["value"])
        next_url = body.get("@odata.nextLink")
    assert [row["name"] for row in pages] == sorted((c["name"] for c in made), reverse=True)
    for row in pages:
        assert list(row) == ["@odata.etag", "name", "id", "modified_dateutc"]
        single = tenant.get(f"/api/Company({row['id']})?$select=name,id,modified_dateutc").json()
        assert row == _as_entity(single, set())


DECIMALS = [0.30000000000000004, 0.1, 0.1234567890123456, 123456789.12345679, 1e17, 2.0, 0.5, 0.0, 1e-7]


def _stored(value: float) -> float:
    """SQLite keeps the double; PostgreSQL's numeric(28, 10) keeps ten decimals."""
    return float(round(Decimal(repr(value)), 10)) if PG_URL else value


def test_decimals_read_back_as_the_same_number_both_ways(make: Factory, tenant: Tenant) -> None:
    """The database writes a page's JSON itself (odata/wire.py): a decimal must read back as
    exactly the number stored, also where 15 significant digits would not be enough."""
    made = {make("Article", entered_price=value)["id"]: value for value in DECIMALS}
    listed = tenant.get("/api/Article?$select=id,entered_price", headers={"Prefer": "odata.maxpagesize=5000"})
    assert listed.status_code == 200, listed.text
    prices = {row["id"]: row["entered_price"] for row in listed.json()["value"]}
    for key, value in made.items():
        single = tenant.get(f"/api/Article({key})?$select=entered_price").json()["entered_price"]
        assert prices[key] == single == _stored(value), (key, value)


def test_long_entities_are_spliced_from_several_objects(
    monkeypatch: pytest.MonkeyPatch, make: Factory, tenant: Tenant
) -> None:
    """SQLite's json_object() takes at most 127 arguments: an entity with more properties is
    written in chunks (odata/wire.py JSON_OBJECT_PAIRS) and must read exactly the same."""
    monkeypatch.setattr(wire, "JSON_OBJECT_PAIRS", 4)
    made = make("Company", **_awkward_overrides("Company"))
    listed = tenant.get("/api/Company", headers={"Prefer": "odata.maxpagesize=5000"}).json()["value"]
    (row,) = [row for row in listed if row["id"] == made["id"]]
    single = _as_entity(tenant.get(f"/api/Company({made['id']})").json(), set())
    assert row == single and list(row) == list(single)
