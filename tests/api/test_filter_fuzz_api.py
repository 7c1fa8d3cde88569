"""Hostile and random ``$filter`` values over HTTP: a 400 or 501 in the OData error JSON, or a page —
never a 500 — and the data is unchanged afterwards (the injection attempts really are inert).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings

from odyssee.db.engine import Database
from tests.conftest import Tenant
from tests.factories import Factory
from tests.odata.test_filter_fuzz import HOSTILE, SCALE, token_soup


def sendable(text: str) -> bool:
    """A URL carries UTF-8: lone surrogates cannot be sent at all (the parser tests cover them)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def snapshot(database: Database, tenant: Tenant) -> dict[str, Any]:
    with database.engine.connect() as connection:
        tables = sorted(sa.inspect(connection).get_table_names())
    return {"tables": tables, "companies": tenant.rows("Company"), "jobs": tenant.rows("Jobs")}


def assert_error_or_page(response: Any) -> None:
    assert response.status_code in (200, 400, 501), (response.status_code, response.text)
    body = response.json()
    if response.status_code == 200:
        assert isinstance(body["value"], list)
    else:
        assert set(body) == {"error"}
        assert {"code", "message", "target", "details"} <= set(body["error"])
        # None: a value PostgreSQL refused while running the query (ValueOutOfRange, e.g. a bigint overflow)
        assert body["error"]["target"] in ("$filter", None), body


def test_hostile_filters_are_clean_errors_and_change_nothing(tenant: Tenant, make: Factory, database: Database) -> None:
    make("Jobs")
    before = snapshot(database, tenant)
    for text in filter(sendable, HOSTILE):
        for entity_set in ("Company", "Jobs"):
            response = tenant.get(f"/api/{entity_set}", params={"$filter": text})
            assert_error_or_page(response)
    assert tenant.get("/api/Company", params={"$filter": "'; drop table company; --"}).status_code == 400
    assert snapshot(database, tenant) == before


def test_random_filters_over_http_never_fail_the_server(tenant: Tenant, make: Factory) -> None:
    make("Jobs")

    @settings(
        max_examples=40 * SCALE, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=token_soup())
    def check(case: Any) -> None:
        entity, text = case
        assume(sendable(text))
        assert_error_or_page(tenant.get(f"/api/{entity.name}", params={"$filter": text}))

    check()


def test_nul_characters_are_a_400_on_both_engines(tenant: Tenant) -> None:
    """PostgreSQL text cannot hold NUL: it was a 500 there (found by the OpenAPI fuzzer), a 400 now everywhere."""
    created = tenant.post("/api/CompanyType", {"name": "a\x00b"})
    assert created.status_code == 400, created.text
    assert created.json()["error"]["details"][0]["code"] == "InvalidCharacter"
    filtered = tenant.get("/api/Company", params={"$filter": "name eq 'a\x00'"})
    assert filtered.status_code == 400 and filtered.json()["error"]["code"] == "InvalidCharacter"
    assert tenant.get("/api/Company", params={"$orderby": "name\x00"}).status_code == 400
    assert tenant.rows("CompanyType") == []
