"""A ``$filter`` text that differs from an earlier one only in its literals reuses that one's
parse and SQL with its own values (odata/options.py ``_shaped``): a poller's watermark moves on
every poll. These tests check that such a text answers exactly as if it were parsed afresh:
its own rows, its own count, and the full parse's errors for literals that do not convert.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from odyssee.db.engine import Database
from odyssee.domain.tenants import create_credential
from odyssee.odata import options
from tests.api.test_filter import found
from tests.conftest import Tenant, basic
from tests.factories import Factory


@pytest.fixture
def companies(tenant: Tenant, make: Factory) -> list[dict[str, Any]]:
    return [make("Company", name=name, code=code, credit_limit=number) for name, code, number in
            (("A", "C-1", 10), ("B", "C-2", 20), ("C", "C-3", 30))]  # fmt: skip


def _fresh_answer(tenant: Tenant, url: str) -> tuple[int, Any]:
    """What ``url`` answers with no parsed query or shape remembered: the full parse's answer."""
    options._parse_cached.cache_clear()
    options._SHAPES.clear()
    response = tenant.get(url)
    return response.status_code, response.json()


def test_texts_of_one_shape_get_their_own_rows(tenant: Tenant, companies: list[dict[str, Any]]) -> None:
    for code, names in (("C-1", ["A"]), ("C-2", ["B"]), ("nothing", [])):
        assert found(tenant, "Company", f"code eq '{code}'") == names
    for number, names in ((15, ["B", "C"]), (25, ["C"]), (5, ["A", "B", "C"]), (-5, ["A", "B", "C"])):
        assert found(tenant, "Company", f"credit_limit gt {number} and credit_limit ne -{number}") == names
    stamps = sorted(row["modified_dateutc"] for row in companies)
    for index, stamp in enumerate(stamps):
        assert len(found(tenant, "Company", f"modified_dateutc gt '{stamp}'")) == len(stamps) - index - 1
        assert len(found(tenant, "Company", f"modified_dateutc gt {stamp}")) == len(stamps) - index - 1


def test_counts_and_count_segments_follow_the_literals(tenant: Tenant, companies: list[dict[str, Any]]) -> None:
    for number, expected in ((0, 3), (10, 2), (30, 0)):
        body = tenant.get("/api/Company", params={"$filter": f"credit_limit gt {number}", "$count": "true"}).json()
        assert (body["@odata.count"], len(body["value"])) == (expected, expected)
        assert tenant.get("/api/Company/$count", params={"$filter": f"credit_limit gt {number}"}).text == str(expected)


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        ("modified_dateutc gt '2024-01-01T00:00:00Z'", "modified_dateutc gt 'yesterday'"),
        ("credit_limit eq 1", "credit_limit eq 99999999999999999999"),
        ("id gt 00000000-0000-0000-0000-000000000001", "id gt 'not-a-guid'"),
        ("credit_limit eq -1", "credit_limit eq -9223372036854775809"),
    ],
)
def test_a_literal_that_does_not_convert_gets_the_full_parses_error(
    tenant: Tenant, companies: list[dict[str, Any]], good: str, bad: str
) -> None:
    assert tenant.get("/api/Company", params={"$filter": good}).status_code == 200
    url = f"/api/Company?$filter={bad}"
    cached = tenant.get(url)
    assert cached.status_code == 400, cached.text
    assert (cached.status_code, cached.json()) == _fresh_answer(tenant, url)


def test_literals_that_do_more_than_compare_are_parsed_every_time(
    tenant: Tenant, companies: list[dict[str, Any]]
) -> None:
    """Division by a literal zero is refused by the binder; a value put into a cached statement
    would not be checked."""
    assert found(tenant, "Company", "credit_limit div 10 eq 2") == ["B"]
    refused = tenant.get("/api/Company", params={"$filter": "credit_limit div 0 eq 2"})
    assert refused.status_code == 400 and "by zero" in refused.json()["error"]["message"]
    assert found(tenant, "Company", "contains(code, '-2')") == ["B"]
    assert found(tenant, "Company", "contains(code, '%')") == []
    assert found(tenant, "Company", "code in ('C-1', 'C-3')") == ["A", "C"]
    assert found(tenant, "Company", "code in ('C-2', 'C-3')") == ["B", "C"]


def test_a_technician_sees_only_their_rows_with_each_text(
    database: Database, app_client: TestClient, tenant: Tenant, make: Factory
) -> None:
    """Row restrictions (domain/access.py) apply on top of a reused shape."""
    with database.transaction(write=True) as session:
        user_id = create_credential(session, tenant.domain, "tom", "tom-secret", api=False).user_id
    mine = make.job("OPEN", user_id=str(user_id), description="mine")
    make.job("OPEN", description="other")
    tom = Tenant(app_client, tenant.domain, "tom", "tom-secret")
    tom.headers = basic("tom", "tom-secret", tenant.domain)
    for text in ("modified_dateutc gt '2000-01-01T00:00:00Z'", "modified_dateutc gt '2001-01-01T00:00:00Z'"):
        assert found(tom, "Jobs", text, key="id") == [mine["id"]]
        assert len(found(tenant, "Jobs", text, key="id")) == 2
    # The restricted clause is made of the text's own literals, not of the shape's first text.
    assert found(tom, "Jobs", "modified_dateutc gt '2999-01-01T00:00:00Z'", key="id") == []
    assert found(tom, "Jobs", "modified_dateutc gt '2002-01-01T00:00:00Z'", key="id") == [mine["id"]]
