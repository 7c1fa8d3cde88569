"""Job approvals: the workflow move, stamped date, frozen usage lines; and file downloads."""

from __future__ import annotations

import base64
from typing import Any

from odyssee.domain.workflow import STATUS_ID
from tests.conftest import Tenant
from tests.factories import Factory

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


def _job_with_lines(make: Factory) -> tuple[dict[str, Any], str]:
    job = make.job("IN_PROGRESS")
    user = make("User")["id"]
    article = make("Article", code="P-1", name="Pump")["id"]
    make("JobPartUsage", jobs_id=job["id"], user_id=user, article_id=article, quantity=1, price=245.0)
    make("JobNonPartUsage", jobs_id=job["id"], user_id=user, quantity=1.5, price=65.0)
    return job, user


def test_approval_completes_the_job_and_freezes_its_lines(tenant: Tenant, make: Factory) -> None:
    job, user = _job_with_lines(make)
    body = {"jobs_id": job["id"], "user_id": user, "contact_name": "Chris", "customer_remarks": "Works again",
            "signature": PNG, "date_generated": "2001-01-01T00:00:00Z"}  # fmt: skip
    response = tenant.post("/api/JobApproval", body)
    assert response.status_code == 201, response.text
    approval = response.json()
    assert approval["job_status_id"] == str(STATUS_ID["COMPLETED"]) and approval["signature"] == PNG
    assert approval["date_generated"] > "2026", "stamped by the server"
    assert tenant.get(f"/api/Jobs({job['id']})").json()["job_status_id"] == str(STATUS_ID["COMPLETED"])
    for controller in ("JobPartUsage", "JobNonPartUsage"):
        lines = tenant.get(f"/api/{controller}?$filter=jobs_id eq {job['id']}").json()["value"]
        assert [(line["job_approval_id"], line["signed_by_company"]) for line in lines] == [(approval["id"], True)]
        line_url = f"/api/{controller}({lines[0]['id']})"
        edit = tenant.patch(line_url, {"quantity": 9})
        assert edit.status_code == 409 and edit.json()["error"]["code"] == "Signed"
        assert tenant.delete(line_url).status_code == 409
    history = tenant.get(f"/api/JobStatusHistory?$filter=jobs_id eq {job['id']}&$orderby=date_change desc&$top=1")
    assert history.json()["value"][0]["to_job_status_id"] == str(STATUS_ID["COMPLETED"])


def test_daily_approval_leaves_the_job_open(tenant: Tenant, make: Factory) -> None:
    job, user = _job_with_lines(make)
    daily = tenant.post("/api/JobApproval", {"jobs_id": job["id"], "user_id": user, "is_daily_approval": True})
    assert daily.status_code == 201, daily.text
    assert tenant.get(f"/api/Jobs({job['id']})").json()["job_status_id"] == str(STATUS_ID["IN_PROGRESS"])
    lines = tenant.get(f"/api/JobPartUsage?$filter=jobs_id eq {job['id']}").json()["value"]
    assert lines[0]["job_approval_id"] == daily.json()["id"], "what was approved today is frozen"


def test_approval_that_the_workflow_forbids_changes_nothing(tenant: Tenant, make: Factory) -> None:
    job = make.job("PLANNED")
    user = make("User")["id"]
    response = tenant.post("/api/JobApproval", {"jobs_id": job["id"], "user_id": user})
    assert response.status_code == 409 and response.json()["error"]["code"] == "TransitionNotAllowed"
    assert tenant.rows("JobApproval") == []
    assert tenant.get(f"/api/Jobs({job['id']})").json()["job_status_id"] == str(STATUS_ID["PLANNED"])
    wrong = tenant.post(
        "/api/JobApproval", {"jobs_id": job["id"], "user_id": user, "job_status_id": str(STATUS_ID["OPEN"])}
    )
    assert wrong.status_code == 400


def test_file_content_downloads(tenant: Tenant) -> None:
    content = base64.b64encode(b"%PDF-1.4 hello").decode()
    created = tenant.post("/api/DbFile", {"name": "Report", "file_name": "Job #1 Pump é.pdf", "file_content": content})
    file_id = created.json()["id"]
    for url in (f"/api/DbFile({file_id})/$value", f"/api/DbFile/GetFileContent?id={file_id}"):
        response = tenant.get(url)
        assert response.status_code == 200 and response.content == b"%PDF-1.4 hello"
        assert response.headers["content-type"] == "application/pdf"
        assert "attachment;" in response.headers["content-disposition"]
        assert "filename*=UTF-8''Job%20%231%20Pump%20%C3%A9.pdf" in response.headers["content-disposition"]
    assert tenant.get("/api/DbFile/GetFileContent").status_code == 400
    assert tenant.get("/api/DbFile/GetFileContent?id=00000000-0000-0000-0000-000000000001").status_code == 404
