"""Webhook delivery: send each subscription's change events, in order, at least once (docs/webhooks.md).

The outbox is ``change_event`` (written by every change, in its own transaction) and each
subscription keeps one cursor per watched table. A worker picks a subscription with pending
events, takes a *lease* on it (as for queued tasks: a killed worker's lease runs out and another
worker resumes), POSTs up to ``BATCH`` events of one table oldest first, and only then — in
one transaction — moves the cursor past them and logs the delivery. A worker killed after the
POST but before that commit makes the events go out again: at least once, never lost.

Commit-ordered stamps (domain/changes.py) are what make a cursor safe: once an event with
stamp S is visible, no event below S can still commit, so moving the cursor to S skips nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from odyssee.db.engine import Database
from odyssee.domain import changes, reads
from odyssee.domain.actor import Actor
from odyssee.domain.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, sign, subscribed_events, subscribed_specs
from odyssee.model.conventions import NULL_DATE, utcnow
from odyssee.model.errors import NotFound
from odyssee.model.registry import EntitySpec, new_id, registry
from odyssee.model.system import ChangeEvent, WebhookCursor
from odyssee.model.values import format_datetime
from odyssee.odata.serialize import encode_entity
from odyssee.worker.queue import backoff

log = logging.getLogger("odyssee.worker.webhooks")

BATCH = 100
"""Events per POST, all of one entity set, oldest first."""
MAX_FAILURES = 10
"""Consecutive failed POSTs before a subscription is switched off (about 1.4 h of retries at the default backoff)."""
TIMEOUT_SECONDS = 10.0
LEASE_SECONDS = 60.0
"""Longer than one POST with its timeout; a killed worker's subscription is resumed after this."""


@dataclass(frozen=True)
class Subscription:
    tenant_id: int
    id: uuid.UUID
    url: str
    secret: str
    entities: str
    events: str
    failures: int


@dataclass(frozen=True)
class Batch:
    spec: EntitySpec
    events: list[dict[str, Any]]
    """Each ``{"event", "id", "modified_dateutc", "data"}``; data is the entity as it is now, or None."""
    first: datetime
    last: datetime


def _subscriptions() -> sa.Table:
    return registry().by_table("webhook_subscription").table


def _due(now: datetime) -> sa.ColumnElement[bool]:
    table = _subscriptions()
    return sa.and_(table.c.is_active, table.c.next_attempt_dateutc <= now, table.c.locked_until < now)


def _pending(session: Session, subscription: Subscription) -> Batch | None:
    """The next events to send: the first watched table (in entity-set order) that has some."""
    wanted = subscribed_events(subscription.events)
    for spec in subscribed_specs(subscription.entities):
        cursor = session.execute(
            sa.select(WebhookCursor.last_stamp).where(
                WebhookCursor.tenant_id == subscription.tenant_id,
                WebhookCursor.subscription_id == subscription.id,
                WebhookCursor.table_name == spec.table_name,
            )
        ).scalar()
        if cursor is None:
            continue
        rows = session.execute(
            sa.select(ChangeEvent.stamp, ChangeEvent.entity_id, ChangeEvent.event)
            .where(
                ChangeEvent.tenant_id == subscription.tenant_id,
                ChangeEvent.table_name == spec.table_name,
                ChangeEvent.stamp > cursor,
            )
            .order_by(ChangeEvent.stamp)
            .limit(BATCH)
        ).all()
        if not rows:
            continue
        chosen = [row for row in rows if row.event in wanted]
        return Batch(spec, _events(session, subscription.tenant_id, spec, chosen), rows[0].stamp, rows[-1].stamp)
    return None


def _events(session: Session, tenant_id: int, spec: EntitySpec, rows: list[Any]) -> list[dict[str, Any]]:
    actor = Actor(tenant_id=tenant_id, domain="", username="webhook", is_api=True)
    events = []
    for row in rows:
        data = None
        if row.event != changes.DELETED:
            try:
                data = encode_entity(spec, reads.get_entity(session, actor, spec, row.entity_id))
            except NotFound:  # deleted since; its own event follows
                data = None
        events.append(
            {"event": row.event, "id": str(row.entity_id), "modified_dateutc": format_datetime(row.stamp), "data": data}
        )
    return events


def _claim(
    database: Database, worker_id: str, now: datetime, lease_seconds: float
) -> tuple[Subscription, Batch] | None:
    """A due subscription with events to send, leased to this worker; None when there is nothing to do."""
    table = _subscriptions()
    with database.transaction(write=False) as session:
        due = session.execute(sa.select(table).where(_due(now)).order_by(table.c.next_attempt_dateutc)).mappings()
        candidates = [
            Subscription(row["tenant_id"], row["id"], row["url"], row["secret"], row["entities"], row["events"],
                         row["consecutive_failures"])
            for row in due
        ]  # fmt: skip
        found = next(((s, b) for s in candidates if (b := _pending(session, s)) is not None), None)
    if found is None:
        return None
    subscription, _ = found
    with database.transaction(write=True) as session:
        taken = session.execute(
            sa.update(table)
            .where(table.c.tenant_id == subscription.tenant_id, table.c.id == subscription.id, _due(now))
            .values(locked_by=worker_id, locked_until=now + timedelta(seconds=lease_seconds))
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return None  # another worker took it first
    with database.transaction(write=False) as session:  # read again under the lease: nothing moves it now
        batch = _pending(session, subscription)
    return (subscription, batch) if batch is not None else None


def _post(client: httpx.Client, subscription: Subscription, delivery_id: uuid.UUID, batch: Batch) -> tuple[int, str]:
    body = orjson.dumps(
        {
            "subscription_id": str(subscription.id),
            "delivery_id": str(delivery_id),
            "entity": batch.spec.name,
            "events": batch.events,
        }
    )
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(subscription.secret, int(time.time()), body),
        DELIVERY_HEADER: str(delivery_id),
        "User-Agent": "odyssee-webhooks",
    }
    try:
        response = client.post(subscription.url, content=body, headers=headers, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as error:
        return 0, f"{type(error).__name__}: {error}"[:4000]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}: {response.text[:500]}"


