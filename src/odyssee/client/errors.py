"""The exceptions the SDK raises for an error response: one class per kind of failure.

Every server error is the OData error JSON ``{"error": {"code", "message", "target", "details"}}``
(docs/api.md, "Errors"); its fields become attributes of the exception. A response that is not
that JSON (a proxy's HTML 502, say) still gives a readable exception, with ``code`` ``HTTP<status>``.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson


class ODataError(Exception):
    """An error response from the server.

    ``status`` is the HTTP status, ``code`` the server's stable machine-readable code
    (``ValidationFailed``, ``DuplicateKey``, …), ``target`` the property or option at fault,
    ``details`` one dict per problem (``{"code", "message", "target"}``) and ``response`` the
    ``httpx.Response`` itself.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details: list[dict[str, Any]] = details or []
        self.response = response

    def __str__(self) -> str:
        text = f"{self.status} {self.code}: {self.message}"
        if self.target:
            text += f" (target: {self.target})"
        for detail in self.details:
            where = f" [{detail.get('target')}]" if detail.get("target") else ""
            text += f"\n  - {detail.get('code', '')}{where}: {detail.get('message', '')}"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class InvalidInput(ODataError):
    """400 or 422: an invalid body, value, key or query option; an unknown reference."""


class Unauthorized(ODataError):
    """401: missing or wrong credentials."""


class Forbidden(ODataError):
    """403: authenticated, but not allowed to do this."""


class NotFound(ODataError):
    """404: no such entity set, route or entity in the tenant."""


class Conflict(ODataError):
    """409: duplicate id or ERP key, row still referenced, deleted row, forbidden status change."""


class PreconditionFailed(ODataError):
    """412: ``If-Match`` / ``If-None-Match`` did not hold."""


class TooManyRequests(ODataError):
    """429 after every retry; ``retry_after`` is the server's last hint in seconds, if any."""

    retry_after: float | None = None


class ServerError(ODataError):
    """5xx after every retry the policy allowed."""


_BY_STATUS: dict[int, type[ODataError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    422: InvalidInput,
    429: TooManyRequests,
}


def error_class(status: int) -> type[ODataError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ODataError)


def error_from_response(response: httpx.Response) -> ODataError:
    """The exception for an error response, filled from its OData error JSON when it has one."""
    status = response.status_code
    code, message, target, details = f"HTTP{status}", response.reason_phrase or f"HTTP {status}", None, []
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
        text = response.text.strip()
        if text:
            message = f"{message}: {text[:300]}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        target = error.get("target") if isinstance(error.get("target"), str) else None
        details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    return error_class(status)(status, code, message, target, details, response)


__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "ODataError",
    "PreconditionFailed",
    "ServerError",
    "TooManyRequests",
    "Unauthorized",
    "error_class",
    "error_from_response",
]
