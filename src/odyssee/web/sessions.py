"""Console sign-in sessions, kept server-side in memory.

The browser holds only a random token in an HttpOnly, SameSite=Strict session cookie (no
Expires: it dies with the browser); the credentials stay here so every console request can call
the API as the signed-in user. A restart signs everyone out, which is the safe direction.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "odyssee_console"
IDLE_SECONDS = 8 * 3600
"""A session unused this long is forgotten (a working day), whatever the browser keeps."""
MAX_SESSIONS = 10_000
"""Memory bound: past it the least recently used session is dropped."""


@dataclass
class Login:
    """One signed-in browser: the API credentials and the console's per-session state."""

    username: str
    password: str
    domain: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    columns: list[str] = field(default_factory=list)
    flash: list[tuple[str, str]] = field(default_factory=list)
    """(kind, message) pairs shown once on the next page: the result of a POST before its redirect."""
    last_seen: float = field(default_factory=time.monotonic)

    @property
    def who(self) -> str:
        return f"{self.username}@{self.domain}"


class Sessions:
    """Token → :class:`Login`; thread-safe, bounded, idle-expiring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logins: dict[str, Login] = {}

    def start(self, login: Login) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            if len(self._logins) >= MAX_SESSIONS:
                oldest = min(self._logins, key=lambda key: self._logins[key].last_seen)
                del self._logins[oldest]
            self._logins[token] = login
        return token

    def get(self, token: str | None) -> Login | None:
        if not token:
            return None
        now = time.monotonic()
        with self._lock:
            login = self._logins.get(token)
            if login is None:
                return None
            if now - login.last_seen > IDLE_SECONDS:
                del self._logins[token]
                return None
            login.last_seen = now
            return login

    def end(self, token: str | None) -> None:
        with self._lock:
            self._logins.pop(token or "", None)
