"""Webhooks: a tenant's subscriptions to changes, and the log of every delivery attempt (docs/webhooks.md).

Odyssee says "it's not the API that will notify you"; we do. The worker delivers the change
events (domain/changes.py) of the subscribed entities, in order per entity, signed, retried.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from odyssee.model.base import Deletion, Entity, EntityOptions, flag, integer, reference, string, timestamp
from odyssee.model.conventions import NULL_DATE
from odyssee.model.types import UtcDateTime


class WebhookSubscription(Entity):
    __tablename__ = "webhook_subscription"
    odata = EntityOptions(description="Where to POST the changes of which entities, and the key to sign them with.")

    name: Mapped[str] = string(100, required=True)
    url: Mapped[str] = string(2000, required=True, doc="http(s) URL that receives the POSTed change events.")
    entities: Mapped[str] = string(
        4000, doc="Comma-separated entity sets (controller names, e.g. 'Jobs,JobApproval'); empty or '*' for all."
    )
    events: Mapped[str] = string(100, doc="Comma-separated: created, updated, deleted; empty for all three.")
    secret: Mapped[str] = string(
        255, required=True, write_only=True, doc="HMAC-SHA256 key of the Odyssee-Signature header; never returned."
    )
    is_active: Mapped[bool] = flag(
        default=True, doc="False stops deliveries; set it back to true to resume where delivery stopped."
    )
    consecutive_failures: Mapped[int] = integer(read_only=True)
    disabled_reason: Mapped[str] = string(4000, read_only=True, doc="Why the server turned is_active off.")
    next_attempt_dateutc: Mapped[datetime] = timestamp(read_only=True, doc="When a failed delivery is retried.")
    last_delivery_dateutc: Mapped[datetime] = timestamp(read_only=True)
    # The delivering worker's lease (worker/webhooks.py), as for queued tasks; not exposed.
    locked_by: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="", server_default="",
                                           info={"hidden": True})  # fmt: skip
    locked_until: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=NULL_DATE,
                                                   server_default=sa.text("'1980-01-01 00:00:00.000000'"),
                                                   info={"hidden": True})  # fmt: skip


class WebhookDelivery(Entity):
    __tablename__ = "webhook_delivery"
    odata = EntityOptions(
        read_only=True,
        deletion=Deletion.FORBIDDEN,
        deletion_hint="The delivery log is a record of what happened.",
        description="One POST to a subscriber: which events, the answer, how long it took.",
    )

    webhook_subscription_id: Mapped[uuid.UUID] = reference("webhook_subscription", required=True)
    entity: Mapped[str] = string(50, doc="The entity set whose events were sent.")
    event_count: Mapped[int] = integer()
    first_stamp: Mapped[datetime] = timestamp(doc="modified_dateutc of the first event sent.")
    last_stamp: Mapped[datetime] = timestamp(doc="modified_dateutc of the last event sent.")
    attempt: Mapped[int] = integer(doc="1 for a first try; counts the failures before it otherwise.")
    is_success: Mapped[bool] = flag()
    status_code: Mapped[int] = integer(doc="The subscriber's HTTP status; 0 when none came (timeout, refused).")
    error: Mapped[str] = string(4000)
    duration_ms: Mapped[int] = integer()
    date_sent: Mapped[datetime] = timestamp()
