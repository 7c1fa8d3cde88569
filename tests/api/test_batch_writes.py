"""Writes in ``$batch``: an atomicity group reserves its stamps together and queues its inserts
(domain/changes.py, domain/deferred.py); what clients and pollers see must not change."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from odyssee.api.app import create_app
from odyssee.db.engine import Database
from odyssee.domain.tenants import find_tenant
from odyssee.model.registry import registry
from odyssee.model.system import ChangeClock, ChangeEvent
from odyssee.settings import Settings
from tests.conftest import Tenant, make_tenant

MINIMAL = {"Prefer": "return=minimal"}


@pytest.fixture
def big(database: Database) -> Iterator[Tenant]:
    """A tenant on an app that takes bodies large enough for a 1000-request batch."""
    app = create_app(Settings(database_url=database.url, max_body_bytes=1024 * 1024), database)
    with TestClient(app, base_url="http://testserver") as client:
        yield make_tenant(database, client)


def batch(tenant: Tenant, requests: list[dict[str, Any]], **headers: str) -> dict[str, dict[str, Any]]:
    response = tenant.client.post(
        "/api/$batch",
        content=orjson.dumps({"requests": requests}),
        headers={**tenant.headers, "Content-Type": "application/json", **headers},
    )
    assert response.status_code == 200, response.text
    return {reply["id"]: reply for reply in response.json()["responses"]}


def create(ident: str, body: dict[str, Any], group: str | None = "g", url: str = "JobType") -> dict[str, Any]:
    request = {"id": ident, "method": "POST", "url": url, "headers": MINIMAL, "body": body}
    return request | ({"atomicityGroup": group} if group else {})


def tenant_id(database: Database, tenant: Tenant) -> int:
    with database.transaction(write=False) as session:
        found = find_tenant(session, tenant.domain)
        assert found is not None
        return found.id


def stamps_and_events(database: Database, tenant: Tenant, table: str = "job_type") -> tuple[dict[str, Any], list[Any]]:
    """Each row's id → modified_dateutc, and the change events (stamp, entity id, event) oldest first."""
    owner = tenant_id(database, tenant)
    with database.transaction(write=False) as session:
        entity = registry().by_table(table).table
        rows = session.execute(sa.select(entity.c.id, entity.c.modified_dateutc).where(entity.c.tenant_id == owner))
        stamps = {str(key): moment for key, moment in rows}
        events = session.execute(
            sa.select(ChangeEvent.stamp, ChangeEvent.entity_id, ChangeEvent.event)
            .where(ChangeEvent.tenant_id == owner, ChangeEvent.table_name == table)
            .order_by(ChangeEvent.stamp)
        ).all()
    return stamps, [(stamp, str(entity), event) for stamp, entity, event in events]


def clock(database: Database, tenant: Tenant, table: str = "job_type") -> int | None:
    owner = tenant_id(database, tenant)
    with database.transaction(write=False) as session:
        found: int | None = session.execute(
            sa.select(ChangeClock.last_ms).where(ChangeClock.tenant_id == owner, ChangeClock.table_name == table)
        ).scalar()
        return found


def ids_of(replies: dict[str, dict[str, Any]], keys: list[str]) -> list[str]:
    return [replies[key]["body"]["id"] for key in keys]


def test_a_thousand_creates_get_a_thousand_increasing_stamps_and_events(database: Database, big: Tenant) -> None:
    earlier = big.post("/api/JobType", {"name": "before"}).json()
    keys = [str(i) for i in range(1000)]
    replies = batch(big, [create(key, {"name": f"N{key}"}) for key in keys])
    assert [replies[key]["status"] for key in keys] == [201] * 1000
    later = big.post("/api/JobType", {"name": "after"}).json()

    created = ids_of(replies, keys)
    rows = big.rows("JobType")
    stamp_of = {row["id"]: row["modified_dateutc"] for row in rows}
    assert len(rows) == 1002
    in_order = [stamp_of[key] for key in created]
    assert in_order == sorted(in_order) and len(set(in_order)) == 1000, "unique, increasing in request order"
    assert stamp_of[earlier["id"]] < in_order[0] and in_order[-1] < stamp_of[later["id"]]

    _stamps, events = stamps_and_events(database, big)
    assert [(entity, event) for _stamp, entity, event in events] == [
        (earlier["id"], "created"),
        *[(key, "created") for key in created],
        (later["id"], "created"),
    ]
    polled, url = [], f"/api/JobType?$filter=modified_dateutc gt '{stamp_of[earlier['id']]}'&$orderby=modified_dateutc"
    while url:
        page = big.get(url, headers={"Prefer": "odata.maxpagesize=500"}).json()
        polled += [row["id"] for row in page["value"]]
        url = page.get("@odata.nextLink")
    assert polled == [*created, later["id"]], "a poller sees every created row, in request order"


