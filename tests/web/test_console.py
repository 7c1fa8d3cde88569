"""The web console's routes over HTTP (in-process TestClient, real app, real database): sign-in
and sign-out, redirects, the grid's OData translation, and refused input that changes nothing."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from odyssee.domain.workflow import STATUS_ID
from odyssee.web.grid import GridForm
from tests.conftest import Tenant
from tests.factories import Factory

PASSWORD = "secret-pw"
USERNAME = "api@example.com"


def sign_in(client: TestClient, tenant: Tenant, password: str = PASSWORD) -> Any:
    return client.post(
        "/signin",
        data={"domain": tenant.domain, "username": USERNAME, "password": password, "next": "/jobs"},
        follow_redirects=False,
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def headers(html: str) -> list[str]:
    """The grid's column headings, as shown."""
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    return [re.sub(r"<[^>]+>|\s+", " ", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]


@pytest.fixture
def console(app_client: TestClient, tenant: Tenant) -> TestClient:
    """The app client, signed in to the console as the tenant's API user."""
    assert sign_in(app_client, tenant).status_code == 303
    return app_client


def test_wrong_password_shows_an_error_and_no_session(app_client: TestClient, tenant: Tenant) -> None:
    response = sign_in(app_client, tenant, password="wrong")
    assert response.status_code == 401
    assert "Wrong domain, user name or password." in response.text
    assert "odyssee_console" not in response.headers.get("set-cookie", "")
    assert app_client.get("/jobs", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", ["/jobs", "/planning", "/integration", "/jobs/6f1c52a4-6b1e-4d55-9d1e-0d7c3f7a0001"])
def test_pages_redirect_to_sign_in_when_signed_out(app_client: TestClient, path: str) -> None:
    response = app_client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/signin?next={path}"


def test_sign_in_sets_a_strict_session_cookie_and_sign_out_ends_it(app_client: TestClient, tenant: Tenant) -> None:
    response = sign_in(app_client, tenant)
    assert response.status_code == 303 and response.headers["location"] == "/jobs"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "expires" not in cookie and "max-age" not in cookie  # a session cookie: dies with the browser
    assert PASSWORD not in response.headers["set-cookie"]
    page = app_client.get("/jobs")
    assert page.status_code == 200 and tenant.domain in page.text
    token = app_client.cookies["odyssee_console"]

    refused = app_client.post("/signout", data={"csrf": "forged"}, follow_redirects=False)
    assert refused.status_code == 403  # no sign-out (or any POST) without the session's form token
    out = app_client.post("/signout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert app_client.get("/jobs", follow_redirects=False).status_code == 303
    app_client.cookies.set("odyssee_console", token)  # the old token is dead server-side too
    assert app_client.get("/jobs", follow_redirects=False).status_code == 303


def test_sign_in_only_redirects_within_the_site(app_client: TestClient, tenant: Tenant) -> None:
    data = {"domain": tenant.domain, "username": USERNAME, "password": PASSWORD, "next": "//evil.example/x"}
    assert app_client.post("/signin", data=data, follow_redirects=False).headers["location"] == "/jobs"


def test_grid_filter_becomes_the_odata_query() -> None:
    form = GridForm.parse(
        {"status": "POOLING", "q": "O'Pump", "date_from": "2026-11-01", "date_to": "2026-11-30", "sort": "company",
         "dir": "asc", "size": "10"},
        ["id2", "company"], ["id2"],
    )  # fmt: skip
    query = form.query()
    assert query["$filter"] == (
        "job_status/code eq 'POOLING' and (contains(tolower(name),'o''pump') or "
        "contains(tolower(reference_back_office),'o''pump') or contains(tolower(description),'o''pump') or "
        "contains(tolower(customer_reference),'o''pump')) and date_planned ge 2026-11-01T00:00:00.000Z and "
        "date_planned lt 2026-12-01T00:00:00.000Z"
    )
    assert query["$orderby"] == "company/name asc"
    assert query["$select"] == "id,id2" and query["$expand"] == "company($select=name)"
    assert form.status_counts_apply().startswith("filter((contains(tolower(name)")  # counts ignore the status
    assert form.status_counts_apply().endswith("/groupby((job_status/code,job_status/name),aggregate($count as n))")


def test_grid_shows_the_rows_the_filters_select(console: TestClient, make: Factory, tenant: Tenant) -> None:
    pump = make.job("POOLING", name="Replace pump", date_planned="2026-11-24T08:00:00Z")
    make.job("POOLING", name="Check valve")
    make.job("OPEN", name="Pump noise")
    page = console.get("/jobs", params={"status": "POOLING", "q": "PUMP", "cols": ["id2", "name", "status"]})
    assert page.status_code == 200
    assert "Replace pump" in page.text and "Check valve" not in page.text and "Pump noise" not in page.text
    assert "1 job</caption>" in page.text
    assert f'href="/jobs/{pump["id"]}"' in page.text
    # counts per status follow the other filters: both "pump" jobs, one Pooling and one Open
    assert re.search(r"Pooling <span class=\"n\">1</span>", page.text)
    assert re.search(r"Open <span class=\"n\">1</span>", page.text)
    dated = console.get("/jobs", params={"date_from": "2026-11-24", "date_to": "2026-11-24"})
    assert "Replace pump" in dated.text and "Check valve" not in dated.text


def test_grid_pages_with_the_skiptoken_and_keeps_chosen_columns(console: TestClient, make: Factory) -> None:
    for n in range(12):
        make("Jobs", name=f"Job {n:02d}")
    first = console.get("/jobs", params={"sort": "name", "dir": "asc", "size": "10", "cols": ["name", "hours"]})
    assert "Job 00" in first.text and "Job 09" in first.text and "Job 10" not in first.text
    assert headers(first.text) == ["Name ▲", "Hours"]
    next_link = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_link and "skiptoken=" in next_link.group(1)
    second = console.get(next_link.group(1).replace("&amp;", "&"))
    assert "Job 10" in second.text and "Job 11" in second.text and "Job 09" not in second.text
    assert 'rel="next"' not in second.text
    assert headers(console.get("/jobs").text) == ["Name", "Hours"]  # the column choice is kept for the session


def test_bad_grid_input_is_a_clear_message(console: TestClient) -> None:
    response = console.get("/jobs", params={"date_from": "yesterday"})
    assert response.status_code == 400
    assert "Date from must be a date (YYYY-MM-DD), not &#39;yesterday&#39;." in response.text
    assert console.get("/jobs", params={"sort": "password"}).status_code == 400


def test_detail_offers_only_the_allowed_next_steps(console: TestClient, make: Factory) -> None:
    job = make.job("POOLING", name="Pooled job")
    page = console.get(f"/jobs/{job['id']}")
    assert page.status_code == 200
    options = re.findall(r'<option value="([0-9a-f-]{36})">([^<]+)</option>', page.text.split('id="to-status"')[1])
    assert {name for _, name in options[:2]} == {"Planned", "Canceled"} and len(options) >= 2
    assert 'name="action" value="Dispatch"' not in page.text  # Pooling cannot be dispatched
    assert "Status history" in page.text and "Pooling" in page.text


def _job(tenant: Tenant, job_id: str) -> dict[str, Any]:
    row = tenant.get(f"/api/Jobs({job_id})").json()
    row.pop("@odata.context", None)
    return row  # type: ignore[no-any-return]


def test_plan_dispatch_and_accept_through_the_console(console: TestClient, make: Factory, tenant: Tenant) -> None:
    job = make.job("POOLING", name="To plan")
    tech = make("User")
    csrf = csrf_of(console.get("/planning", params={"start": "2026-11-23"}).text)
    back = "/planning?start=2026-11-23&view=week"
    form = {"csrf": csrf, "job_id": job["id"], "user_id": tech["id"], "date": "2026-11-24", "time": "09:30",
            "hours": "2.5", "back": back}  # fmt: skip
    planned = console.post("/planning/plan", data=form, follow_redirects=False)
    assert planned.status_code == 303 and planned.headers["location"] == back
    row = _job(tenant, job["id"])
    assert row["job_status_id"] == str(STATUS_ID["PLANNED"]) and row["user_id"] == tech["id"]
    assert row["date_planned"] == "2026-11-24T09:30:00.000Z" and row["estimated_duration"] == 2.5
    timeline = console.get(back).text
    assert f'id="slot-{job["id"]}"' in timeline and "Job planned." in timeline

    for action in ("Dispatch", "Accept"):
        body = {"csrf": csrf, "action": action, "user_id": tech["id"], "back": back}
        assert console.post(f"/jobs/{job['id']}/action", data=body, follow_redirects=False).status_code == 303
    assert _job(tenant, job["id"])["job_status_id"] == str(STATUS_ID["PLANNED"])
    log = tenant.get(f"/api/JobDispatchLog?$filter=jobs_id eq {job['id']}").json()["value"]
    assert [(entry["is_accepted"], entry["user_id"]) for entry in log] == [(True, tech["id"])]
    assert "accepted" in console.get(back).text


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"date": "24/11/2026"}, 400, "The planned day must be a date (YYYY-MM-DD), not &#39;24/11/2026&#39;."),
        ({"time": "late"}, 400, "The start time must be HH:MM"),
        ({"hours": "lots"}, 400, "The duration must be a number of hours"),
        ({"hours": "30"}, 400, "The duration is between 0 and 24 hours."),
        ({"user_id": ""}, 400, "Choose the technician"),
        ({"user_id": "6f1c52a4-6b1e-4d55-9d1e-0d7c3f7a0001"}, 422, "UnknownReference"),  # the API refuses
    ],
)
def test_bad_plan_input_changes_nothing(
    console: TestClient, make: Factory, tenant: Tenant, form: dict[str, str], status: int, message: str
) -> None:
    job = make.job("POOLING")
    tech = make("User")
    before = _job(tenant, job["id"])
    csrf = csrf_of(console.get("/planning").text)
    body = {"csrf": csrf, "job_id": job["id"], "user_id": tech["id"], "date": "2026-11-24", "time": "08:00",
            "hours": "1"} | form  # fmt: skip
    response = console.post("/planning/plan", data=body, follow_redirects=False)
    assert response.status_code == status, response.text
    assert message in response.text
    assert _job(tenant, job["id"]) == before


