"""HTTP compression both ways through the real app (reference.md §2.10).

httpx decodes compressed responses by itself, so tests that check the bytes on the wire read
them with ``stream`` + ``iter_raw``.
"""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import orjson
import pytest

from odyssee.api.compression import choose_encoding, decompress
from odyssee.model.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from tests.conftest import Tenant
from tests.factories import Factory


def _raw_get(tenant: Tenant, url: str, accept_encoding: str) -> tuple[Any, bytes]:
    headers = {**tenant.headers, "Accept-Encoding": accept_encoding}
    with tenant.client.stream("GET", url, headers=headers) as response:
        return response, b"".join(response.iter_raw())


def _send(tenant: Tenant, method: str, url: str, body: bytes, encoding: str, **headers: str) -> Any:
    return tenant.client.request(
        method,
        url,
        content=body,
        headers={**tenant.headers, "Content-Type": "application/json", "Content-Encoding": encoding, **headers},
    )


@pytest.fixture
def companies(make: Factory) -> None:
    """Enough rows that a list page is well above the compression threshold."""
    for _ in range(5):
        make("Company")


@pytest.mark.parametrize(("encoding", "inflate"), [("gzip", gzip.decompress), ("deflate", zlib.decompress)])
@pytest.mark.usefixtures("companies")
def test_a_large_list_is_compressed_as_asked(tenant: Tenant, encoding: str, inflate: Any) -> None:
    plain = tenant.get("/api/Company", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert len(plain.content) > 2000
    assert plain.headers["Vary"] == "Accept-Encoding", "the uncompressed body varies by the coding asked too"
    assert int(plain.headers["Content-Length"]) == len(plain.content)

    response, raw = _raw_get(tenant, "/api/Company", encoding)

    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["OData-Version"] == "4.0"
    assert response.headers["Content-Type"].startswith("application/json")
    assert int(response.headers["Content-Length"]) == len(raw)
    assert len(raw) < len(plain.content) / 3
    assert orjson.loads(inflate(raw)) == plain.json()


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        ("gzip, deflate", "gzip"),
        ("deflate, gzip", "gzip"),
        ("gzip;q=0.5, deflate;q=0.9", "deflate"),
        ("gzip;q=0, deflate", "deflate"),
        ("x-gzip", "gzip"),
        ("*", "gzip"),
        ("br, *;q=0.2", "gzip"),
        ("gzip;q=0.4, identity;q=0.8", None),
        ("identity", None),
        ("br", None),
        ("gzip;q=0, deflate;q=0", None),
        ("*;q=0", None),
    ],
)
@pytest.mark.usefixtures("companies")
def test_the_coding_follows_the_q_values(tenant: Tenant, accept_encoding: str, expected: str | None) -> None:
    response, raw = _raw_get(tenant, "/api/Company", accept_encoding)
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == expected
    if expected is None:
        assert orjson.loads(raw)["value"], "an uncompressed body is the plain JSON"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("GZIP", "gzip"),
        ("gzip;q=0.5", "gzip"),
        ("deflate;q=1, gzip;q=1", "gzip"),
        ("deflate;q=0.8, gzip;q=0.7", "deflate"),
        ("identity;q=0, deflate;q=0.1", "deflate"),
        ("gzip;q=garbled, deflate;q=0.1", "deflate"),
        ("gzip;q=0.3, *;q=0.3", "gzip"),
        ("compress, br", None),
    ],
)
def test_choose_encoding(header: str | None, expected: str | None) -> None:
    assert choose_encoding(header) == expected


def test_a_small_body_is_not_compressed(tenant: Tenant, make: Factory) -> None:
    created = make("ArticleCategory")
    response, raw = _raw_get(tenant, f"/api/ArticleCategory({created['id']})?$select=id", "gzip")
    assert response.status_code == 200
    assert len(raw) < 500
    assert "content-encoding" not in response.headers
    assert response.headers["Vary"] == "Accept-Encoding"
    assert orjson.loads(raw)["id"] == created["id"]


def test_a_client_refusing_identity_gets_even_a_small_body_compressed(tenant: Tenant, make: Factory) -> None:
    created = make("ArticleCategory")
    response, raw = _raw_get(tenant, f"/api/ArticleCategory({created['id']})?$select=id", "gzip, identity;q=0")
    assert response.headers["Content-Encoding"] == "gzip"
    assert orjson.loads(gzip.decompress(raw))["id"] == created["id"]


