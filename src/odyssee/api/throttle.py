"""Failed-login throttling: slow down password guessing against HTTP Basic.

Failures are counted per login, ``(DOMAIN, username)`` as ``authenticate`` matches them, and per
client address. The first failure opens a window of ``window`` seconds; once a key has
``limit`` failures in its window, every further attempt on it is refused with 429 and
``Retry-After`` until the window closes — without checking the password, so even the right one
waits. A successful login clears the login's count; the address count is not cleared, or a host
holding one valid login could reset its own counter while guessing others.

The same counting applies whether or not the user or domain exists, and the refusal reads the
same, so the throttle reveals nothing about which logins are real. Counters live in this
process's memory (like the rate limits, docs/limits.md) and are bounded in number.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from odyssee.model.errors import TooManyRequests

MAX_KEYS = 100_000
"""Counters kept per kind; beyond that the oldest windows are forgotten first."""


@dataclass
class _Window:
    opened: float
    failures: int = 0


class LoginThrottle:
    """Failure counters of one API process. Thread-safe: logins are checked on a thread pool."""

    def __init__(
        self,
        per_login: int,
        per_address: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"login": per_login, "address": per_address}
        self.window = window
        self._clock = clock
        self._windows: dict[str, OrderedDict[Hashable, _Window]] = {kind: OrderedDict() for kind in self.limits}
        self._lock = threading.Lock()

    def check(self, login: Hashable, address: Hashable) -> None:
        """Raise :class:`TooManyRequests` while the login or the address is locked out."""
        keys = {"login": login, "address": address}
        with self._lock:
            now = self._clock()
            current = [(self._current(kind, keys[kind], now), limit) for kind, limit in self.limits.items()]
            waits = [
                window.opened + self.window - now
                for window, limit in current
                if window is not None and limit > 0 and window.failures >= limit
            ]
        if waits:
            seconds = max(math.ceil(max(waits)), 1)
            raise TooManyRequests(
                f"Too many failed logins: try again in {seconds} s.",
                code="TooManyRequests",
                retry_after=seconds,
            )

    def failed(self, login: Hashable, address: Hashable) -> None:
        keys = {"login": login, "address": address}
        with self._lock:
            now = self._clock()
            for kind, limit in self.limits.items():
                if limit > 0:
                    self._open(kind, keys[kind], now).failures += 1

    def succeeded(self, login: Hashable) -> None:
        with self._lock:
            self._windows["login"].pop(login, None)

    def _current(self, kind: str, key: Hashable, now: float) -> _Window | None:
        found = self._windows[kind].get(key)
        return found if found is not None and now - found.opened < self.window else None

    def _open(self, kind: str, key: Hashable, now: float) -> _Window:
        """The key's current window; a new one when it had none or its window has closed."""
        found = self._current(kind, key, now)
        if found is not None:
            return found
        windows = self._windows[kind]
        windows.pop(key, None)
        while len(windows) >= MAX_KEYS:
            windows.popitem(last=False)
        found = windows[key] = _Window(now)
        return found
