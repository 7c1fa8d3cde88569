"""HTTP Basic with the Odyssee twist: the user name carries the tenant, ``username:password@domain``.

Parsing rule (reference.md §2.3): the user name is the text before the first ``:``; the domain is
the text after the *last* ``@``; the password is what lies between. So e-mail user names and
passwords containing ``@`` both work: ``test@sampleapi.com:p@ss@SAMPLEAPI``.
"""

from __future__ import annotations

import base64
import binascii

from odyssee.model.errors import Unauthorized


def parse_basic(header: str | None) -> tuple[str, str, str]:
    """``(username, password, domain)`` from an ``Authorization`` header, or 401."""
    if not header:
        raise Unauthorized(
            "Authentication required: send 'Authorization: Basic base64(username:password@domain)'.",
            code="Unauthorized",
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        raise Unauthorized("Only HTTP Basic authentication is supported.", code="Unauthorized")
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Unauthorized("The Basic credentials are not valid base64.", code="Unauthorized") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    username, colon, rest = text.partition(":")
    password, at, domain = rest.rpartition("@")
    if not colon or not at or not username or not domain:
        raise Unauthorized(
            "The Basic credentials must read 'username:password@domain'.",
            code="Unauthorized",
        )
    return username, password, domain
