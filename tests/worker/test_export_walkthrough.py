"""The seed's export walkthrough (erp-integration-guide.txt), step by step, against a running
server and a real worker process: the approval, its job and lines, and the PDF download."""

from __future__ import annotations

import io

import httpx
from pypdf import PdfReader

from tests.worker.conftest import run_worker


def test_erp_export_walkthrough(live: tuple[str, dict[str, str]], database_url: str) -> None:
    base, headers = live
    with httpx.Client(base_url=f"{base}/api", headers=headers, timeout=30) as api:
        user = api.post("/User", json={"username": "tom", "lastname": "Tech"}).json()["id"]
        api.post("/ProjectStatus", json={"code": "ACT", "name": "Active", "is_default": True})
        api.post("/JobType", json={"code": "REP", "name": "Repair", "is_default": True})
        project = api.post(
            "/Project",
            json={"name": "Boiler room", "company": {"code": "C1", "name": "Acme"}, "project_status_code": "ACT"},
        ).json()["id"]
        job = api.post(
            "/Jobs", json={"project_id": project, "name": "Replace pump", "reference_back_office": "WO-1"}
        ).json()
        for status in ("497acff2-9ff6-4c94-85dd-daa0689553e2", "10f456d2-000e-48ea-93d7-e016107b7a98",
                       "f79e58ee-ee04-4590-bcb1-49e8bd551659"):  # fmt: skip
            assert api.patch(f"/Jobs({job['id']})", json={"job_status_id": status}).status_code == 200
        part = api.post("/JobPartUsage", json={"jobs_id": job["id"], "user_id": user, "name": "Circulation pump",
                                               "quantity": 1, "price": 245})  # fmt: skip
        labour_line = {"jobs_id": job["id"], "user_id": user, "description": "Labour", "type_code": "WorkingTime",
                       "quantity": 1.5, "price": 65}  # fmt: skip
        time = api.post("/JobNonPartUsage", json=labour_line)
        assert (part.status_code, time.status_code) == (201, 201), (part.text, time.text)
        approval = api.post("/JobApproval", json={"jobs_id": job["id"], "user_id": user, "contact_name": "Chris",
                                                  "customer_remarks": "Works again, thanks."})  # fmt: skip
        assert approval.status_code == 201, approval.text

        assert "1 task(s) run" in run_worker(database_url).stdout

        # 1. approvals changed since the watermark, final ones only
        delta = api.get("/JobApproval", params={
            "$filter": "modified_dateutc gt '2015-07-14T13:08:00.000Z' and is_daily_approval eq false",
            "$orderby": "modified_dateutc asc"}).json()["value"]  # fmt: skip
        assert [a["id"] for a in delta] == [approval.json()["id"]]
        # 2. the job's ERP key, 3. its lines
        erp = api.get("/Jobs", params={"$select": "reference_back_office", "$filter": f"id eq {job['id']}"}).json()
        assert erp["value"][0]["reference_back_office"] == "WO-1"
        parts = api.get("/JobPartUsage", params={"$filter": f"jobs_id eq {job['id']}"}).json()["value"]
        labour = api.get("/JobNonPartUsage", params={"$filter": f"jobs_id eq {job['id']}"}).json()["value"]
        assert [p["signed_by_company"] for p in parts + labour] == [True, True]
        # 4. the PDF, listed by the seed's query and downloaded
        files = api.get("/DbFile", params={
            "$select": "id,id_in_table,file_name",
            "$filter": "modified_dateutc gt '2015-07-14T13:08:00.000Z' and file_type_name eq 'JOB_APPROVAL' "
                       "and db_table_name eq 'job_approval'",
            "$orderby": "modified_dateutc asc"}).json()["value"]  # fmt: skip
        assert [f["id_in_table"] for f in files] == [approval.json()["id"]]
        download = api.get("/DbFile/GetFileContent", params={"id": files[0]["id"]})
        assert download.status_code == 200 and download.headers["content-type"] == "application/pdf"
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(download.content)).pages)
        for expected in ("Replace pump", "Circulation pump", "Labour", "Works again, thanks.", "Acme"):
            assert expected in text, expected
