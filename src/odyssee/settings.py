"""Run-time settings, read from arguments or the environment, never at import time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

DEFAULT_DATABASE_URL = "sqlite:///./odyssee.db"
N = TypeVar("N", int, float)


@dataclass(frozen=True)
class Rate:
    """A token bucket's shape: ``per_second`` tokens flow in, at most ``burst`` are held.

    A request costs one token (a ``$batch`` one per operation). ``per_second == 0`` disables the
    limit. Written ``RATE[,BURST]`` in the environment, e.g. ``ODYSSEE_RATE_USER=50,500``; the
    burst defaults to the rate (one second's worth).
    """

    per_second: float
    burst: int

    @property
    def enabled(self) -> bool:
        return self.per_second > 0 and self.burst > 0

    @classmethod
    def parse(cls, text: str, name: str) -> Rate:
        rate_text, _, burst_text = text.partition(",")
        try:
            per_second = float(rate_text)
            burst = int(burst_text) if burst_text.strip() else max(int(per_second), 1)
        except ValueError:
            raise ValueError(f"{name} must read 'RATE[,BURST]' (e.g. '50,500'), got '{text}'.") from None
        if per_second < 0 or burst < 0:
            raise ValueError(f"{name} must not be negative, got '{text}'.")
        return cls(per_second, burst)


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    read_database_url: str | None = None
    """A PostgreSQL streaming replica for GET requests (``ODYSSEE_READ_DATABASE_URL``; docs/deployment.md).
    Writes, ``$batch`` and the worker stay on ``database_url``. Refused on SQLite."""
    page_size: int = 20
    """Odyssee's server page size (reference.md §2.8)."""
    max_page_size: int = 5000
    """The ceiling for ``Prefer: odata.maxpagesize`` (and for the page a large ``$top`` asks for)."""
    max_body_bytes: int = 16 * 1024 * 1024
    """Larger request bodies get 413. Files travel base64-encoded inside JSON, hence the room."""
    rate_user: Rate = Rate(1000, 5000)
    """Per (tenant, login) token bucket (``ODYSSEE_RATE_USER``). High on purpose: a guard against
    runaway loops, never met by a normal integration, the benchmarks or the tests (docs/limits.md)."""
    rate_tenant: Rate = Rate(2000, 10000)
    """Per tenant token bucket, shared by all its logins (``ODYSSEE_RATE_TENANT``)."""
    login_failures: int = 10
    """Failed logins per (domain, username) within ``login_window_seconds`` before further attempts
    get 429 (``ODYSSEE_LOGIN_FAILURES``; 0 disables)."""
    login_failures_per_ip: int = 100
    """The same per client address, so one host cannot spray many user names (``ODYSSEE_LOGIN_FAILURES_IP``)."""
    login_window_seconds: float = 300.0
    """The window the failures are counted in, and the longest lockout (``ODYSSEE_LOGIN_WINDOW``)."""
    keep_logins: bool = True
    """On PostgreSQL, an API process keeps the login rows it verified and does not read them again
    on the next request of the same login, one round trip fewer (``ODYSSEE_KEEP_LOGINS``,
    ``on``/``off``; domain/logins.py). A revoked login or rotated password is still refused from
    its next request on: each request checks, in its ``BEGIN``, that no credential changed."""
    statement_timeout_ms: int = 30000
    """An API request's SQL statement running longer is cancelled: 503 ``QueryTimeout``
    (``ODYSSEE_STATEMENT_TIMEOUT_MS``; 0 disables)."""
    inline_read_ms: int = 20
    """The statement budget of a SQLite read run on the event loop (``ODYSSEE_INLINE_READ_MS``; 0
    runs every read on a worker thread, on both engines). A read that needs longer is run again on
    a thread with the full statement timeout; a PostgreSQL read on the loop awaits the database
    and has no budget (api/inline.py, docs/performance.md)."""
    inline_write_ms: int = 20
    """The same for a SQLite write with a small body (``ODYSSEE_INLINE_WRITE_MS``; 0 runs every
    write on a worker thread, on both engines): also how long it waits on the loop for another
    process's write lock."""
    threads: int = 8
    """Worker threads per API process (``ODYSSEE_THREADS``, at least 1): how many transactions run at
    once on threads (bulk pages, large uploads, ``$batch``; on SQLite requests past the inline
    budget; short PostgreSQL requests run on the event loop, as many at once as its pool holds).
    More threads than cores only contend for the GIL: on the 2-core bench machine a
    GET by id on PostgreSQL ran 645 req/s with anyio's default 40, 907 with 8, 1142 with 2. Each
    transaction waiting on a lock or a slow statement holds one, so keep room for them
    (docs/performance.md)."""
    change_retention_days: float = 30.0
    """``change_event`` rows older than this are pruned by the worker, except those an active webhook
    subscription has not delivered (``ODYSSEE_CHANGE_RETENTION_DAYS``; 0 keeps them forever). A
    delta token older than a pruned deletion gets 410 (docs/change-feed.md#retention)."""
    row_security: bool = True
    """On PostgreSQL, run every API request behind row-level security as well as the application's
    tenant filter (``ODYSSEE_ROW_SECURITY``, ``on``/``off``; db/row_security.py). The server refuses
    to start when it is on but the database lacks what it needs. SQLite has none and ignores it."""
    debug_hold: bool = False
    """Test-only (``ODYSSEE_DEBUG_HOLD=1``): a write carrying ``X-Odyssee-Debug-Hold: <seconds>`` keeps
    its transaction open that long before committing, so the change-feed soak test can hold
    transactions open through the real API; every response then also names its process
    (``X-Odyssee-Pid``, for the ``serve --workers`` test). Never set it in production."""

    @property
    def change_retention(self) -> timedelta | None:
        return timedelta(days=self.change_retention_days) if self.change_retention_days > 0 else None

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        env = os.environ
        defaults = cls()
        return cls(
            database_url=database_url or env.get("ODYSSEE_DATABASE_URL") or DEFAULT_DATABASE_URL,
            read_database_url=env.get("ODYSSEE_READ_DATABASE_URL", "").strip() or None,
            rate_user=_rate(env, "ODYSSEE_RATE_USER", defaults.rate_user),
            rate_tenant=_rate(env, "ODYSSEE_RATE_TENANT", defaults.rate_tenant),
            login_failures=_number(env, "ODYSSEE_LOGIN_FAILURES", defaults.login_failures, int),
            login_failures_per_ip=_number(env, "ODYSSEE_LOGIN_FAILURES_IP", defaults.login_failures_per_ip, int),
            login_window_seconds=_number(env, "ODYSSEE_LOGIN_WINDOW", defaults.login_window_seconds, float),
            keep_logins=_switch(env, "ODYSSEE_KEEP_LOGINS", defaults.keep_logins),
            statement_timeout_ms=_number(env, "ODYSSEE_STATEMENT_TIMEOUT_MS", defaults.statement_timeout_ms, int),
            inline_read_ms=_number(env, "ODYSSEE_INLINE_READ_MS", defaults.inline_read_ms, int),
            inline_write_ms=_number(env, "ODYSSEE_INLINE_WRITE_MS", defaults.inline_write_ms, int),
            threads=_at_least_one(env, "ODYSSEE_THREADS", defaults.threads),
            change_retention_days=_number(env, "ODYSSEE_CHANGE_RETENTION_DAYS", defaults.change_retention_days, float),
            row_security=_switch(env, "ODYSSEE_ROW_SECURITY", defaults.row_security),
            debug_hold=env.get("ODYSSEE_DEBUG_HOLD") == "1",
        )


_ON, _OFF = ("on", "true", "yes", "1"), ("off", "false", "no", "0")


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text not in _ON + _OFF:
        raise ValueError(f"{name} must be 'on' or 'off', got '{env.get(name)}'.")
    return text in _ON


def _rate(env: Mapping[str, str], name: str, default: Rate) -> Rate:
    text = env.get(name, "").strip()
    return Rate.parse(text, name) if text else default


def _number(env: Mapping[str, str], name: str, default: N, kind: type[N]) -> N:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got '{text}'.") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got '{text}'.")
    return value


def _at_least_one(env: Mapping[str, str], name: str, default: int) -> int:
    value = _number(env, name, default, int)
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got '{env.get(name)}'.")
    return value
