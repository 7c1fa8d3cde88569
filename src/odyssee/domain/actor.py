"""Who is calling: the tenant whose rows are visible, and the login acting."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    tenant_id: int
    domain: str
    username: str
    is_api: bool
    user_id: uuid.UUID | None = None
    """The ``user`` row of a technician login; None for API users."""
