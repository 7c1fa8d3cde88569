"""HTTP compression in both directions (reference.md §2.10), as one pure ASGI middleware.

Responses: gzip or deflate, chosen from ``Accept-Encoding`` with its q-values (RFC 9110
§12.5.3), for compressible media types above a small size, with ``Content-Encoding``,
``Vary: Accept-Encoding`` and the compressed ``Content-Length``. Starlette's GZipMiddleware does
gzip only and ignores q-values, hence our own; our responses are never streamed, so buffering
one whole body costs nothing extra.

Requests: a ``Content-Encoding: gzip`` (``x-gzip``) or ``deflate`` body is decompressed before
the application sees it, never beyond ``max_body_bytes`` (a zip bomb is a 413, not an
out-of-memory); the downstream app sees a plain body with a corrected ``Content-Length`` and no
``Content-Encoding``. Corrupt data is a 400 and an unknown coding a 415, rendered as the same
OData error JSON as every other error (``api/errors.py``).
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from odyssee.api.errors import error_response
from odyssee.model.errors import InvalidInput, OdysseeError, PayloadTooLarge, UnsupportedMediaType

MINIMUM_SIZE = 500
"""Below this many bytes compression saves too little to pay for itself."""
COMPRESS_LEVEL = 6
"""zlib's default: nearly all of level 9's saving at a fraction of the CPU."""
ENCODINGS = ("gzip", "deflate")
"""What we produce, in order of preference when a client accepts both equally."""
_ALIASES = {"x-gzip": "gzip"}
_COMPRESSIBLE = re.compile(r"^(text/.*|application/(.*\+)?(json|xml)|application/javascript|image/svg\+xml)$")
_NO_BODY_STATUSES = frozenset({204, 304})


def choose_encoding(accept_encoding: str | None) -> str | None:
    """The content coding to answer with: ``gzip``, ``deflate`` or None (identity).

    Highest q wins; gzip beats deflate beats identity on a tie. ``*`` stands for every coding
    not named; ``q=0`` refuses a coding. Identity only competes when the client weighs it
    (``identity;q=…`` or ``*``): ``gzip;q=0.5`` alone still means "gzip, please". When it is
    refused and nothing else is acceptable we still answer uncompressed (RFC 9110 §12.5.3: the
    server SHOULD then send no content coding rather than fail).
    """
    if not accept_encoding:
        return None
    weights = _weights(accept_encoding)
    star = weights.get("*")
    identity = weights.get("identity", star)
    best: str | None = None
    best_q = 0.0
    for coding in ENCODINGS:
        q = weights.get(coding, star if star is not None else 0.0)
        if q > best_q:
            best, best_q = coding, q
    if identity is not None and identity > best_q:
        return None
    return best


def identity_refused(accept_encoding: str | None) -> bool:
    """Whether the client said it cannot take an uncompressed body (``identity;q=0`` or ``*;q=0``)."""
    if not accept_encoding:
        return False
    weights = _weights(accept_encoding)
    return weights.get("identity", weights.get("*", 1.0)) == 0


def _weights(accept_encoding: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        if not coding:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0  # a garbled weight is no consent
        coding = _ALIASES.get(coding.lower(), coding.lower())
        weights[coding] = max(q, weights.get(coding, 0.0))
    return weights


def compress(body: bytes, encoding: str) -> bytes:
    """``gzip`` (RFC 1952, fixed mtime so equal bodies give equal bytes) or ``deflate`` (RFC 1950 zlib)."""
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=COMPRESS_LEVEL, mtime=0)
    return zlib.compress(body, COMPRESS_LEVEL)


def decompress(body: bytes, codings: Iterable[str], limit: int) -> bytes:
    """Undo the content codings, in the reverse of the order they were applied, never producing
    more than ``limit`` bytes. Raises PayloadTooLarge, InvalidInput (corrupt) or UnsupportedMediaType."""
    applied = [_ALIASES.get(c, c) for c in codings if c not in ("", "identity")]
    unknown = [c for c in applied if c not in ENCODINGS]
    if unknown:
        raise UnsupportedMediaType(
            f"Content-Encoding '{unknown[0]}' is not supported; send gzip, deflate or an uncompressed body.",
            code="UnsupportedEncoding",
        )
    for coding in reversed(applied):
        body = _inflate(body, coding, limit)
    return body


def _inflate(data: bytes, coding: str, limit: int) -> bytes:
    out = bytearray()
    while True:
        inflater = zlib.decompressobj(_window_bits(data, coding))
        try:
            chunk = inflater.decompress(data, limit + 1 - len(out))
            out.extend(chunk)
            while inflater.unconsumed_tail and len(out) <= limit:
                out.extend(inflater.decompress(inflater.unconsumed_tail, limit + 1 - len(out)))
        except zlib.error as error:
            raise _corrupt(coding, str(error)) from None
        if len(out) > limit:
            raise PayloadTooLarge(
                f"The {coding}-compressed request body expands beyond the limit of {limit} bytes.",
                code="PayloadTooLarge",
            )
        if not inflater.eof:
            raise _corrupt(coding, "the data is truncated")
        data = inflater.unused_data
        if coding != "gzip" or not data:
            break  # gzip alone may concatenate members (RFC 1952 §2.2); anything else after the end is junk
    if data:
        raise _corrupt(coding, f"{len(data)} bytes follow the end of the compressed data")
    return bytes(out)


def _window_bits(data: bytes, coding: str) -> int:
    """gzip; zlib-wrapped deflate as HTTP defines it; or raw deflate, which some clients send."""
    if coding == "gzip":
        return 16 + zlib.MAX_WBITS
    zlib_header = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
    return zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS


def _corrupt(coding: str, reason: str) -> InvalidInput:
    return InvalidInput(
        f"The request body is not valid {coding} data ({reason}).",
        code="CorruptContentEncoding",
    )


class CompressionMiddleware:
    """Compress responses and decompress requests; see the module docstring for the rules."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, minimum_size: int = MINIMUM_SIZE) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if headers.get("content-encoding", "").strip().lower() not in ("", "identity"):
            try:
                scope, receive = await self._decompressed(scope, receive, headers)
            except OdysseeError as error:
                await error_response(error)(scope, receive, send)
                return
        if scope["method"] == "HEAD":  # no body to measure or compress; the GET carries the truth
            await self.app(scope, receive, send)
            return
        responder = _Responder(send, headers.get("accept-encoding"), self.minimum_size)
        await self.app(scope, receive, responder.send)

    async def _decompressed(self, scope: Scope, receive: Receive, headers: Headers) -> tuple[Scope, Receive]:
        codings = [c.strip().lower() for c in headers["content-encoding"].split(",")]
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise PayloadTooLarge(
                f"The request body is {declared} bytes; the limit is {self.max_body_bytes}.",
                code="PayloadTooLarge",
            )
        compressed = await _read_body(receive, self.max_body_bytes)
        body = decompress(compressed, codings, self.max_body_bytes)
        dropped = (b"content-encoding", b"content-length")
        raw = [(name, value) for name, value in scope["headers"] if name.lower() not in dropped]
        raw.append((b"content-length", str(len(body)).encode("latin-1")))
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # http.disconnect, when the client goes away
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return {**scope, "headers": raw}, replay


