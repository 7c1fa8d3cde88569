"""The logins an API process has verified, kept so that the next request of the same login does
not read its credentials again: on PostgreSQL that read is a round trip of its own, about a sixth
of a small GET (docs/performance.md).

What is kept is the login query's row (domain/tenants.py), never a verdict: every request still
checks the password against the kept hash (domain/passwords.py remembers that check), the
``disabled`` flag and the failed-login throttle. The row carries the *login epoch* it was read
at, a counter that triggers move on every change to a credential or tenant (model/system.py
``LoginEpoch``, migration 0011); a request of a kept login begins its transaction only if the
epoch has not moved, checked in the same round trip as its ``BEGIN`` (db/engine.py). So a revoked
login or a rotated password is refused from its next request on, as when the row is read every
time, and whoever changed it.
"""

from __future__ import annotations

from typing import Any

Login = tuple[str, str]
"""``(DOMAIN, username)`` as the login query matches them (upper-cased domain, lower-cased user)."""


class KnownLogins:
    """Login query rows by login, at most ``size`` of them."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._rows: dict[Login, dict[str, Any]] = {}

    def find(self, login: Login) -> dict[str, Any] | None:
        return self._rows.get(login)

    def keep(self, login: Login, row: dict[str, Any]) -> None:
        """Keep the row of a login whose password was just verified, unless it was read without
        an epoch (the counter's row deleted by hand): no change could be seen, so it is not kept."""
        if row.get("login_epoch") is None:
            return
        if len(self._rows) >= self._size:  # logins are the client's to choose: stay bounded
            self._rows.clear()
        self._rows[login] = row

    def forget(self) -> None:
        """Forget every row: the epoch moved, and any of them may be stale."""
        self._rows.clear()
