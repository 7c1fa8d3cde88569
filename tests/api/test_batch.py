"""``$batch`` in the JSON and multipart formats: order, atomic change sets, references, limits."""

from __future__ import annotations

from typing import Any

import orjson

from tests.conftest import Tenant
from tests.factories import Factory


def batch(tenant: Tenant, requests: list[dict[str, Any]], **headers: str) -> Any:
    response = tenant.client.post(
        "/api/$batch",
        content=orjson.dumps({"requests": requests}),
        headers={**tenant.headers, "Content-Type": "application/json", **headers},
    )
    return response


def test_json_batch_runs_requests_in_order(tenant: Tenant, make: Factory) -> None:
    company = make("Company", name="Acme")
    response = batch(
        tenant,
        [
            {"id": "1", "method": "POST", "url": "JobType", "body": {"name": "Repair"}},
            {"id": "2", "method": "GET", "url": f"Company({company['id']})?$select=name"},
            {"id": "3", "method": "PATCH", "url": f"/api/Company({company['id']})", "body": {"city": "Gent"}},
            {"id": "4", "method": "GET", "url": "Company/$count"},
            {"id": "5", "method": "GET", "url": "http://testserver/api/JobType?$filter=name eq 'Repair'"},
        ],
    )
    assert response.status_code == 200 and response.headers["OData-Version"] == "4.0"
    replies = {r["id"]: r for r in response.json()["responses"]}
    assert replies["1"]["status"] == 201 and replies["1"]["body"]["name"] == "Repair"
    assert replies["1"]["headers"]["Location"].endswith(f"JobType({replies['1']['body']['id']})")
    assert replies["2"]["body"]["name"] == "Acme"
    assert replies["3"]["status"] == 200 and replies["3"]["body"]["city"] == "Gent"
    assert replies["4"]["body"] == "1"
    assert [r["name"] for r in replies["5"]["body"]["value"]] == ["Repair"]


def test_atomicity_group_is_all_or_nothing(tenant: Tenant, make: Factory) -> None:
    before = tenant.rows("JobType")
    response = batch(
        tenant,
        [
            {"id": "a", "atomicityGroup": "g", "method": "POST", "url": "JobType", "body": {"name": "One"}},
            {"id": "b", "atomicityGroup": "g", "method": "POST", "url": "JobType", "body": {"name": ""}},
            {"id": "c", "atomicityGroup": "g", "method": "POST", "url": "JobType", "body": {"name": "Three"}},
        ],
    )
    replies = {r["id"]: r for r in response.json()["responses"]}
    assert replies["b"]["status"] == 400 and replies["b"]["body"]["error"]["code"]
    assert replies["a"]["status"] == 424 and replies["c"]["status"] == 424
    assert tenant.rows("JobType") == before, "nothing of the failed group remains"


def test_references_to_earlier_requests(tenant: Tenant, make: Factory) -> None:
    status = make("ProjectStatus", name="Active")
    response = batch(
        tenant,
        [
            {"id": "c", "atomicityGroup": "g", "method": "POST", "url": "Company", "body": {"name": "New Co"}},
            {
                "id": "p",
                "atomicityGroup": "g",
                "dependsOn": ["c"],
                "method": "POST",
                "url": "Project",
                "body": {"name": "Site", "company_id": "$c", "project_status_id": status["id"]},
            },
            {"id": "u", "dependsOn": ["c"], "method": "PATCH", "url": "$c", "body": {"city": "Gent"}},
        ],
    )
    replies = {r["id"]: r for r in response.json()["responses"]}
    assert [replies[k]["status"] for k in "cpu"] == [201, 201, 200], replies
    company_id = replies["c"]["body"]["id"]
    assert replies["p"]["body"]["company_id"] == company_id
    assert replies["u"]["body"]["city"] == "Gent"


def test_stops_at_first_failure_unless_continue_on_error(tenant: Tenant) -> None:
    requests = [
        {"id": "1", "method": "POST", "url": "JobType", "body": {"nope": 1}},
        {"id": "2", "method": "POST", "url": "JobType", "body": {"name": "After"}},
    ]
    stopped = batch(tenant, requests).json()["responses"]
    assert [r["id"] for r in stopped] == ["1"] and stopped[0]["status"] == 400
    assert tenant.rows("JobType") == []
    going = batch(tenant, requests, Prefer="odata.continue-on-error")
    assert going.headers["Preference-Applied"] == "odata.continue-on-error"
    assert [r["status"] for r in going.json()["responses"]] == [400, 201]


