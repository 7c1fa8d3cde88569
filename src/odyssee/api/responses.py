"""Rendering replies: JSON with orjson (or Odyssee XML on request), always with ``OData-Version``."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from odyssee.api.messages import Reply
from odyssee.api.negotiation import Format

JSON = "application/json; odata.metadata=minimal; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
XML = "application/xml; charset=utf-8"
VERSION = {"OData-Version": "4.0"}


def json_response(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers={**VERSION, **(headers or {})})


def empty_response(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, headers={**VERSION, **(headers or {})})


def encode(reply: Reply, fmt: Format) -> tuple[bytes, str | None]:
    """The bytes and media type of a reply's body (``None`` media type: no body)."""
    if reply.shape == "empty" or reply.status in (204, 304):
        return b"", None
    if reply.shape == "text":
        return str(reply.body).encode(), TEXT
    if fmt == "xml" and reply.spec is not None and reply.shape in ("entity", "collection"):
        return render_xml(reply), XML
    return orjson.dumps(reply.body), JSON


def render_xml(reply: Reply) -> bytes:
    raise NotImplementedError


def render(reply: Reply, fmt: Format) -> Response:
    content, media_type = encode(reply, fmt)
    headers = {**VERSION, **reply.headers}
    if media_type is None:
        return Response(status_code=reply.status, headers=headers)
    return Response(content, status_code=reply.status, media_type=media_type, headers=headers)
