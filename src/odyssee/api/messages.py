"""A request and its reply, independent of the transport that carried them.

The same :class:`Call` comes from a plain HTTP request or from one part of a ``$batch``, so
both are served by exactly the same code (:mod:`odyssee.api.resources`). A :class:`Reply`
keeps the entity it describes, so that it can be rendered as JSON or as Odyssee XML at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.datastructures import Headers

from odyssee.model.registry import EntitySpec

Shape = Literal["entity", "collection", "text", "empty", "document", "raw"]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    """Relative to the service root, without a leading slash: ``Company``, ``Jobs(…)``, ``Company/$count``."""
    query: dict[str, str]
    headers: Headers
    body: bytes
    root: str
    """The service root URL, ``http://host/api/``; links and ``@odata.context`` start with it."""

    @property
    def writes(self) -> bool:
        return self.method not in ("GET", "HEAD")


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    shape: Shape = "document"
    spec: EntitySpec | None = None
    """The entity an ``entity`` or ``collection`` reply holds, for XML rendering."""
    media_type: str | None = None
    """The content type of a ``raw`` reply (file bytes)."""