def test_a_failing_request_in_a_group_leaves_nothing(database: Database, tenant: Tenant) -> None:
    tenant.post("/api/JobType", {"name": "kept", "code": "K"})
    rows, clock_before = tenant.rows("JobType"), clock(database, tenant)
    _stamps, events = stamps_and_events(database, tenant)
    requests = [create(str(i), {"name": f"N{i}", "code": f"C{i}"}) for i in range(5)]
    requests.insert(3, create("dup", {"name": "twice", "code": "C1"}))  # C1 was queued by request 1
    replies = batch(tenant, requests)
    assert replies["dup"]["status"] == 409 and replies["dup"]["body"]["error"]["target"] == "code"
    assert all(replies[str(i)]["status"] == 424 for i in range(5))
    assert tenant.rows("JobType") == rows
    assert stamps_and_events(database, tenant)[1] == events, "no change event of the group remains"
    assert clock(database, tenant) == clock_before, "nor the clock's advance"


def test_a_failing_request_outside_a_group_leaves_the_others(database: Database, tenant: Tenant) -> None:
    tenant.post("/api/JobType", {"name": "kept", "code": "K"})
    requests = [
        create("a", {"name": "A", "code": "A"}, group=None),
        create("b", {"name": "B", "code": "K"}, group=None),
        create("c", {"name": "C", "code": "C"}, group=None),
    ]
    replies = batch(tenant, requests, Prefer="odata.continue-on-error")
    assert [replies[key]["status"] for key in "abc"] == [201, 409, 201]
    assert sorted(row["code"] for row in tenant.rows("JobType")) == ["A", "C", "K"]
    _stamps, events = stamps_and_events(database, tenant)
    assert [entity for _stamp, entity, _event in events][-2:] == ids_of(replies, ["a", "c"])


def test_reads_in_a_group_see_the_creates_before_them(tenant: Tenant) -> None:
    replies = batch(
        tenant,
        [
            create("1", {"name": "One"}),
            create("2", {"name": "Two"}),
            {"id": "n", "atomicityGroup": "g", "method": "GET", "url": "JobType/$count"},
            {"id": "r", "atomicityGroup": "g", "method": "GET", "url": "$1?$select=name"},
            {"id": "p", "atomicityGroup": "g", "method": "PATCH", "url": "$2", "body": {"name": "Deux"}},
            create("3", {"name": "Three"}),
            create("c", {"name": "Acme"}, url="Company"),
            create("s", {"name": "Active"}, url="ProjectStatus"),
            create("p2", {"name": "Site", "company_id": "$c", "project_status_id": "$s"}, url="Project"),
        ],
    )
    assert {key: reply["status"] for key, reply in replies.items()} == {
        "1": 201, "2": 201, "n": 200, "r": 200, "p": 200, "3": 201, "c": 201, "s": 201, "p2": 201,
    }  # fmt: skip
    assert replies["n"]["body"] == "2" and replies["r"]["body"]["name"] == "One"
    assert sorted(row["name"] for row in tenant.rows("JobType")) == ["Deux", "One", "Three"]
    (project,) = tenant.rows("Project")
    assert project["company_id"] == replies["c"]["body"]["id"]


def test_every_table_written_by_a_group_gets_its_events(database: Database, tenant: Tenant) -> None:
    replies = batch(
        tenant,
        [
            create("c", {"name": "Acme"}, url="Company"),
            create("t", {"name": "Repair"}),
            create("d", {"name": "Beta"}, url="Company"),
        ],
    )
    assert all(reply["status"] == 201 for reply in replies.values())
    company_stamps, company_events = stamps_and_events(database, tenant, "company")
    type_stamps, type_events = stamps_and_events(database, tenant, "job_type")
    assert [entity for _stamp, entity, _event in company_events] == ids_of(replies, ["c", "d"])
    assert [entity for _stamp, entity, _event in type_events] == ids_of(replies, ["t"])
    assert [stamp for stamp, _entity, _event in company_events] == [
        company_stamps[key] for key in ids_of(replies, ["c", "d"])
    ], "each event carries its row's modified_dateutc"
    assert [stamp for stamp, _entity, _event in type_events] == [type_stamps[key] for key in ids_of(replies, ["t"])]
