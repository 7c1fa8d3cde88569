"""A generic OData v4 client from PyPI (python-odata) reflects ``$metadata`` and works unchanged:
create, read, filter, order, page, count, expand, update and delete — no project-specific code."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from odata import ODataService
from odata.exceptions import ODataError


class _Basic(requests.auth.AuthBase):
    """Odyssee's Basic credentials (``user:password@domain``), as any requests-based client sends them."""

    def __init__(self, header: str) -> None:
        self.header = header

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = self.header
        return request


@pytest.fixture
def odata(live: tuple[str, dict[str, str]]) -> ODataService:
    base, headers = live
    return ODataService(
        f"{base}/api/", auth=_Basic(headers["Authorization"]), reflect_entities=True, quiet_progress=True
    )


def test_reflects_every_entity_set(odata: ODataService) -> None:
    for name in ("Company", "Jobs", "JobType", "Project", "JobPartUsage", "User"):
        assert name in odata.entities


def test_create_read_update_delete(odata: ODataService) -> None:
    JobType = odata.entities["JobType"]  # noqa: N806 - a reflected class
    created = JobType()
    created.name = "Repair"
    created.code = "REP"
    odata.save(created)
    assert created.id and created.modified_dateutc.year >= 2026

    found = odata.query(JobType).filter(JobType.code == "REP").first()
    assert found.name == "Repair" and found.id == created.id

    found.name = "Repairs"
    odata.save(found)
    again = odata.query(JobType).get(created.id)
    assert again.name == "Repairs" and again.code == "REP", "PATCH kept the properties it did not send"

    odata.delete(again)
    assert odata.query(JobType).filter(JobType.code == "REP").all() == []


def test_pages_through_next_links_filters_orders_and_counts(odata: ODataService) -> None:
    JobType = odata.entities["JobType"]  # noqa: N806
    for i in range(45):
        row = JobType()
        row.name = f"Type {i:02d}"
        row.code = f"T{i:02d}" if i % 2 else ""
        odata.save(row, force_refresh=False)
    everything = odata.query(JobType).order_by(JobType.name.desc()).all()
    assert len(everything) == 45, "the client followed @odata.nextLink across 3 pages"
    assert [row.name for row in everything] == sorted((f"Type {i:02d}" for i in range(45)), reverse=True)
    assert odata.query(JobType).filter(JobType.code != "").count() == 22
    page = odata.query(JobType).order_by(JobType.name.asc()).offset(40).limit(3).all()
    assert [row.name for row in page] == ["Type 40", "Type 41", "Type 42"]


def test_expands_navigation_properties(odata: ODataService) -> None:
    Company, Project, ProjectStatus = (odata.entities[n] for n in ("Company", "Project", "ProjectStatus"))  # noqa: N806
    company = Company()
    company.name = "Acme"
    odata.save(company)
    status = ProjectStatus()
    status.name = "Active"
    odata.save(status)
    project = Project()
    project.name = "Site A"
    project.company = company  # sent as company@odata.bind, the generic way to set a reference
    project.project_status = status
    odata.save(project)
    assert project.company_id == company.id
    loaded = odata.query(Project).expand(Project.company).filter(Project.name == "Site A").first()
    assert loaded.company.name == "Acme"


def test_server_errors_reach_the_client(odata: ODataService) -> None:
    JobType = odata.entities["JobType"]  # noqa: N806
    invalid = JobType()
    invalid.name = "x" * 500
    with pytest.raises(ODataError) as raised:
        odata.save(invalid)
    assert "400" in str(raised.value)