def _record(
    database: Database,
    worker_id: str,
    subscription: Subscription,
    delivery_id: uuid.UUID,
    batch: Batch,
    outcome: tuple[int, str],
    started: datetime,
    duration_ms: int,
    base_seconds: float,
) -> bool:
    """Log the delivery and move the cursor (on success) or schedule the retry, if the lease is still ours."""
    status_code, error = outcome
    success = not error
    table = _subscriptions()
    now = utcnow()
    tenant = subscription.tenant_id
    with database.transaction(write=True) as session:
        current = session.execute(
            sa.select(table).where(table.c.tenant_id == tenant, table.c.id == subscription.id).with_for_update()
        ).mappings().first()  # fmt: skip
        if current is None or current["locked_by"] != worker_id:
            log.warning("subscription %s: lease lost; delivery %s not recorded", subscription.id, delivery_id)
            return False
        if not batch.events:  # only event kinds it does not watch: step over them quietly
            _move_cursor(session, subscription, batch)
            session.execute(
                sa.update(table)
                .where(table.c.tenant_id == tenant, table.c.id == subscription.id)
                .values(locked_by="", locked_until=NULL_DATE)
            )
            return True
        delivery = registry().by_table("webhook_delivery").table
        session.execute(
            sa.insert(delivery).values(
                tenant_id=tenant, id=delivery_id, webhook_subscription_id=subscription.id,
                entity=batch.spec.name, event_count=len(batch.events), first_stamp=batch.first,
                last_stamp=batch.last, attempt=subscription.failures + 1, is_success=success,
                status_code=status_code, error=error, duration_ms=duration_ms, date_sent=started,
                modified_dateutc=changes.stamp(session, tenant, "webhook_delivery", delivery_id, changes.CREATED),
                row_version=1,
            )
        )  # fmt: skip
        values: dict[str, Any] = {"locked_by": "", "locked_until": NULL_DATE}
        if success:
            _move_cursor(session, subscription, batch)
            values |= {"consecutive_failures": 0, "next_attempt_dateutc": now, "last_delivery_dateutc": now}
        else:
            failures = subscription.failures + 1
            values |= {"consecutive_failures": failures, "next_attempt_dateutc": now + backoff(failures, base_seconds)}
            if failures >= MAX_FAILURES:
                values |= {
                    "is_active": False,
                    "disabled_reason": f"Switched off after {failures} failed deliveries in a row; last: {error}"[
                        :4000
                    ],
                }
        session.execute(
            sa.update(table)
            .where(table.c.tenant_id == tenant, table.c.id == subscription.id)
            .values(
                values
                | {
                    "modified_dateutc": changes.stamp(
                        session, tenant, "webhook_subscription", subscription.id, changes.UPDATED
                    ),
                    "row_version": table.c.row_version + 1,
                }
            )
        )
    return success


def _move_cursor(session: Session, subscription: Subscription, batch: Batch) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(WebhookCursor)
        .values(
            tenant_id=subscription.tenant_id,
            subscription_id=subscription.id,
            table_name=batch.spec.table_name,
            last_stamp=batch.last,
        )
        .on_conflict_do_update(
            index_elements=["tenant_id", "subscription_id", "table_name"], set_={"last_stamp": batch.last}
        )
    )


def deliver_one(
    database: Database,
    worker_id: str,
    client: httpx.Client,
    *,
    base_seconds: float,
    lease_seconds: float = LEASE_SECONDS,
) -> bool:
    """Send one batch of one due subscription; False when no subscription had anything to send."""
    claimed = _claim(database, worker_id, utcnow(), lease_seconds)
    if claimed is None:
        return False
    subscription, batch = claimed
    delivery_id = new_id()
    started = utcnow()
    clock = time.perf_counter()
    # a stretch of only unwatched event kinds sends nothing; _record steps over it
    outcome = _post(client, subscription, delivery_id, batch) if batch.events else (0, "")
    duration_ms = int((time.perf_counter() - clock) * 1000)
    ok = _record(database, worker_id, subscription, delivery_id, batch, outcome, started, duration_ms, base_seconds)
    log.info(
        "subscription %s: %d %s event(s) %s", subscription.id, len(batch.events), batch.spec.name,
        "delivered" if ok else f"failed ({outcome[1]})",
    )  # fmt: skip
    return True
