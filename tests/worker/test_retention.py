"""Change-event retention: old events are pruned, undelivered ones kept, expired delta tokens get 410."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from odyssee.cli.main import app
from odyssee.db.engine import Database
from odyssee.domain.tenants import find_tenant
from odyssee.model.system import ChangeEvent
from odyssee.worker.retention import prune
from odyssee.worker.runner import Worker
from tests.conftest import Tenant
from tests.factories import Factory
from tests.worker.conftest import Receiver

TRACK = {"Prefer": "odata.track-changes"}


def _events(database: Database, tenant: Tenant, table: str = "job_type") -> list[tuple[str, str]]:
    """The tenant's ``change_event`` rows of one table, as (entity id, event), oldest first."""
    with database.transaction(write=False) as session:
        found = find_tenant(session, tenant.domain)
        assert found is not None
        rows = session.execute(
            sa.select(ChangeEvent.entity_id, ChangeEvent.event)
            .where(ChangeEvent.tenant_id == found.id, ChangeEvent.table_name == table)
            .order_by(ChangeEvent.stamp)
        ).all()
    return [(str(entity_id), event) for entity_id, event in rows]


def _follow(tenant: Tenant, url: str, headers: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str]:
    """Every page of a tracked read: its entries and the final deltaLink (relative)."""
    entries: list[dict[str, Any]] = []
    for _ in range(100):
        response = tenant.get(url, headers=headers or {})
        assert response.status_code == 200, response.text
        body = response.json()
        entries += body["value"]
        if "@odata.deltaLink" in body:
            return entries, body["@odata.deltaLink"].removeprefix("http://testserver")
        url, headers = body["@odata.nextLink"].removeprefix("http://testserver"), None
    raise AssertionError("more than 100 pages")


def test_pruning_keeps_the_events_an_active_subscription_has_not_delivered(
    database: Database, tenant: Tenant, make: Factory, receiver: Receiver
) -> None:
    old = make("JobType")
    hook = tenant.post(
        "/api/WebhookSubscription", {"name": "ERP", "url": receiver.url, "entities": "JobType", "secret": "k"}
    )
    assert hook.status_code == 201, hook.text
    pending = [make("JobType"), make("JobType")]

    prune(database, timedelta(0))  # the JobType event from before the subscription goes, with other tables'
    assert _events(database, tenant) == [(row["id"], "created") for row in pending]

    worker = Worker(database, backoff_seconds=0.01)
    deadline = time.monotonic() + 20
    while worker.run_one() and time.monotonic() < deadline:
        pass
    assert [event["id"] for event in receiver.events()] == [row["id"] for row in pending]
    assert old["id"] not in {event["id"] for event in receiver.events()}
    # delivered now: nothing holds them any more
    assert prune(database, timedelta(0)).deleted >= 2
    assert _events(database, tenant) == []


def test_pruning_respects_the_retention_window(database: Database, tenant: Tenant, make: Factory) -> None:
    make("JobType")
    assert prune(database, timedelta(days=30)).deleted == 0
    assert len(_events(database, tenant)) == 1


def test_an_expired_delta_token_is_410_and_changes_nothing(database: Database, tenant: Tenant, make: Factory) -> None:
    kept, dropped = make("JobType"), make("JobType")
    _, link = _follow(tenant, "/api/JobType?$select=name", TRACK)
    assert tenant.delete(f"/api/JobType({dropped['id']})").status_code == 204
    prune(database, timedelta(0))
    assert _events(database, tenant) == []  # the tombstone the token still needs is gone

    before = tenant.rows("JobType")
    expired = tenant.get(link)
    assert expired.status_code == 410
    error = expired.json()["error"]
    assert error["code"] == "DeltaTokenExpired" and "Prefer: odata.track-changes" in error["message"]
    assert tenant.rows("JobType") == before

    restarted, _ = _follow(tenant, "/api/JobType?$select=id,name", TRACK)
    assert [row["id"] for row in restarted] == [kept["id"]]


def test_a_delta_token_newer_than_the_pruned_deletes_keeps_working(
    database: Database, tenant: Tenant, make: Factory
) -> None:
    first, second, third = make("JobType"), make("JobType"), make("JobType")
    assert tenant.delete(f"/api/JobType({first['id']})").status_code == 204
    _, link = _follow(tenant, "/api/JobType", TRACK)  # taken after the delete
    prune(database, timedelta(0))
    assert _events(database, tenant) == []

    assert tenant.patch(f"/api/JobType({second['id']})", {"name": "renamed"}).status_code in (200, 204)
    assert tenant.delete(f"/api/JobType({third['id']})").status_code == 204
    changes, link = _follow(tenant, link)
    assert [(entry["id"], "@removed" in entry) for entry in changes] == [(second["id"], False), (third["id"], True)]
    assert changes[0]["name"] == "renamed"
    assert _follow(tenant, link)[0] == []


def test_a_paging_token_from_before_a_prune_is_410(database: Database, tenant: Tenant, make: Factory) -> None:
    for _ in range(3):
        make("JobType")
    page = tenant.get("/api/JobType", headers={"Prefer": "odata.track-changes, odata.maxpagesize=2"}).json()
    doomed = make("JobType")
    assert tenant.delete(f"/api/JobType({doomed['id']})").status_code == 204
    prune(database, timedelta(0))
    response = tenant.get(page["@odata.nextLink"].removeprefix("http://testserver"))
    assert response.status_code == 410 and response.json()["error"]["code"] == "DeltaTokenExpired"


def test_a_webhook_replay_from_before_the_pruned_events_is_410(
    database: Database, tenant: Tenant, make: Factory, receiver: Receiver
) -> None:
    hook = tenant.post(
        "/api/WebhookSubscription", {"name": "ERP", "url": receiver.url, "entities": "JobType", "secret": "k"}
    ).json()
    make("JobType")
    Worker(database).drain(limit=20)
    prune(database, timedelta(0))
    replay = f"/api/WebhookSubscription({hook['id']})/Replay"
    refused = tenant.post(replay, {"since": "2000-01-01T00:00:00Z"})
    assert refused.status_code == 410 and refused.json()["error"]["code"] == "ChangesPruned"
    assert tenant.post(replay, {"since": "2100-01-01T00:00:00Z"}).status_code in (200, 204)


def test_the_worker_loop_prunes_when_a_retention_is_set(database: Database, tenant: Tenant, make: Factory) -> None:
    make("JobType")
    Worker(database).run_one()
    assert len(_events(database, tenant)) == 1  # no retention: kept forever
    Worker(database, retention=timedelta(0)).run_one()
    assert _events(database, tenant) == []


def test_the_prune_command(database_url: str, database: Database, tenant: Tenant, make: Factory) -> None:
    runner = CliRunner()
    env = {"ODYSSEE_DATABASE_URL": database_url}
    made = make("JobType")
    default = runner.invoke(app, ["changes", "prune"], env=env)
    assert default.exit_code == 0 and "0 change event(s) older than 30d pruned" in default.output, default.output
    assert _events(database, tenant) == [(made["id"], "created")]
    now = runner.invoke(app, ["changes", "prune", "--older-than", "0s"], env=env)
    assert now.exit_code == 0 and "change event(s) older than 0s pruned" in now.output, now.output
    assert _events(database, tenant) == []
    bad = runner.invoke(app, ["changes", "prune", "--older-than", "soon"], env=env)
    assert bad.exit_code == 2 and "not a duration" in bad.output
    off = runner.invoke(app, ["changes", "prune"], env=env | {"ODYSSEE_CHANGE_RETENTION_DAYS": "0"})
    assert off.exit_code == 1 and "--older-than" in off.output
