"""Files: upload, read, list without bytes, the seed's PDF query, limits — bytes live in the blob store."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from odyssee.db.engine import Database
from odyssee.model.system import Blob
from tests.conftest import Tenant
from tests.factories import Factory


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _blobs(database: Database) -> list[tuple[str, bytes]]:
    with database.transaction(write=False) as session:
        rows = session.execute(sa.select(Blob.owner_id, Blob.content))
        return [(str(owner), bytes(content)) for owner, content in rows]


def test_an_uploaded_file_is_linked_to_a_row_and_read_back_whole(tenant: Tenant, make: Factory) -> None:
    company = make("Company")
    body = {
        "name": "Site plan",
        "file_name": "plan.png",
        "mime_type": "image/png",
        "db_table_name": "company",
        "id_in_table": company["id"],
        "file_content": _b64(b"\x89PNG plan"),
    }
    created = tenant.post("/api/DbFile", body)
    assert created.status_code == 201, created.text
    assert created.json()["file_content"] == _b64(b"\x89PNG plan") and created.json()["file_size"] == 9
    read = tenant.get(f"/api/DbFile({created.json()['id']})").json()
    assert read["file_content"] == _b64(b"\x89PNG plan")
    assert read["id_in_table"] == company["id"] and read["db_table_name"] == "company"


def test_listing_files_leaves_the_bytes_out_unless_selected(tenant: Tenant) -> None:
    for name in ("a", "b"):
        assert tenant.post("/api/DbFile", {"name": name, "file_content": _b64(name.encode() * 1000)}).status_code == 201
    listed = tenant.get("/api/DbFile?$orderby=name").json()["value"]
    assert [row["name"] for row in listed] == ["a", "b"]
    assert all("file_content" not in row and row["file_size"] == 1000 for row in listed)
    selected = tenant.get("/api/DbFile?$orderby=name&$select=name,file_content").json()["value"]
    assert [base64.b64decode(row["file_content"]) for row in selected] == [b"a" * 1000, b"b" * 1000]
    one = tenant.get(f"/api/DbFile({listed[0]['id']})?$select=name").json()
    assert "file_content" not in one


def test_file_bytes_cannot_be_filtered_or_sorted(tenant: Tenant) -> None:
    for query in ("$filter=file_content eq 'AA=='", "$orderby=file_content"):
        response = tenant.get(f"/api/DbFile?{query}")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "PropertyNotQueryable"


def test_the_seeds_approval_pdf_query_lists_only_approval_files(tenant: Tenant) -> None:
    before = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    uploaded = tenant.post("/api/DbFile", {"name": "other", "db_table_name": "job_approval"}).json()
    query = (
        "/api/DbFile?$select=id,id_in_table,file_name"
        f"&$filter=modified_dateutc gt '{before}' and file_type_name eq 'JOB_APPROVAL'"
        " and db_table_name eq 'job_approval'&$orderby=modified_dateutc asc"
    )
    response = tenant.get(query)
    assert response.status_code == 200, response.text
    assert uploaded["id"] not in {row["id"] for row in response.json()["value"]}, "clients cannot forge JOB_APPROVAL"


def test_patch_keeps_the_bytes_put_replaces_them_delete_removes_them(tenant: Tenant, database: Database) -> None:
    created = tenant.post("/api/DbFile", {"name": "v1", "file_content": _b64(b"one")}).json()
    url = f"/api/DbFile({created['id']})"
    patched = tenant.patch(url, {"name": "renamed"})
    assert patched.status_code in (200, 204), patched.text
    after_patch = tenant.get(url).json()
    assert after_patch["name"] == "renamed" and after_patch["file_content"] == _b64(b"one")
    assert after_patch["file_size"] == 3
    replaced = tenant.put(url, {"name": "v2", "file_content": _b64(b"second")}).json()
    assert replaced["file_content"] == _b64(b"second") and replaced["file_size"] == 6
    assert _blobs(database) == [(created["id"], b"second")]
    assert tenant.delete(url).status_code == 204
    assert tenant.get(url).status_code == 404
    assert _blobs(database) == []


def test_a_file_over_the_size_limit_is_a_413_and_nothing_is_stored(tenant: Tenant, database: Database) -> None:
    # the test app's body limit is 64 KiB (conftest.py); production's is 16 MiB (settings.py)
    response = tenant.post("/api/DbFile", {"name": "big", "file_content": _b64(b"x" * 70_000)})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PayloadTooLarge"
    assert tenant.rows("DbFile") == [] and _blobs(database) == []


def test_a_failed_upload_leaves_no_bytes_behind(tenant: Tenant, database: Database) -> None:
    unknown_folder = "4a0f0b9c-0000-4000-8000-000000000001"
    response = tenant.post(
        "/api/DbFile", {"name": "x", "db_file_folder_id": unknown_folder, "file_content": _b64(b"orphan?")}
    )
    assert response.status_code == 422
    batch = tenant.post(
        "/api/$batch",
        {
            "requests": [
                {"id": "1", "atomicityGroup": "g", "method": "POST", "url": "DbFile",
                 "body": {"name": "ok", "file_content": _b64(b"kept?")}},
                {"id": "2", "atomicityGroup": "g", "method": "POST", "url": "DbFile",
                 "body": {"name": "bad", "db_file_folder_id": unknown_folder}},
            ]
        },
    )  # fmt: skip
    assert batch.status_code == 200, batch.text
    assert tenant.rows("DbFile") == [] and _blobs(database) == []