def test_refused_moves_show_the_api_error_and_change_nothing(
    console: TestClient, make: Factory, tenant: Tenant
) -> None:
    job = make.job("POOLING")
    before = _job(tenant, job["id"])
    csrf = csrf_of(console.get(f"/jobs/{job['id']}").text)
    wrong = console.post(f"/jobs/{job['id']}/status", data={"csrf": csrf, "job_status_id": str(STATUS_ID["COMPLETED"])})
    assert wrong.status_code == 409 and "TransitionNotAllowed" in wrong.text and "Allowed next statuses" in wrong.text
    no_user = console.post(f"/jobs/{job['id']}/action", data={"csrf": csrf, "action": "Dispatch"})
    assert no_user.status_code == 400 and "choose the technician" in no_user.text
    unknown = console.post(f"/jobs/{job['id']}/action", data={"csrf": csrf, "action": "Delete"})
    assert unknown.status_code == 400 and "Unknown action" in unknown.text
    forged = console.post(f"/jobs/{job['id']}/status", data={"csrf": "x", "job_status_id": str(STATUS_ID["PLANNED"])})
    assert forged.status_code == 403
    assert _job(tenant, job["id"]) == before

    dispatched = make.job("OPEN")
    tech = make("User")
    assert tenant.post(f"/api/Jobs({dispatched['id']})/Dispatch", {"user_ids": [tech["id"]]}).status_code == 200
    before = _job(tenant, dispatched["id"])
    no_reason = console.post(f"/jobs/{dispatched['id']}/action", data={"csrf": csrf, "action": "Reject", "reason": ""})
    assert no_reason.status_code == 400 and "ReasonRequired" in no_reason.text
    assert _job(tenant, dispatched["id"]) == before


