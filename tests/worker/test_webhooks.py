"""Webhooks end to end: a real subscriber on 127.0.0.1, the real worker, the API's delivery log."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

from odyssee.db.engine import Database
from odyssee.domain.webhooks import SIGNATURE_HEADER, verify
from odyssee.worker import webhooks
from odyssee.worker.runner import Worker
from tests.conftest import Tenant
from tests.worker.conftest import Receiver, worker_command

SECRET = "s3cret-key"


def _subscribe(tenant: Tenant, receiver: Receiver, **extra: Any) -> dict[str, Any]:
    body = {"name": "ERP", "url": receiver.url, "entities": "JobType", "secret": SECRET} | extra
    response = tenant.post("/api/WebhookSubscription", body)
    assert response.status_code == 201, response.text
    assert "secret" not in response.json()
    return response.json()  # type: ignore[no-any-return]


def _drain(database: Database, worker: Worker | None = None) -> Worker:
    worker = worker or Worker(database, backoff_seconds=0.01)
    deadline = time.monotonic() + 20
    while worker.run_one() and time.monotonic() < deadline:
        pass
    return worker


def test_changes_are_delivered_in_order_signed_and_logged(
    database: Database, tenant: Tenant, receiver: Receiver
) -> None:
    subscription = _subscribe(tenant, receiver)
    created = tenant.post("/api/JobType", {"name": "first"}).json()
    tenant.patch(f"/api/JobType({created['id']})", {"name": "second"})
    tenant.post("/api/JobPriority", {"name": "not watched"})
    assert tenant.delete(f"/api/JobType({created['id']})").status_code == 204
    _drain(database)
    events = receiver.events()
    assert [(e["event"], e["id"]) for e in events] == [(k, created["id"]) for k in ("created", "updated", "deleted")]
    assert events[0]["data"] is None or events[0]["data"]["id"] == created["id"]  # the row as it is at delivery
    assert [e["modified_dateutc"] for e in events] == sorted(e["modified_dateutc"] for e in events)
    for headers, body in receiver.received:
        assert verify(SECRET, headers[SIGNATURE_HEADER], body, now=int(time.time()))
        assert not verify("wrong", headers[SIGNATURE_HEADER], body, now=int(time.time()))
    log = tenant.get(f"/api/WebhookDelivery?$filter=webhook_subscription_id eq {subscription['id']}").json()["value"]
    assert [(row["is_success"], row["status_code"], row["event_count"]) for row in log] == [(True, 200, 3)]
    assert tenant.get(f"/api/WebhookSubscription({subscription['id']})").json()["last_delivery_dateutc"] > "2000"


def test_only_changes_after_the_subscription_and_only_watched_events(
    database: Database, tenant: Tenant, receiver: Receiver
) -> None:
    tenant.post("/api/JobType", {"name": "before"})
    _subscribe(tenant, receiver, events="created")
    created = tenant.post("/api/JobType", {"name": "after"}).json()
    tenant.patch(f"/api/JobType({created['id']})", {"name": "after, changed"})
    _drain(database)
    assert [(e["event"], e["id"]) for e in receiver.events()] == [("created", created["id"])]


def test_failures_back_off_then_switch_the_subscription_off_and_it_resumes(
    database: Database, tenant: Tenant, receiver: Receiver
) -> None:
    subscription = _subscribe(tenant, receiver)
    tenant.post("/api/JobType", {"name": "one"})
    receiver.status = 500
    worker = Worker(database, backoff_seconds=0.001)
    deadline = time.monotonic() + 60
    url = f"/api/WebhookSubscription({subscription['id']})"
    while tenant.get(url).json()["is_active"] and time.monotonic() < deadline:
        worker.run_one()
        time.sleep(0.01)
    state = tenant.get(url).json()
    assert not state["is_active"] and state["consecutive_failures"] == webhooks.MAX_FAILURES
    assert "failed deliveries" in state["disabled_reason"]
    failed = tenant.get("/api/WebhookDelivery?$filter=is_success eq false&$count=true").json()
    assert failed["@odata.count"] == webhooks.MAX_FAILURES and failed["value"][0]["status_code"] == 500
    receiver.status = 204
    receiver.received.clear()
    assert tenant.patch(url, {"is_active": True}).status_code in (200, 204)
    _drain(database, worker)
    assert [e["event"] for e in receiver.events()] == ["created"], "nothing was lost while it was off"
    assert tenant.get(url).json()["consecutive_failures"] == 0


def test_replay_sends_past_changes_again(database: Database, tenant: Tenant, receiver: Receiver) -> None:
    subscription = _subscribe(tenant, receiver)
    tenant.post("/api/JobType", {"name": "one"})
    _drain(database)
    assert len(receiver.events()) == 1
    replay = tenant.post(f"/api/WebhookSubscription({subscription['id']})/Replay", {"since": "2000-01-01T00:00:00Z"})
    assert replay.status_code == 200, replay.text
    _drain(database)
    assert [e["event"] for e in receiver.events()] == ["created", "created"]
    bad = tenant.post(f"/api/WebhookSubscription({subscription['id']})/Replay", {"since": "yesterday"})
    assert bad.status_code == 400


def test_bad_subscriptions_are_refused_and_technicians_cannot_see_them(tenant: Tenant, receiver: Receiver) -> None:
    for wrong in ({"url": "ftp://x"}, {"entities": "Nope"}, {"events": "exploded"}, {"entities": "WebhookDelivery"}):
        body = {"name": "x", "url": receiver.url, "secret": SECRET} | wrong
        response = tenant.post("/api/WebhookSubscription", body)
        assert response.status_code == 400, wrong
    assert tenant.rows("WebhookSubscription") == []
    assert tenant.get("/api/WebhookSubscription?$filter=secret eq 'x'").status_code == 400


def test_a_worker_killed_during_delivery_loses_no_event(
    database: Database, database_url: str, tenant: Tenant, receiver: Receiver
) -> None:
    _subscribe(tenant, receiver)
    created = tenant.post("/api/JobType", {"name": "must arrive"}).json()
    receiver.delay = 30  # the subscriber hangs: the worker is killed while its POST is in flight
    worker = subprocess.Popen(
        worker_command(database_url, "--lease-seconds", "2"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
    assert tenant.get("/api/WebhookDelivery").json()["value"] == [], "the killed worker recorded nothing"
    receiver.delay = 0
    receiver.received.clear()
    time.sleep(2.2)  # the dead worker's lease runs out
    _drain(database, Worker(database, lease_seconds=2))
    assert [(e["event"], e["id"]) for e in receiver.events()] == [("created", created["id"])]
