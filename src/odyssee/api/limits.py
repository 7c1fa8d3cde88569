"""Request rate limits: a token bucket per (tenant, login) and one per tenant.

Each authenticated request takes one token from both buckets (a ``$batch`` one per operation);
tokens flow back at ``per_second`` up to ``burst``. When either bucket is short the request is
refused *before it runs* with 429 ``TooManyRequests`` and ``Retry-After``. Every authenticated
response carries the budget of the tighter bucket in the IETF draft headers
``RateLimit-Limit`` (the burst), ``RateLimit-Remaining`` (whole tokens left) and
``RateLimit-Reset`` (seconds until the bucket is full again).

The buckets live in this process's memory: cheap (no database write per request) and exact
for one API process. With several processes behind a balancer each keeps its own buckets, so the
effective limit is the per-process limit times the number of processes (docs/limits.md).

A request that costs more than the burst (a big ``$batch``) is admitted when the bucket is full
and leaves it in debt, so the caller then waits for the refill: a batch is never refused forever.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from odyssee.domain.actor import Actor
from odyssee.model.errors import TooManyRequests
from odyssee.settings import Rate

BUDGET_KEY = "odyssee.rate_budget"
"""Where the budget of the request is kept in the ASGI scope's ``state`` for the header middleware."""
MAX_BUCKETS = 100_000
"""Above this many buckets the full (idle) ones are forgotten: a full bucket is the same as none."""


@dataclass(frozen=True)
class Budget:
    """What the ``RateLimit-*`` headers say."""

    limit: int
    remaining: int
    reset: int

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """``RateLimit-Limit``, ``-Remaining`` and ``-Reset`` as ASGI header pairs."""
        return [
            (b"ratelimit-limit", b"%d" % self.limit),
            (b"ratelimit-remaining", b"%d" % self.remaining),
            (b"ratelimit-reset", b"%d" % self.reset),
        ]


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, now: float) -> None:
        self.tokens = tokens
        self.updated = now

    def refill(self, rate: Rate, now: float) -> None:
        self.tokens = min(float(rate.burst), self.tokens + (now - self.updated) * rate.per_second)
        self.updated = now

    def budget(self, rate: Rate) -> Budget:
        missing = rate.burst - self.tokens
        return Budget(rate.burst, max(int(self.tokens), 0), math.ceil(missing / rate.per_second) if missing > 0 else 0)


class RateLimiter:
    """The buckets of one API process. Thread-safe: requests run on a thread pool."""

    def __init__(self, user: Rate, tenant: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rates = {"login": user, "tenant": tenant}
        self._clock = clock
        self._buckets: dict[str, dict[Hashable, _Bucket]] = {kind: {} for kind in self.rates}
        self._lock = threading.Lock()

    def charge(self, actor: Actor, cost: int = 1) -> Budget | None:
        """Take ``cost`` tokens from the actor's buckets and return the tighter budget left, or
        raise :class:`TooManyRequests` having taken nothing. None when no limit is configured."""
        keys, enabled = self._keys(actor), self._enabled()
        if not enabled:
            return None
        with self._lock:
            now = self._clock()
            buckets = [(kind, rate, self._bucket(kind, rate, keys[kind], now)) for kind, rate in enabled]
            waits = [
                (kind, (min(cost, rate.burst) - bucket.tokens) / rate.per_second)
                for kind, rate, bucket in buckets
                if bucket.tokens < min(cost, rate.burst)
            ]
            if waits:
                kind, wait = max(waits, key=lambda item: item[1])
                seconds = max(math.ceil(wait), 1)
                raise TooManyRequests(
                    f"Too many requests for this {kind}: try again in {seconds} s "
                    "(the RateLimit-* headers show the budget; docs/limits.md).",
                    code="TooManyRequests",
                    retry_after=seconds,
                )
            for _kind, _rate, bucket in buckets:
                bucket.tokens -= cost
            return _tightest([(rate, bucket) for _kind, rate, bucket in buckets])

    def peek(self, actor: Actor) -> Budget | None:
        """The tighter budget left, taking nothing (for the headers of a refused request)."""
        keys, enabled = self._keys(actor), self._enabled()
        if not enabled:
            return None
        with self._lock:
            now = self._clock()
            return _tightest([(rate, self._bucket(kind, rate, keys[kind], now)) for kind, rate in enabled])

    def _enabled(self) -> list[tuple[str, Rate]]:
        return [(kind, rate) for kind, rate in self.rates.items() if rate.enabled]

    @staticmethod
    def _keys(actor: Actor) -> dict[str, Hashable]:
        return {"login": (actor.tenant_id, actor.username.lower()), "tenant": actor.tenant_id}

    def _bucket(self, kind: str, rate: Rate, key: Hashable, now: float) -> _Bucket:
        buckets = self._buckets[kind]
        bucket = buckets.get(key)
        if bucket is None:
            if len(buckets) >= MAX_BUCKETS:
                self._forget_full(kind, rate, now)
            bucket = buckets[key] = _Bucket(float(rate.burst), now)
        else:
            bucket.refill(rate, now)
        return bucket

    def _forget_full(self, kind: str, rate: Rate, now: float) -> None:
        buckets = self._buckets[kind]
        for key, bucket in list(buckets.items()):
            bucket.refill(rate, now)
            if bucket.tokens >= rate.burst:
                del buckets[key]


def _tightest(buckets: list[tuple[Rate, _Bucket]]) -> Budget:
    """The budget nearest to exhaustion, as the draft asks when several limits apply."""
    return min((bucket.budget(rate) for rate, bucket in buckets), key=lambda b: (b.remaining, -b.reset))


class RateLimitHeaders:
    """ASGI middleware: copies the request's :class:`Budget` (set by the route once the caller is
    known) onto whatever response goes out, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_budget(message: Message) -> None:
            if message["type"] == "http.response.start":
                budget = state.get(BUDGET_KEY)
                if isinstance(budget, Budget):  # appended: nothing else sets these names
                    message["headers"] = [*message.get("headers", ()), *budget.raw_headers()]
            await send(message)

        await self.app(scope, receive, send_with_budget)
