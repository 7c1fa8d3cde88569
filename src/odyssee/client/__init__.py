"""The Python SDK for the odyssee API: typed, sync and async, on httpx (docs/client.md).

>>> from odyssee.client import Client, F
>>> with Client("http://127.0.0.1:8000", username="APIUser", password="123456", domain="TESTAPI") as client:
...     approvals = client.set("JobApproval").filter(F("is_daily_approval") == False).top(50).list()

Usable without the server: it imports only the standard library, httpx and orjson.
"""

from __future__ import annotations

from odyssee.client._core import Call, Page, RetryPolicy
from odyssee.client.aio import AsyncClient, AsyncEntitySet
from odyssee.client.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ODataError,
    PreconditionFailed,
    ServerError,
    TooManyRequests,
    Unauthorized,
)
from odyssee.client.filters import Expr, F, literal
from odyssee.client.sync import Client, EntitySet

__all__ = [
    "AsyncClient",
    "AsyncEntitySet",
    "Call",
    "Client",
    "Conflict",
    "EntitySet",
    "Expr",
    "F",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "ODataError",
    "Page",
    "PreconditionFailed",
    "RetryPolicy",
    "ServerError",
    "TooManyRequests",
    "Unauthorized",
    "literal",
]
