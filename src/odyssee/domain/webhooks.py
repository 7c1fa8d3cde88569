"""Webhook subscriptions: what they may say, what their deliveries contain, how they are signed.

The worker (worker/webhooks.py) does the sending; this module holds the rules both the API
and the worker need, as plain functions over a session (docs/webhooks.md).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.domain.actor import Actor
from odyssee.domain.changes import DELETED, EVENTS, from_ms, high_water, horizon, stamps, to_ms, update_rows
from odyssee.model.conventions import NULL_DATE
from odyssee.model.errors import ErrorDetail, Gone, InvalidInput, NotFound
from odyssee.model.registry import EntitySpec, registry
from odyssee.model.system import WebhookCursor
from odyssee.model.values import format_datetime

SIGNATURE_HEADER = "Odyssee-Signature"
DELIVERY_HEADER = "Odyssee-Delivery"
UNWATCHED = frozenset({"webhook_subscription", "webhook_delivery"})
"""Changes to these are never delivered: a delivery log row must not cause another delivery."""


def subscribed_specs(entities: str) -> list[EntitySpec]:
    """The entity sets a subscription's ``entities`` names (all watchable ones for '' or '*')."""
    names = [name.strip() for name in entities.split(",") if name.strip()]
    if not names or names == ["*"]:
        return [spec for spec in registry() if spec.table_name not in UNWATCHED]
    found = []
    for name in names:
        spec = registry().lookup(name)
        if spec is None or spec.table_name in UNWATCHED:
            raise _invalid("entities", f"'{name}' is not an entity set that can be watched.")
        found.append(spec)
    return found


def subscribed_events(events: str) -> list[str]:
    names = [name.strip().lower() for name in events.split(",") if name.strip()]
    unknown = [name for name in names if name not in EVENTS]
    if unknown:
        raise _invalid("events", f"Unknown event(s) {', '.join(unknown)}; use {', '.join(EVENTS)}.")
    return names or list(EVENTS)


def check_subscription(_session: Session, _actor: Actor, row: dict[str, Any]) -> None:
    """A subscription must be deliverable: an http(s) URL, known entity sets and events."""
    parts = urlsplit(row.get("url", ""))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _invalid("url", "url must be an absolute http:// or https:// URL.")
    subscribed_specs(row.get("entities", ""))
    subscribed_events(row.get("events", ""))


def on_update(session: Session, actor: Actor, current: dict[str, Any], row: dict[str, Any]) -> None:
    """Switching a disabled subscription back on clears its failure count, so it is tried at once."""
    check_subscription(session, actor, row)
    if row.get("is_active") and not current["is_active"]:
        row.update(consecutive_failures=0, disabled_reason="", next_attempt_dateutc=current["modified_dateutc"])


def start_cursors(session: Session, actor: Actor, row: dict[str, Any], *_: Any) -> None:
    """A subscription delivers what commits after it was made (or after an entity was added to it):
    each newly watched table starts at its current high-water stamp (domain/changes.py)."""
    have = set(
        session.execute(
            sa.select(WebhookCursor.table_name).where(
                WebhookCursor.tenant_id == actor.tenant_id, WebhookCursor.subscription_id == row["id"]
            )
        ).scalars()
    )
    for spec in subscribed_specs(row.get("entities", "")):
        if spec.table_name not in have:
            start = high_water(session, actor.tenant_id, spec.table_name) or NULL_DATE
            session.execute(
                sa.insert(WebhookCursor).values(
                    tenant_id=actor.tenant_id, subscription_id=row["id"], table_name=spec.table_name, last_stamp=start
                )
            )


def before_delete(session: Session, actor: Actor, current: dict[str, Any]) -> None:
    """A subscription takes its delivery log and cursors with it."""
    session.execute(
        sa.delete(WebhookCursor).where(
            WebhookCursor.tenant_id == actor.tenant_id, WebhookCursor.subscription_id == current["id"]
        )
    )
    log = registry().by_table("webhook_delivery").table
    ids = list(
        session.execute(
            sa.select(log.c.id).where(
                log.c.tenant_id == actor.tenant_id, log.c.webhook_subscription_id == current["id"]
            )
        ).scalars()
    )
    stamps(session, actor.tenant_id, "webhook_delivery", ids, DELETED)
    session.execute(sa.delete(log).where(log.c.tenant_id == actor.tenant_id, log.c.id.in_(ids)))


def replay(session: Session, actor: Actor, subscription_id: uuid.UUID, since: datetime) -> None:
    """Deliver again every change after ``since`` (within the change-event retention): rewind every cursor."""
    table = registry().by_table("webhook_subscription").table
    row = session.execute(
        sa.select(table).where(table.c.tenant_id == actor.tenant_id, table.c.id == subscription_id).with_for_update()
    ).mappings().first()  # fmt: skip
    if row is None:
        raise NotFound(f"There is no WebhookSubscription with id {subscription_id}.", code="NotFound")
    for spec in subscribed_specs(row["entities"]):
        pruned_ms = horizon(session, actor.tenant_id, spec.table_name)[0]
        if to_ms(since) < pruned_ms:
            raise Gone(
                f"The {spec.name} changes before {format_datetime(from_ms(pruned_ms))} were pruned "
                "(change-event retention): replay from that moment or later.",
                code="ChangesPruned",
                target="since",
            )
    session.execute(
        sa.delete(WebhookCursor).where(
            WebhookCursor.tenant_id == actor.tenant_id, WebhookCursor.subscription_id == subscription_id
        )
    )
    session.execute(
        sa.insert(WebhookCursor),
        [
            {"tenant_id": actor.tenant_id, "subscription_id": subscription_id, "table_name": spec.table_name,
             "last_stamp": since}
            for spec in subscribed_specs(row["entities"])
        ],
    )  # fmt: skip
    update_rows(session, actor.tenant_id, table, [table.c.id == subscription_id], {"next_attempt_dateutc": since})


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Odyssee-Signature`` value: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``.

    The timestamp is signed with the body so a captured delivery cannot be replayed later.
    """
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (and what our tests do): check the signature and that it is recent."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(expected, fields.get("v1", ""))


def _invalid(target: str, message: str) -> InvalidInput:
    return InvalidInput(message, code="ValidationFailed", target=target,
                        details=[ErrorDetail("ValidationFailed", message, target)])  # fmt: skip


__all__: Sequence[str] = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "UNWATCHED",
    "check_subscription",
    "on_update",
    "replay",
    "sign",
    "start_cursors",
    "subscribed_events",
    "subscribed_specs",
    "verify",
]