async def _read_body(receive: Receive, limit: int) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        body.extend(message.get("body", b""))
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.", code="PayloadTooLarge")
        if not message.get("more_body", False):
            break
    return bytes(body)


def _varying(start: Message) -> Message:
    """``start`` with ``Vary: Accept-Encoding``: a cache must not hand this body to a client that
    asked for another coding."""
    headers = MutableHeaders(raw=list(start.get("headers", [])))
    headers.add_vary_header("Accept-Encoding")
    return {**start, "headers": headers.raw}


class _Responder:
    """Wraps ``send``: holds back a compressible response until its whole body is known."""

    def __init__(self, send: Send, accept_encoding: str | None, minimum_size: int) -> None:
        self._send = send
        self._encoding = choose_encoding(accept_encoding)
        self._force = identity_refused(accept_encoding)
        self._minimum_size = minimum_size
        self._start: Message | None = None
        self._body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if self._eligible(message):
                if self._encoding is None:  # identity: nothing to measure or hold back
                    await self._send(_varying(message))
                    return
                self._start = message
                return
        elif message["type"] == "http.response.body" and self._start is not None:
            self._body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._flush()
            return
        await self._send(message)

    def _eligible(self, start: Message) -> bool:
        headers = Headers(raw=start.get("headers", []))
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        return (
            start["status"] >= 200
            and start["status"] not in _NO_BODY_STATUSES
            and "content-encoding" not in headers
            and "no-transform" not in headers.get("cache-control", "").lower()
            and bool(_COMPRESSIBLE.match(media_type))
        )

    async def _flush(self) -> None:
        assert self._start is not None
        start, body = _varying(self._start), bytes(self._body)
        headers = MutableHeaders(raw=start["headers"])
        if self._encoding is not None and (len(body) >= self._minimum_size or self._force):
            body = compress(body, self._encoding)
            headers["Content-Encoding"] = self._encoding
            etag = headers.get("etag")
            if etag and not etag.startswith("W/"):
                headers["ETag"] = f"W/{etag}"  # the bytes differ from the identity representation
        headers["Content-Length"] = str(len(body))
        self._start = None
        await self._send({**start, "headers": headers.raw})
        await self._send({"type": "http.response.body", "body": body, "more_body": False})


__all__ = ["CompressionMiddleware", "choose_encoding", "compress", "decompress", "identity_refused"]
