"""Run-time settings, read from arguments or the environment, never at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///./odyssee.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    page_size: int = 20
    """Odyssee's server page size (reference.md §2.8)."""
    max_page_size: int = 5000
    """The ceiling for ``Prefer: odata.maxpagesize``."""
    max_body_bytes: int = 16 * 1024 * 1024
    """Larger request bodies get 413. Files travel base64-encoded inside JSON, hence the room."""
    debug_hold: bool = False
    """Test-only (``ODYSSEE_DEBUG_HOLD=1``): a write carrying ``X-Odyssee-Debug-Hold: <seconds>`` keeps
    its transaction open that long before committing, so the change-feed soak test can hold
    transactions open through the real API. Never set it in production."""

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        return cls(
            database_url=database_url or os.environ.get("ODYSSEE_DATABASE_URL") or DEFAULT_DATABASE_URL,
            debug_hold=os.environ.get("ODYSSEE_DEBUG_HOLD") == "1",
        )
