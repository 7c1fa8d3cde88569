"""The sync Client against the real app in-process (the TestClient is an httpx.Client)."""

from __future__ import annotations

import base64
import gzip
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from odyssee.client import (
    Client,
    Conflict,
    F,
    InvalidInput,
    NotFound,
    ODataError,
    PreconditionFailed,
    Unauthorized,
)
from odyssee.client.entities import CompanyDict
from tests.client.conftest import PASSWORD, USERNAME
from tests.conftest import Tenant


def _recorder(http: httpx.Client) -> list[httpx.Request]:
    sent: list[httpx.Request] = []
    http.event_hooks["request"].append(sent.append)
    return sent


def test_crud(client: Client) -> None:
    companies = client.set("Company")
    created = companies.create({"name": "Acme", "code": "C001", "city": "Leuven"})
    assert created["name"] == "Acme" and created["code"] == "C001"
    uuid.UUID(created["id"])  # the client chose it
    assert "@odata.context" not in created and created["@odata.etag"] == 'W/"1"'
    assert companies.get(created["id"]) == created
    assert companies.get(uuid.UUID(created["id"]))["id"] == created["id"]

    replaced = companies.update(created["id"], {"name": "Acme NV", "code": "C001"})
    assert replaced["name"] == "Acme NV" and replaced["city"] == ""  # PUT replaces: city back to its default
    patched = companies.patch(created["id"], {"city": "Gent"})
    assert patched is not None and patched["city"] == "Gent" and patched["name"] == "Acme NV"
    assert companies.patch(created["id"], {"city": "Gent"}, minimal=True) is None

    job_types = client.set("JobType")
    job_type = job_types.create({"code": "X", "name": "Express"})
    assert job_types.delete(job_type["id"]) is None
    with pytest.raises(NotFound):
        job_types.get(job_type["id"])


def test_body_id_kept_and_values_serialised(client: Client) -> None:
    chosen = uuid.uuid4()
    created = client.set("Company").create({"id": chosen, "name": "Chosen", "credit_limit": 12.5})
    assert created["id"] == str(chosen) and created["credit_limit"] == 12.5


def test_select_expand_order_first(client: Client) -> None:
    companies = client.set("Company")
    acme = companies.create({"name": "Acme", "code": "A"})
    companies.create({"name": "Zeta", "code": "Z"})
    projects = client.set("Project")
    project = projects.create(
        {
            "name": "Boiler",
            "reference_back_office": "P1",
            "company_id": acme["id"],
            "project_status": {"code": "ACTIVE", "name": "Active"},
        }
    )
    rows = companies.select("name").order_by("name desc").list()
    assert [row["name"] for row in rows] == ["Zeta", "Acme"]
    assert set(rows[0]) == {"@odata.etag", "name"}
    assert companies.order_by("name").first()["name"] == "Acme"  # type: ignore[index]
    assert companies.filter(F("code") == "nobody").first() is None
    with_company = projects.select("name").expand("company($select=code)").get(project["id"])
    assert with_company["company"]["code"] == "A"
    listed = projects.expand("company").filter(F("company/code") == "A").list()
    assert [p["company"]["name"] for p in listed] == ["Acme"]


def test_paging_follows_next_links(client: Client, app_client: TestClient) -> None:
    companies = client.set("Company")
    made = [companies.create({"name": f"C{n}", "code": f"K{n}"}, minimal=True)["id"] for n in range(7)]
    sent = _recorder(app_client)
    rows = companies.order_by("code").page_size(2).list()
    assert [row["code"] for row in rows] == [f"K{n}" for n in range(7)]
    assert sorted(row["id"] for row in rows) == sorted(made)
    gets = [r for r in sent if r.method == "GET"]
    assert len(gets) == 4  # 2 + 2 + 2 + 1 rows
    assert all(r.headers["prefer"] == "odata.maxpagesize=2" for r in gets)
    assert "$skiptoken" in str(gets[1].url)

    sent.clear()
    assert [row["code"] for row in companies.order_by("code desc").top(5).page_size(2).iter()] == [
        f"K{n}" for n in (6, 5, 4, 3, 2)
    ]
    assert len(sent) == 3
    assert len(list(companies)) == 7  # default page size (20): one request
    assert companies.count() == 7
    assert companies.filter(F("code") > "K4").count() == 2
    assert companies.filter(F("code") > "K4").filter("name ne 'C6'").count() == 1


