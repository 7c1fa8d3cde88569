"""Rendering replies: JSON with orjson (or Odyssee XML on request), always with ``OData-Version``."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from odyssee.api.messages import Reply
from odyssee.api.negotiation import Format
from odyssee.model.errors import NotAcceptable
from odyssee.odata import xml

JSON = "application/json; odata.metadata=minimal; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
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
    if reply.shape == "raw":
        return bytes(reply.body), reply.media_type or "application/octet-stream"
    if fmt == "xml" and reply.shape in ("entity", "collection"):
        return render_xml(reply), xml.MEDIA_TYPE
    return orjson.dumps(reply.body), JSON


def render_xml(reply: Reply) -> bytes:
    """The Odyssee XML of an entity or collection reply (reference.md §2.4)."""
    if reply.spec is None:
        raise NotAcceptable(
            "This result (an $apply aggregation) has no Odyssee XML form; ask for application/json.",
            code="NotAcceptable",
        )
    body = reply.body
    if reply.shape == "entity":
        return xml.entity_to_xml(reply.spec, body)
    return xml.collection_to_xml(
        reply.spec, body["value"], count=body.get("@odata.count"), next_link=body.get("@odata.nextLink")
    )


def render(reply: Reply, fmt: Format) -> Response:
    content, media_type = encode(reply, fmt)
    headers = {**VERSION, **reply.headers}
    if media_type is None:
        return Response(status_code=reply.status, headers=headers)
    return Response(content, status_code=reply.status, media_type=media_type, headers=headers)
