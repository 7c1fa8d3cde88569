"""What the sync and async clients share: URLs, headers, bodies, the query state of an entity
set, and the retry policy. Nothing here does I/O; ``sync.py`` and ``aio.py`` send."""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import gzip
import random
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, Self, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import orjson

from odyssee.client.entities import ERP_KEYS
from odyssee.client.errors import ODataError, TooManyRequests, error_from_response
from odyssee.client.filters import _AND, Expr, literal

USER_AGENT = "odyssee-client/0.1"
COMPRESS_OVER = 1024
"""``compress_requests`` gzips request bodies larger than this many bytes."""
R = TypeVar("R")
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
NOT_PROCESSED = frozenset({429, 503})
"""Statuses that say the server did not act on the request: retried for any method."""
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
"""PATCH sets the properties it names, so sending it twice leaves the same row."""


def api_root(base_url: str) -> str:
    """``http://host:8000``, ``…/api`` or ``…/api/`` → ``http://host:8000/api/``."""
    root = base_url.strip().rstrip("/")
    if not root.startswith(("http://", "https://")):
        raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
    if not root.endswith("/api"):
        root += "/api"
    return root + "/"


def basic_auth(username: str, password: str, domain: str | None) -> str:
    """``Basic base64(username:password@domain)``; without ``domain`` the password must carry it."""
    secret = f"{password}@{domain}" if domain else password
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode("ascii")


def key_segment(key: uuid.UUID | str) -> str:
    """The key of ``Set(<key>)``: a GUID, as a ``uuid.UUID`` or text."""
    return quote(str(key), safe="-'")


def alternate_key_segment(entity_set: str, value: str, key: str | None) -> str:
    """``code='C001'`` for ``Company`` (the entity's ERP key column unless ``key`` names one)."""
    column = key or ERP_KEYS.get(entity_set) or ERP_KEYS_LOWER.get(entity_set.lower())
    if column is None:
        raise ValueError(f"{entity_set} has no ERP key; pass key='<column>' or use the id")
    return f"{column}={quote(literal(str(value)), safe=chr(39))}"


ERP_KEYS_LOWER = {name.lower(): column for name, column in ERP_KEYS.items()}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot send a {type(value).__name__} as JSON: {value!r}")


def dumps(body: Any) -> bytes:
    """JSON for a request: datetimes as ISO 8601 (naive = UTC for the server), UUIDs as text,
    Decimals as numbers, bytes as base64 (``DbFile.file_content``)."""
    return orjson.dumps(body, default=_default)


def loads(response: httpx.Response) -> Any:
    return orjson.loads(response.content) if response.content else None


def entity(body: Any) -> dict[str, Any]:
    """A single-entity response without its ``@odata.context``."""
    if not isinstance(body, dict):
        raise ODataError(0, "UnexpectedResponse", f"expected a JSON object, got {type(body).__name__}")
    return {name: value for name, value in body.items() if name != "@odata.context"}


