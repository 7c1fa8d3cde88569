"""Size limits: request bodies (413 ``PayloadTooLarge``) and page sizes (``Prefer: odata.maxpagesize``
capped, ``$top`` above the cap paged, absurd ``$top``/``$skip`` harmless). A small app makes them cheap."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from odyssee.api.app import create_app
from odyssee.db.engine import Database
from odyssee.settings import Settings
from tests.conftest import Tenant, make_tenant

BODY_LIMIT = 4096
PAGE_CAP = 3


@pytest.fixture
def tenant(database: Database) -> Iterator[Tenant]:
    settings = Settings(database_url=database.url, max_body_bytes=BODY_LIMIT, max_page_size=PAGE_CAP)
    with TestClient(create_app(settings, database), base_url="http://testserver") as client:
        yield make_tenant(database, client)


def companies(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.execute(sa.text("SELECT count(*) FROM company")).scalar_one())


def assert_too_large(response: Any) -> None:
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "PayloadTooLarge"


def test_a_body_over_the_limit_is_413(tenant: Tenant, database: Database) -> None:
    assert_too_large(tenant.post("/api/Company", {"name": "A", "notes": "x" * BODY_LIMIT}))
    assert companies(database) == 0


def test_a_streamed_body_without_content_length_is_cut_off_at_the_limit(tenant: Tenant, database: Database) -> None:
    chunks = [b'{"name": "A", "notes": "', *[b"x" * 1024] * 8, b'"}']
    response = tenant.client.post(
        "/api/Company",
        content=iter(chunks),
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert_too_large(response)
    assert companies(database) == 0


def test_a_batch_over_the_limit_is_413_and_runs_nothing(tenant: Tenant, database: Database) -> None:
    requests = [{"id": str(i), "method": "POST", "url": "Company", "body": {"name": f"C{i:04d}"}} for i in range(200)]
    assert_too_large(tenant.post("/api/$batch", {"requests": requests}))
    assert companies(database) == 0


def test_maxpagesize_above_the_cap_is_capped_and_says_so(tenant: Tenant) -> None:
    for i in range(5):
        assert tenant.post("/api/JobType", {"name": f"T{i}"}).status_code == 201
    page = tenant.get("/api/JobType?$orderby=name", headers={"Prefer": "odata.maxpagesize=1000000"})
    assert page.headers["Preference-Applied"] == f"odata.maxpagesize={PAGE_CAP}"
    assert len(page.json()["value"]) == PAGE_CAP
    assert "@odata.nextLink" in page.json()


def test_top_above_the_page_size_pages_until_top_rows(tenant: Tenant) -> None:
    for i in range(8):
        assert tenant.post("/api/JobType", {"name": f"T{i}"}).status_code == 201
    sizes = []
    url: str | None = "/api/JobType?$orderby=name&$top=7"
    for _ in range(10):
        if url is None:
            break
        body = tenant.get(url, headers={"Prefer": "odata.maxpagesize=100"}).json()
        sizes.append(len(body["value"]))
        url = body.get("@odata.nextLink")
    assert sizes == [3, 3, 1], "pages never exceed the cap; $top bounds the total"


@pytest.mark.parametrize(
    "query",
    [
        "$top=99999999999999999999999",
        "$skip=99999999999999999999999",
        "$expand=projects($top=99999999999999999999999;$skip=99999999999999999999999)",
        "$apply=groupby((name))&$top=99999999999999999999999",
    ],
)
def test_absurd_top_and_skip_are_taken_as_everything_or_nothing(tenant: Tenant, query: str) -> None:
    assert tenant.post("/api/Company", {"name": "Only"}).status_code == 201
    response = tenant.get(f"/api/Company?{query}")
    assert response.status_code == 200, response.text
    names = [row["name"] for row in response.json()["value"]]
    assert names == ([] if query.startswith("$skip") else ["Only"])


@pytest.mark.parametrize("value", ["²", "-1", "1.5"])
def test_top_and_maxpagesize_that_are_not_plain_numbers_are_400(tenant: Tenant, value: str) -> None:
    top = tenant.get("/api/Company", params={"$top": value})
    assert top.status_code == 400, top.text
    assert top.json()["error"]["code"] == "InvalidQueryOption"
    page = tenant.get("/api/Company", headers={"Prefer": f"odata.maxpagesize={value}".encode("latin-1")})
    assert page.status_code == 400, page.text
    assert page.json()["error"]["code"] == "InvalidPreference"
