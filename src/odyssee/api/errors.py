"""The one place that turns failures into HTTP responses, always as the OData error JSON:
``{"error": {"code": ..., "message": ..., "target": ..., "details": [...]}}``."""

from __future__ import annotations

import logging
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from odyssee.api.responses import json_response
from odyssee.model import errors

log = logging.getLogger("odyssee.api")

STATUS: dict[type[errors.OdysseeError], int] = {
    errors.InvalidInput: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.NotAllowed: 405,
    errors.NotAcceptable: 406,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.PreconditionFailed: 412,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.UnknownReference: 422,
    errors.TooManyRequests: 429,
    errors.NotImplementedFeature: 501,
    errors.QueryTimeout: 503,
    errors.ServerBusy: 503,
}


def status_of(error: errors.OdysseeError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(error: errors.OdysseeError, status: int | None = None) -> Response:
    status = status or status_of(error)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="odyssee", charset="UTF-8"'
    if isinstance(error, errors.TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    return json_response({"error": error.as_dict()}, status=status, headers=headers)


def install(app: Starlette) -> None:
    async def _odyssee(_request: Request, error: errors.OdysseeError) -> Response:
        return error_response(error)

    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        phrase = HTTPStatus(error.status_code).phrase
        message = f"No resource at {request.url.path}." if error.status_code == 404 else f"{phrase}: {error.detail}"
        response = error_response(
            errors.OdysseeError(message, code=phrase.replace(" ", "")),
            error.status_code,
        )
        if error.headers:
            response.headers.update(error.headers)
        return response

    async def _unexpected(_request: Request, error: Exception) -> Response:
        log.exception("unexpected error")
        return error_response(
            errors.OdysseeError(
                "An unexpected error occurred; it has been logged.",
                code="InternalError",
            ),
            500,
        )

    # Starlette types handlers as taking any Exception; each of these is registered for its own class.
    app.add_exception_handler(errors.OdysseeError, _odyssee)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