def test_approval_pdf_is_previewed_inline_and_downloaded(console: TestClient, make: Factory, tenant: Tenant) -> None:
    job = make.job("IN_PROGRESS")
    approval = make("JobApproval", jobs_id=job["id"])
    pdf = b"%PDF-1.4 console test"
    body = {
        "name": "approval.pdf",
        "file_name": "approval.pdf",
        "mime_type": "application/pdf",
        "db_table_name": "job_approval",
        "id_in_table": approval["id"],
        "file_content": base64.b64encode(pdf).decode(),
    }
    file = tenant.post("/api/DbFile", body).json()
    page = console.get(f"/jobs/{job['id']}").text
    assert f'<iframe class="pdf" src="/files/{file["id"]}"' in page
    inline = console.get(f"/files/{file['id']}")
    assert inline.content == pdf and inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"].startswith("inline;")
    download = console.get(f"/files/{file['id']}", params={"download": "1"})
    assert download.headers["content-disposition"].startswith("attachment;")


def test_integration_view_lists_changes_subscriptions_and_users(console: TestClient, make: Factory) -> None:
    make("Company", name="Freshly changed")
    make("WebhookSubscription", name="ERP hook")
    make("User", lastname="Technician-X")
    page = console.get("/integration")
    assert page.status_code == 200
    assert "Freshly changed" in page.text and "ERP hook" in page.text and "Technician-X" in page.text
    assert console.get("/integration", params={"subscription": "nope"}).status_code == 400


def test_unknown_paths_answer_a_browser_with_a_page(app_client: TestClient) -> None:
    page = app_client.get("/elsewhere", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "No resource at /elsewhere." in page.text
    assert page.headers["content-type"].startswith("text/html")
