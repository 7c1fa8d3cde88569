"""OData change tracking tokens: what ``$deltatoken`` carries (docs/change-feed.md).

A token is the change stamp the client has seen every row up to, the stamp after which it
still needs removals (the two differ while paging through the initial full read: rows resume
after the last row sent, removals after the moment the read began), whether the result it
continues is the initial full read, and a digest of the ``$select`` it was made for. It is
opaque to clients (base64url JSON) and refused with a clear 400 when tampered with or reused
with another ``$select``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

import orjson

from odyssee.model.errors import InvalidQuery

ALLOWED = frozenset({"$select", "$format", "$deltatoken"})
"""Options change tracking works with, as in Dataverse: a whole entity set, any ``$select``."""


@dataclass(frozen=True)
class DeltaToken:
    since_ms: int
    """Every change with a stamp up to this (ms since 1970) has been delivered."""
    initial: bool
    """True while paging through the initial read (its context URL has no ``/$delta``)."""
    removals_ms: int | None = None
    """Removals (deletes) after this stamp are still to be sent; None: the same as ``since_ms``."""

    @property
    def removals_since_ms(self) -> int:
        return self.since_ms if self.removals_ms is None else self.removals_ms


def _digest(select: str) -> str:
    return hashlib.sha256(select.encode()).hexdigest()[:16]


def encode(token: DeltaToken, select: str) -> str:
    raw = orjson.dumps({"s": token.since_ms, "h": token.removals_since_ms, "i": token.initial, "q": _digest(select)})
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(text: str, select: str) -> DeltaToken:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        since = int(raw["s"])
        token = DeltaToken(since_ms=since, initial=bool(raw["i"]), removals_ms=int(raw.get("h", since)))
        digest = raw["q"]
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, orjson.JSONDecodeError):
        raise InvalidQuery(
            "The $deltatoken is not one this server issued; start again with Prefer: odata.track-changes.",
            code="InvalidDeltaToken",
            target="$deltatoken",
        ) from None
    if digest != _digest(select):
        raise InvalidQuery(
            "The $deltatoken was issued for another $select; follow the deltaLink exactly as given.",
            code="InvalidDeltaToken",
            target="$deltatoken",
        )
    return token


def check_options(names: list[str]) -> None:
    extra = sorted(name for name in names if name.startswith("$") and name not in ALLOWED)
    if extra:
        raise InvalidQuery(
            f"Change tracking works on a whole entity set with $select only; remove {', '.join(extra)}.",
            code="InvalidQueryOption",
            target=extra[0],
        )