def test_failed_dependency_is_424(tenant: Tenant) -> None:
    replies = batch(
        tenant,
        [
            {"id": "1", "method": "POST", "url": "JobType", "body": {"name": ""}},
            {"id": "2", "dependsOn": ["1"], "method": "PATCH", "url": "$1", "body": {"name": "x"}},
        ],
        Prefer="odata.continue-on-error",
    ).json()["responses"]
    assert [r["status"] for r in replies] == [400, 424]


def test_limits_and_malformed_batches(tenant: Tenant) -> None:
    too_many = [{"id": str(i), "method": "GET", "url": "JobType/$count"} for i in range(1001)]
    response = batch(tenant, too_many)
    assert response.status_code == 400 and "at most 1000" in response.json()["error"]["message"]
    assert batch(tenant, too_many[:1000]).status_code == 200
    for body in (b"{", b"[]", b'{"requests": [{"method": "FLY", "url": "x"}]}', b'{"requests": []}'):
        bad = tenant.client.post(
            "/api/$batch", content=body, headers={**tenant.headers, "Content-Type": "application/json"}
        )
        assert bad.status_code == 400, body
    assert (
        tenant.client.post(
            "/api/$batch", content=b"x", headers={**tenant.headers, "Content-Type": "text/plain"}
        ).status_code
        == 415
    )
    unauthenticated = tenant.client.post("/api/$batch", content=b"{}", headers={"Content-Type": "application/json"})
    assert unauthenticated.status_code == 401
    duplicate = [{"id": "1", "method": "GET", "url": "JobType"}, {"id": "1", "method": "GET", "url": "JobType"}]
    assert batch(tenant, duplicate).status_code == 400


MULTIPART = (
    "--batch_1\r\n"
    "Content-Type: multipart/mixed; boundary=changeset_1\r\n"
    "\r\n"
    "--changeset_1\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "Content-ID: 1\r\n"
    "\r\n"
    "POST JobType HTTP/1.1\r\n"
    "Content-Type: application/json\r\n"
    "\r\n"
    '{"name": "Installation"}\r\n'
    "--changeset_1\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "Content-ID: 2\r\n"
    "\r\n"
    "PATCH $1 HTTP/1.1\r\n"
    "Content-Type: application/json\r\n"
    "\r\n"
    '{"code": "INST"}\r\n'
    "--changeset_1--\r\n"
    "--batch_1\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "GET JobType?$select=name,code HTTP/1.1\r\n"
    "Accept: application/json\r\n"
    "\r\n"
    "\r\n"
    "--batch_1--\r\n"
)


def _multipart(tenant: Tenant, body: str) -> Any:
    return tenant.client.post(
        "/api/$batch",
        content=body.encode(),
        headers={**tenant.headers, "Content-Type": "multipart/mixed; boundary=batch_1"},
    )


def test_multipart_batch_with_a_change_set(tenant: Tenant) -> None:
    response = _multipart(tenant, MULTIPART)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("multipart/mixed; boundary=batchresponse_")
    text = response.text
    assert "HTTP/1.1 201 Created" in text and "HTTP/1.1 200 OK" in text
    assert "Content-ID: 1" in text and "Content-ID: 2" in text
    assert "changesetresponse_" in text
    rows = tenant.rows("JobType")
    assert [(r["name"], r["code"]) for r in rows] == [("Installation", "INST")]
    assert '"code":"INST"' in text.split("HTTP/1.1 200 OK")[-1], "the GET after the change set sees it"


def test_multipart_failed_change_set_answers_one_error_and_leaves_nothing(tenant: Tenant) -> None:
    failing = MULTIPART.replace('{"code": "INST"}', '{"code": 5}')
    response = _multipart(tenant, failing)
    assert response.status_code == 200
    assert "HTTP/1.1 400 Bad Request" in response.text and "changesetresponse_" not in response.text
    assert "HTTP/1.1 201" not in response.text
    assert tenant.rows("JobType") == []


def test_malformed_multipart_is_400(tenant: Tenant) -> None:
    for body in ("no delimiter at all", "--batch_1\r\nContent-Type: text/plain\r\n\r\nhello\r\n--batch_1--\r\n"):
        assert _multipart(tenant, body).status_code == 400
    unterminated = MULTIPART.replace("--batch_1--\r\n", "")
    assert _multipart(tenant, unterminated).status_code == 400