def test_one_page_at_a_time_with_the_skiptoken(client: Client) -> None:
    """A screen pages on demand: ``page()`` gives the rows, the count and the token for the next page."""
    companies = client.set("Company")
    for n in range(5):
        companies.create({"name": f"C{n}", "code": f"K{n}"}, minimal=True)
    query = companies.order_by("code").page_size(2).param("$count", "true")
    first = query.page()
    assert [row["code"] for row in first.rows] == ["K0", "K1"] and first.count == 5 and first.skiptoken
    second = query.param("$skiptoken", first.skiptoken).page()
    assert [row["code"] for row in second.rows] == ["K2", "K3"]
    last = query.param("$skiptoken", second.skiptoken or "").page()
    assert [row["code"] for row in last.rows] == ["K4"] and last.next_link is None and last.skiptoken is None


def test_alternate_keys_and_upsert(client: Client) -> None:
    companies = client.set("Company")
    created = companies.upsert("C'1", {"name": "Acme"})
    assert created["code"] == "C'1"
    again = companies.upsert("C'1", {"name": "Acme NV", "city": "Gent"})
    assert again["id"] == created["id"] and again["name"] == "Acme NV"
    assert companies.get_by_key("C'1")["city"] == "Gent"
    assert companies.count() == 1
    assert companies.upsert("C/2 #?", {"name": "Odd"}, minimal=True) == {"id": companies.get_by_key("C/2 #?")["id"]}
    with pytest.raises(NotFound):
        companies.get_by_key("missing")
    jobs_key = client.set("Jobs").get_by_key
    with pytest.raises(NotFound):
        jobs_key("WO-1")  # Jobs' key is reference_back_office
    with pytest.raises(ValueError, match="ERP key"):
        client.set("JobApproval").get_by_key("x")
    with pytest.raises(InvalidInput) as wrong_column:
        companies.get_by_key("Acme NV", key="name")
    assert wrong_column.value.code == "InvalidKey"


def test_minimal_create(client: Client) -> None:
    companies = client.set("Company")
    answer = companies.create({"name": "Lean", "code": "L"}, minimal=True)
    assert set(answer) == {"id"}
    assert companies.get(answer["id"])["name"] == "Lean"


def test_file_content(client: Client) -> None:
    data = bytes(range(256)) * 10
    files = client.set("DbFile")
    created = files.create({"name": "blob.bin", "file_name": "blob.bin", "file_content": data}, minimal=True)
    assert files.content(created["id"]) == data
    as_text = files.create({"name": "b64", "file_content": base64.b64encode(b"hello").decode()})
    assert files.content(as_text["id"]) == b"hello"
    assert "file_content" not in files.list()[0]  # listings leave the bytes out
    assert base64.b64decode(files.select("file_content").filter(F("name") == "b64").list()[0]["file_content"]) == (
        b"hello"
    )


