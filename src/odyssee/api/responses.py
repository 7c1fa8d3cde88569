"""JSON responses rendered with orjson, carrying the OData headers."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

JSON = "application/json; odata.metadata=minimal; charset=utf-8"


def json_response(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=JSON,
        headers={"OData-Version": "4.0", **(headers or {})},
    )


def empty_response(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, headers={"OData-Version": "4.0", **(headers or {})})
