"""The one error model every layer raises. The API renders it as the OData error JSON.

Each class names a *kind* of failure; the HTTP status belongs to the api layer
(``api/errors.py`` maps kinds to status codes), so the model, odata and domain layers stay free
of HTTP. ``code`` is a stable machine-readable string; ``details`` carries one entry per
offending field or token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorDetail:
    code: str
    message: str
    target: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "target": self.target}


@dataclass
class OdysseeError(Exception):
    message: str
    code: str = "Error"
    target: str | None = None
    details: list[ErrorDetail] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "target": self.target,
            "details": [detail.as_dict() for detail in self.details],
        }


class InvalidInput(OdysseeError):
    """The request is malformed or a value is invalid (missing, wrong type, too long, ...)."""


class InvalidQuery(InvalidInput):
    """A query option (``$filter``, ``$select``, ...) cannot be parsed or names an unknown property."""


class Unauthorized(OdysseeError):
    """Missing or wrong credentials."""


class Forbidden(OdysseeError):
    """Authenticated, but not allowed to do this."""


class NotFound(OdysseeError):
    """Unknown controller, or no row with this key in the caller's tenant."""


class NotAllowed(OdysseeError):
    """The verb is not offered on this resource (e.g. deleting a company)."""

    allowed: tuple[str, ...] = ()


class NotAcceptable(OdysseeError):
    """The client asked for a response format we do not produce."""


class UnsupportedMediaType(OdysseeError):
    """The request body is in a format we do not read."""


class Conflict(OdysseeError):
    """The request conflicts with the current state (duplicate key, row still referenced, ...)."""


class PreconditionFailed(OdysseeError):
    """An ``If-Match`` / ``If-None-Match`` condition does not hold for the current row."""


class PayloadTooLarge(OdysseeError):
    """The request body exceeds the configured limit."""


class Gone(OdysseeError):
    """What the request continues from no longer exists (a delta token older than the pruned change events)."""


class UnknownReference(OdysseeError):
    """A foreign key names a row that does not exist in the caller's tenant."""


class NotImplementedFeature(OdysseeError):
    """A valid OData feature that this server does not offer (yet); never silently ignored."""


@dataclass
class TooManyRequests(OdysseeError):
    """The caller spent its request budget (rate limit) or failed to log in too often (throttle).

    ``retry_after`` is the number of seconds until trying again can succeed.
    """

    retry_after: int = 1


class ServerBusy(OdysseeError):
    """Every database connection of this API process stayed in use for the pool's whole timeout:
    nothing was done, and trying again later is safe."""


class QueryTimeout(OdysseeError):
    """The database cancelled a statement that ran longer than the statement timeout.

    The transaction was rolled back: nothing changed, so trying again is safe (but a narrower
    query is what helps).
    """