def test_error_mapping(client: Client, tenant: Tenant, app_client: TestClient) -> None:
    companies = client.set("Company")
    with pytest.raises(NotFound) as not_found:
        companies.get(uuid.uuid4())
    assert not_found.value.status == 404 and not_found.value.code == "NotFound"
    assert not_found.value.response is not None and not_found.value.response.status_code == 404

    with pytest.raises(NotFound) as unknown:
        client.set("Nope").list()
    assert unknown.value.code == "UnknownController"

    companies.create({"name": "One", "code": "DUP"})
    with pytest.raises(Conflict) as conflict:
        companies.create({"name": "Two", "code": "DUP"})
    assert conflict.value.code == "DuplicateKey" and conflict.value.target == "code"

    with pytest.raises(InvalidInput) as invalid:
        companies.create({"name": "x" * 70, "colour": "red"})
    error = invalid.value
    assert error.status == 400 and error.code == "ValidationFailed"
    assert {(d["code"], d["target"]) for d in error.details} >= {("TooLong", "name"), ("UnknownProperty", "colour")}
    text = str(error)
    assert text.startswith("400 ValidationFailed: ") and "[name]" in text and "TooLong" in text

    with pytest.raises(InvalidInput) as syntax:
        companies.filter("name eq").list()
    assert syntax.value.code == "SyntaxError" and syntax.value.target == "$filter"

    with pytest.raises(InvalidInput) as unknown_reference:
        client.set("Contact").create({"lastname": "P", "company_id": str(uuid.uuid4())})
    assert unknown_reference.value.status == 422

    company = companies.create({"name": "Versioned"})
    companies.patch(company["id"], {"city": "Gent"})
    with pytest.raises(PreconditionFailed):
        companies.patch(company["id"], {"city": "Brugge"}, etag=company["@odata.etag"])
    with pytest.raises(ODataError) as refused:
        companies.delete(company["id"])
    assert refused.value.status == 405 and type(refused.value) is ODataError

    wrong = Client("http://testserver/api/", username=USERNAME, password="wrong", domain=tenant.domain, http=app_client)
    with pytest.raises(Unauthorized):
        wrong.set("Company").count()


def test_typed_set(client: Client) -> None:
    companies = client.typed_set(CompanyDict, "Company")
    body: CompanyDict = {"name": "Typed", "code": "TY", "is_client": True}
    created = companies.create(body)
    assert created["is_client"] is True
    assert companies.get_by_key("TY")["name"] == "Typed"


def test_batch_is_atomic(client: Client) -> None:
    answers = client.batch(
        [
            {"method": "POST", "url": "Company", "body": {"name": "New customer", "code": "B1"}},
            {"method": "POST", "url": "Contact", "body": {"company_id": "$1", "lastname": "Peeters"}},
        ]
    )
    assert [a["status"] for a in answers] == [201, 201]
    assert answers[1]["body"]["company_id"] == answers[0]["body"]["id"]
    with pytest.raises(InvalidInput):
        client.batch(
            [
                {"method": "POST", "url": "Company", "body": {"name": "Ghost", "code": "B2"}},
                {"method": "POST", "url": "Contact", "body": {"company_id": "$1"}},  # lastname is required
            ]
        )
    assert client.set("Company").filter(F("code") == "B2").count() == 0


def test_gzip_request_bodies(tenant: Tenant, app_client: TestClient) -> None:
    sent = _recorder(app_client)
    with Client(
        "http://testserver",
        username=USERNAME,
        password=PASSWORD,
        domain=tenant.domain,
        http=app_client,
        compress_requests=True,
    ) as client:
        notes = "a long note that compresses well. " * 100
        big = client.set("Company").create({"name": "Big", "notes": notes})
        small = client.set("Company").create({"name": "Small"})
    assert big["notes"] == notes and small["name"] == "Small"
    posts = [r for r in sent if r.method == "POST"]
    assert posts[0].headers["content-encoding"] == "gzip"
    body: dict[str, Any] = __import__("orjson").loads(gzip.decompress(posts[0].content))
    assert body["notes"] == notes and len(posts[0].content) < len(notes)
    assert "content-encoding" not in posts[1].headers  # under 1 KiB: sent as is


def test_auth_header_and_base_urls(tenant: Tenant, app_client: TestClient) -> None:
    for base in ("http://testserver", "http://testserver/", "http://testserver/api", "http://testserver/api/"):
        client = Client(base, username=USERNAME, password=PASSWORD, domain=tenant.domain, http=app_client)
        assert client.root == "http://testserver/api/"
        assert client.set("Company").count() == 0
    sent = _recorder(app_client)
    Client("http://testserver", username=USERNAME, password=PASSWORD, domain=tenant.domain, http=app_client).set(
        "Company"
    ).count()
    assert sent[0].headers["authorization"] == tenant.headers["Authorization"]
    assert "gzip" in sent[0].headers["accept-encoding"]
