"""Keyset paging: following ``@odata.nextLink`` sees every row that existed throughout exactly once,
whatever is inserted or deleted between pages, for any ``$orderby``."""

from __future__ import annotations

import random
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import Tenant
from tests.factories import Factory


def _job_types(tenant: Tenant, count: int, prefix: str = "T") -> dict[str, str]:
    made = {}
    for i in range(count):
        name = f"{prefix}{random.randrange(100):02d}-{i:03d}"
        made[tenant.post("/api/JobType", {"name": name, "code": f"{prefix}{i}"}).json()["id"]] = name
    return made


@pytest.mark.parametrize("orderby", ["name", "name desc", "code desc,name", "modified_dateutc", "id desc"])
def test_links_survive_concurrent_inserts_and_deletes(tenant: Tenant, orderby: str) -> None:
    random.seed(orderby)
    rows = _job_types(tenant, 40)
    throughout = set(rows)
    seen: list[str] = []
    url: str | None = f"/api/JobType?$orderby={orderby}"
    pages = 0
    while url and pages < 50:
        page = tenant.get(url, headers={"Prefer": "odata.maxpagesize=6"}).json()
        seen += [row["id"] for row in page["value"]]
        url = page.get("@odata.nextLink")
        pages += 1
        # Between pages: another client inserts rows anywhere in the order and deletes some.
        for new_id in _job_types(tenant, 2, prefix=f"N{pages}"):
            rows[new_id] = "new"
        unseen = sorted(set(rows) - set(seen))
        victims = random.sample(unseen, k=min(1, len(unseen))) + random.sample(seen, k=1)
        for victim in victims:
            if tenant.delete(f"/api/JobType({victim})").status_code == 204:
                throughout.discard(victim)
    assert url is None, "paging ended"
    assert len(seen) == len(set(seen)), "no row twice"
    assert throughout <= set(seen), "every row that existed throughout was returned"


def test_next_link_carries_an_opaque_skiptoken_and_the_options(tenant: Tenant) -> None:
    _job_types(tenant, 5)
    page = tenant.get("/api/JobType?$orderby=name&$select=name&$count=true", headers={"Prefer": "odata.maxpagesize=2"})
    assert page.headers["Preference-Applied"] == "odata.maxpagesize=2"
    query = parse_qs(urlsplit(page.json()["@odata.nextLink"]).query)
    assert query["$orderby"] == ["name"] and query["$select"] == ["name"] and "$skip" not in query
    assert query["$skiptoken"][0]
    second = tenant.get(page.json()["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"}).json()
    assert second["@odata.count"] == 5 and len(second["value"]) == 2


def test_a_token_is_refused_under_another_order_or_filter(tenant: Tenant) -> None:
    _job_types(tenant, 5)
    link = tenant.get("/api/JobType?$orderby=name", headers={"Prefer": "odata.maxpagesize=2"}).json()["@odata.nextLink"]
    token = parse_qs(urlsplit(link).query)["$skiptoken"][0]
    for url in (f"/api/JobType?$orderby=code&$skiptoken={token}", f"/api/JobType?$skiptoken={token}"):
        response = tenant.get(url)
        assert response.status_code == 400 and response.json()["error"]["code"] == "InvalidSkipToken"


def test_top_limits_the_total_across_pages(tenant: Tenant) -> None:
    _job_types(tenant, 9)
    seen = []
    url: str | None = "/api/JobType?$top=7&$orderby=name"
    while url:
        body = tenant.get(url, headers={"Prefer": "odata.maxpagesize=3"}).json()
        seen += body["value"]
        url = body.get("@odata.nextLink")
    assert len(seen) == 7
    assert [r["name"] for r in seen] == sorted(r["name"] for r in seen)


def test_skip_still_works_with_next_links(tenant: Tenant) -> None:
    rows = _job_types(tenant, 8)
    body = tenant.get("/api/JobType?$orderby=id&$skip=3", headers={"Prefer": "odata.maxpagesize=2"}).json()
    seen = [r["id"] for r in body["value"]]
    url = body.get("@odata.nextLink")
    while url:
        body = tenant.get(url, headers={"Prefer": "odata.maxpagesize=2"}).json()
        seen += [r["id"] for r in body["value"]]
        url = body.get("@odata.nextLink")
    assert seen == sorted(rows)[3:]


def test_paging_by_a_navigation_path(tenant: Tenant, make: Factory) -> None:
    companies = [make("Company", name=f"Co {i % 3}") for i in range(3)]
    made = [make("Project", company_id=companies[i % 3]["id"], name=f"P{i}")["id"] for i in range(7)]
    seen = []
    url: str | None = "/api/Project?$orderby=company/name desc"
    while url:
        body = tenant.get(url, headers={"Prefer": "odata.maxpagesize=2"}).json()
        seen += body["value"]
        url = body.get("@odata.nextLink")
    assert sorted(p["id"] for p in seen) == sorted(made)
    by_company = {c["id"]: c["name"] for c in companies}
    names = [by_company[p["company_id"]] for p in seen]
    assert names == sorted(names, reverse=True)