def test_no_content_responses_are_left_alone(tenant: Tenant, make: Factory) -> None:
    created = make("JobType")
    response = tenant.delete(f"/api/JobType({created['id']})", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 204
    assert "content-encoding" not in response.headers
    assert response.content == b""


def test_a_large_error_is_compressed_and_keeps_the_odata_shape(tenant: Tenant) -> None:
    response, raw = _raw_get(tenant, "/api/Company?$filter=" + "x" * 600 + " eq 1", "gzip")
    assert response.status_code == 400
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["OData-Version"] == "4.0"
    assert set(orjson.loads(gzip.decompress(raw))["error"]) == {"code", "message", "target", "details"}


# --- compressed requests -------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "GZip"])
def test_a_gzip_post_body_creates_the_entity(tenant: Tenant, make: Factory, encoding: str) -> None:
    body = make.body("ArticleCategory")
    response = _send(tenant, "POST", "/api/ArticleCategory", gzip.compress(orjson.dumps(body)), encoding)
    assert response.status_code == 201, response.text
    created = response.json()
    assert {name: created[name] for name in body} == body
    assert tenant.get(f"/api/ArticleCategory({created['id']})").json()["name"] == body["name"]


@pytest.mark.parametrize(
    "deflate",
    [zlib.compress, lambda data: zlib.compress(data)[2:-4]],
    ids=["zlib", "raw"],
)
def test_a_deflate_put_body_replaces_the_entity(tenant: Tenant, make: Factory, deflate: Any) -> None:
    created = make("ArticleCategory")
    body = {"id": created["id"], "code": created["code"], "name": "renamed by a deflated PUT"}
    response = _send(tenant, "PUT", f"/api/ArticleCategory({created['id']})", deflate(orjson.dumps(body)), "deflate")
    assert response.status_code == 200, response.text
    assert tenant.get(f"/api/ArticleCategory({created['id']})").json()["name"] == "renamed by a deflated PUT"


def test_a_body_compressed_twice_is_decoded_in_order(tenant: Tenant, make: Factory) -> None:
    body = make.body("ArticleCategory")
    twice = zlib.compress(gzip.compress(orjson.dumps(body)))
    response = _send(tenant, "POST", "/api/ArticleCategory", twice, "gzip, deflate")
    assert response.status_code == 201, response.text


def test_a_zip_bomb_is_payload_too_large(tenant: Tenant, make: Factory) -> None:
    before = tenant.rows("ArticleCategory")
    body = make.body("ArticleCategory")
    padded = orjson.dumps({**body, "name": body["name"] + " " * 10_000_000})
    bomb = gzip.compress(padded)
    assert len(bomb) < 64 * 1024 < len(padded), "small on the wire, far above the test app's 64 KiB limit"
    response = _send(tenant, "POST", "/api/ArticleCategory", bomb, "gzip")
    assert response.status_code == 413
    assert response.headers["OData-Version"] == "4.0"
    error = response.json()["error"]
    assert error["code"] == "PayloadTooLarge"
    assert error["message"] == f"The gzip-compressed request body expands beyond the limit of {64 * 1024} bytes."
    assert tenant.rows("ArticleCategory") == before


def test_a_compressed_body_larger_than_the_limit_is_refused_before_inflating(tenant: Tenant) -> None:
    response = _send(tenant, "POST", "/api/ArticleCategory", b"\x00" * (64 * 1024 + 1), "gzip")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PayloadTooLarge"


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", b"this is not gzip"),
        ("gzip", gzip.compress(b'{"name": "x"}')[:-6]),
        ("deflate", b"\x78\x9c garbage"),
        ("gzip", gzip.compress(b'{"name": "x"}') + b"junk"),
    ],
    ids=["not-gzip", "truncated", "bad-deflate", "trailing-junk"],
)
def test_corrupt_compressed_data_is_a_400(tenant: Tenant, encoding: str, body: bytes) -> None:
    response = _send(tenant, "POST", "/api/ArticleCategory", body, encoding)
    assert response.status_code == 400
    assert response.headers["OData-Version"] == "4.0"
    error = response.json()["error"]
    assert error["code"] == "CorruptContentEncoding"
    assert error["message"].startswith(f"The request body is not valid {encoding} data (")


@pytest.mark.parametrize("encoding", ["br", "compress", "gzip, zstd"])
def test_an_unknown_content_encoding_is_a_415(tenant: Tenant, encoding: str) -> None:
    response = _send(tenant, "POST", "/api/ArticleCategory", b"whatever", encoding)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UnsupportedEncoding"


def test_identity_content_encoding_passes_through(tenant: Tenant, make: Factory) -> None:
    body = make.body("ArticleCategory")
    response = _send(tenant, "POST", "/api/ArticleCategory", orjson.dumps(body), "identity")
    assert response.status_code == 201, response.text


def test_decompress_caps_the_output_exactly() -> None:
    data = b"a" * 1000
    assert decompress(gzip.compress(data), ["gzip"], limit=1000) == data
    with pytest.raises(PayloadTooLarge):
        decompress(gzip.compress(data), ["gzip"], limit=999)
    with pytest.raises(InvalidInput):
        decompress(b"", ["deflate"], limit=1000)
    with pytest.raises(UnsupportedMediaType):
        decompress(data, ["identity", "br"], limit=1000)
    assert decompress(gzip.compress(b"one") + gzip.compress(b"two"), ["gzip"], limit=10) == b"onetwo"