def with_client_id(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a create, with an ``id`` chosen here when it has none: a retried POST then
    cannot create the row twice (the server refuses the second with 409 DuplicateKey on ``id``)."""
    copy = dict(body)
    if copy.get("id") in (None, "", EMPTY_GUID, uuid.UUID(int=0)):
        copy["id"] = str(uuid.uuid4())
    return copy


def duplicate_id(error: ODataError) -> bool:
    return error.status == 409 and error.code == "DuplicateKey" and error.target == "id"


@dataclass(frozen=True)
class Query:
    """The query options of an entity set, immutable; each builder step makes a new one."""

    filters: tuple[Expr, ...] = ()
    select: tuple[str, ...] = ()
    order_by: tuple[str, ...] = ()
    expand: tuple[str, ...] = ()
    top: int | None = None
    skip: int | None = None
    page_size: int | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def filter_text(self) -> str | None:
        if not self.filters:
            return None
        if len(self.filters) == 1:
            return self.filters[0].text
        return " and ".join(f._operand(_AND) for f in self.filters)

    def params(self, *, paging: bool = True) -> dict[str, str]:
        params: dict[str, str] = {}
        text = self.filter_text()
        if text is not None:
            params["$filter"] = text
        if self.select:
            params["$select"] = ",".join(self.select)
        if self.expand:
            params["$expand"] = ",".join(self.expand)
        if paging:
            if self.order_by:
                params["$orderby"] = ",".join(self.order_by)
            if self.top is not None:
                params["$top"] = str(self.top)
            if self.skip is not None:
                params["$skip"] = str(self.skip)
        params.update(self.extra)
        return params

    def entity_params(self) -> dict[str, str]:
        """What applies to one entity: ``$select`` and ``$expand``."""
        params: dict[str, str] = {}
        if self.select:
            params["$select"] = ",".join(self.select)
        if self.expand:
            params["$expand"] = ",".join(self.expand)
        return params


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of a collection, for screens that page on demand instead of iterating it all."""

    rows: list[R]
    next_link: str | None
    """``@odata.nextLink``: the keyset link to the next page (its ``$skiptoken``), or None."""
    count: int | None
    """``@odata.count`` when the query asked for ``$count=true``."""

    @property
    def skiptoken(self) -> str | None:
        """The ``$skiptoken`` of the next link, to send back with the same query for the next page."""
        if self.next_link is None:
            return None
        values = parse_qs(urlsplit(self.next_link).query).get("$skiptoken")
        return values[0] if values else None


def page_of(body: Any) -> Page[Any]:
    return Page(body["value"], body.get("@odata.nextLink"), body.get("@odata.count"))


@dataclass(frozen=True)
class Call:
    """One HTTP request to make, and whether it may be sent again after an ambiguous failure."""

    method: str
    url: str
    params: Mapping[str, str] | None = None
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    replayable: bool | None = None
    """None: decided by the method (idempotent ones are)."""

    @property
    def safe_to_replay(self) -> bool:
        return self.method in IDEMPOTENT if self.replayable is None else self.replayable


NEVER_SENT = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout"})
"""Transport errors raised before the request left: safe to retry for any method."""


def transport_errors() -> tuple[type[Exception], ...]:
    """httpx's transport errors, and those of httpx2 when it is loaded (Starlette's TestClient uses it)."""
    errors: list[type[Exception]] = [httpx.TransportError]
    other = sys.modules.get("httpx2")
    if other is not None and isinstance(getattr(other, "TransportError", None), type):
        errors.append(other.TransportError)
    return tuple(errors)


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds from now: delay-seconds or an HTTP date; None if absent or garbled."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _error_code(response: httpx.Response) -> str | None:
    try:
        code = orjson.loads(response.content)["error"]["code"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) else None


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``retries`` more attempts; waits ``backoff·2ⁿ`` plus up to 10% jitter, or the
    server's ``Retry-After``, never more than ``max_backoff`` seconds."""

    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0

    def retry_status(self, call: Call, attempt: int, status: int, response: httpx.Response | None = None) -> bool:
        if attempt >= self.retries:
            return False
        if status == 503 and response is not None and _error_code(response) == "QueryTimeout":
            return False  # the same query would time out again: say so now (docs/limits.md)
        if status in NOT_PROCESSED:
            return True
        return call.safe_to_replay and (status in RETRY_STATUSES or status == 500)

    def retry_error(self, call: Call, attempt: int, error: Exception) -> bool:
        if attempt >= self.retries:
            return False
        never_sent = any(cls.__name__ in NEVER_SENT for cls in type(error).__mro__)
        return never_sent or call.safe_to_replay

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        hinted = retry_after(response) if response is not None else None
        if hinted is not None:
            return min(hinted, self.max_backoff)
        base = self.backoff * 2.0**attempt
        return min(base + random.uniform(0, base / 10), self.max_backoff)


def raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    error = error_from_response(response)
    if isinstance(error, TooManyRequests):
        error.retry_after = retry_after(response)
    raise error


class ClientCore:
    """Configuration and request preparation shared by :class:`Client` and :class:`AsyncClient`."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        domain: str | None,
        *,
        retries: int,
        backoff: float,
        max_backoff: float,
        compress_requests: bool,
    ) -> None:
        if retries < 0 or backoff < 0 or max_backoff < 0:
            raise ValueError("retries, backoff and max_backoff cannot be negative")
        self.root = api_root(base_url)
        self.policy = RetryPolicy(retries, backoff, max_backoff)
        self.compress_requests = compress_requests
        self._headers = {
            "Authorization": basic_auth(username, password, domain),
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._sleep = time.sleep

    def url(self, path: str) -> str:
        return self.root + path

    def prepare(self, call: Call) -> dict[str, Any]:
        """The keyword arguments of ``httpx.Client.request`` for ``call``."""
        headers = {**self._headers, **call.headers}
        content: bytes | None = None
        if call.body is not None:
            content = dumps(call.body)
            headers["Content-Type"] = "application/json"
            if self.compress_requests and len(content) > COMPRESS_OVER:
                content = gzip.compress(content, compresslevel=6, mtime=0)
                headers["Content-Encoding"] = "gzip"
        return {"method": call.method, "url": call.url, "params": call.params, "headers": headers, "content": content}


def prefer(*preferences: str | None) -> dict[str, str]:
    given = [p for p in preferences if p]
    return {"Prefer": ", ".join(given)} if given else {}


class SetCore:
    """The builder half of an entity set: immutable, each method returns a new set."""

    name: str
    query: Query

    def _with(self, **changes: Any) -> Self:
        clone = dataclasses.replace(self.query, **changes)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.query = clone
        return new

    def filter(self, condition: Expr | str) -> Self:
        """AND a condition: an ``F`` expression or a raw ``$filter`` string."""
        return self._with(filters=(*self.query.filters, Expr.of(condition)))

    def select(self, *names: str) -> Self:
        return self._with(select=(*self.query.select, *_names(names)))

    def order_by(self, *items: str) -> Self:
        """``order_by("modified_dateutc", "id desc")``; the server adds ``id`` as the tie-breaker."""
        return self._with(order_by=(*self.query.order_by, *_names(items)))

    def expand(self, *items: str) -> Self:
        """``expand("company", "project($select=name)")``."""
        return self._with(expand=(*self.query.expand, *_names(items)))

    def top(self, n: int) -> Self:
        """At most ``n`` rows in all (over every page)."""
        return self._with(top=_count(n, "top"))

    def skip(self, n: int) -> Self:
        return self._with(skip=_count(n, "skip"))

    def page_size(self, n: int) -> Self:
        """Rows per request (``Prefer: odata.maxpagesize``, 1–5000); iteration still returns them all."""
        if not 1 <= n <= 5000:
            raise ValueError("page_size must be between 1 and 5000")
        return self._with(page_size=n)

    def param(self, name: str, value: str) -> Self:
        """Any other query option, e.g. ``param("$apply", "groupby((city))")``."""
        return self._with(extra=(*self.query.extra, (name, value)))

    def _page_headers(self) -> dict[str, str]:
        size = self.query.page_size
        return prefer(f"odata.maxpagesize={size}" if size else None)

    def _path(self, key: uuid.UUID | str) -> str:
        return f"{self.name}({key_segment(key)})"

    def _first_query(self) -> Query:
        return dataclasses.replace(self.query, top=1, page_size=None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.query.params()}>"


def _names(items: Sequence[str]) -> list[str]:
    names = [item.strip() for item in items]
    if any(not name for name in names):
        raise ValueError("empty name")
    return names


def _count(n: int, option: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{option} must be a non-negative integer")
    return n


def if_match(etag: str | None) -> dict[str, str]:
    return {"If-Match": etag} if etag else {}


def minimal_headers(minimal: bool) -> dict[str, str]:
    return prefer("return=minimal" if minimal else None)


def batch_body(requests: list[dict[str, Any]], atomic: bool) -> dict[str, Any]:
    items = []
    for number, request in enumerate(requests, start=1):
        item = {"id": str(number), **request}
        if atomic:
            item["atomicityGroup"] = "g"
        items.append(item)
    return {"requests": items}


def batch_result(body: Any, atomic: bool) -> list[dict[str, Any]]:
    responses: list[dict[str, Any]] = list(body["responses"])
    if atomic:
        failed = next((r for r in responses if r.get("status", 0) >= 400 and r.get("status") != 424), None)
        if failed is not None:
            raise_for(_as_response(failed))
    return responses


def _as_response(item: dict[str, Any]) -> httpx.Response:
    return httpx.Response(int(item["status"]), content=orjson.dumps(item.get("body") or {}))
