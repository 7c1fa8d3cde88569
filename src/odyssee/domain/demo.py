"""The demo tenant ``TESTAPI`` (API user ``APIUser`` / ``123456``, as in reference.md §2.3) and a
small, realistic data set. Idempotent: rows have fixed ids and existing ones are left alone."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.domain import workflow
from odyssee.domain.actor import Actor
from odyssee.domain.entities import create_entity
from odyssee.domain.tenants import create_credential, create_tenant, find_tenant
from odyssee.model.entities.jobs import SYSTEM_JOB_STATUSES
from odyssee.model.registry import registry
from odyssee.model.system import Credential

DOMAIN = "TESTAPI"
API_USER = "APIUser"
API_PASSWORD = "123456"
_NAMESPACE = uuid.UUID("6f1c52a4-6b1e-4d55-9d1e-0d7c3f7a0001")
_STATUS = {status.code: str(status.id) for status in SYSTEM_JOB_STATUSES}


def demo_id(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


_JOBS = [
    ("j-open", "OPEN", "c-acme", "Boiler makes noise", "u-anna"),
    ("j-planned", "PLANNED", "c-north", "Yearly maintenance", "u-anna"),
    ("j-progress", "IN_PROGRESS", "c-sun", "No hot water on floor 3", "u-tom"),
    ("j-done", "IN_PROGRESS", "c-acme", "Replace circulation pump", "u-tom"),  # its approval completes it
    ("j-pool", "POOLING", "c-north", "Check safety valve", ""),
    ("j-pool2", "POOLING", "c-sun", "Replace air filters, rooms 101-140", ""),
    ("j-tbp", "TO_BE_PLANNED", "c-acme", "Leak under the boiler", ""),
    ("j-lisa", "PLANNED", "c-sun", "Commission new heat pump", "u-lisa"),
]
_JOB_DETAILS: dict[str, dict[str, Any]] = {
    "j-planned": {"job_type_id": "jt-service", "estimated_duration": 3},
    "j-pool": {"job_priority_id": "jp-urgent", "estimated_duration": 1},
    "j-pool2": {"job_type_id": "jt-service", "estimated_duration": 4},
    "j-tbp": {"job_priority_id": "jp-urgent", "estimated_duration": 2},
    "j-lisa": {"job_type_id": "jt-service", "estimated_duration": 6, "date_planned": "2026-11-25T09:00:00Z"},
}
"""Type, priority (demo names) and hours of the jobs that are not plain normal repairs: the console's
grid filters and planning timeline need some variety to show."""
_JOB_STATUS = {name: status for name, status, *_ in _JOBS}
"""Demo jobs are created Open and walked to these statuses through the workflow engine."""


def _rows() -> list[tuple[str, str, dict[str, Any]]]:
    """(controller, name, body) in dependency order; ``name`` makes the fixed id."""
    rows: list[tuple[str, str, dict[str, Any]]] = [
        ("CompanyType", "ct-customer", {"code": "CUST", "name": "Customer"}),
        ("CompanyType", "ct-supplier", {"code": "SUPP", "name": "Supplier"}),
        ("ProjectType", "pt-maint", {"code": "MAINT", "name": "Maintenance contract", "is_default": True}),
        ("ProjectType", "pt-inst", {"code": "INST", "name": "New installation"}),
        ("ProjectStatus", "ps-active", {"code": "ACTIVE", "name": "Active", "is_default": True}),
        ("ProjectStatus", "ps-closed", {"code": "CLOSED", "name": "Decommissioned", "is_closed": True}),
        ("ArticleCategory", "ac-spare", {"code": "SPARE", "name": "Spare parts"}),
        ("ArticleCategory", "ac-filter", {"code": "FILTER", "name": "Filters", "parent_id": demo_id("ac-spare")}),
        ("JobType", "jt-repair", {"code": "REPAIR", "name": "Repair", "is_default": True}),
        ("JobType", "jt-service", {"code": "SERVICE", "name": "Periodic service"}),
        ("JobPriority", "jp-normal", {"code": "NORMAL", "name": "Normal", "is_default": True, "sequence": 1}),
        ("JobPriority", "jp-urgent", {"code": "URGENT", "name": "Urgent", "sequence": 0}),
        ("HourType", "ht-work", {"code": "WORK", "description": "Working time", "commercial_description": "Labour"}),
        ("HourType", "ht-travel", {"code": "TRAVEL", "description": "Travel time", "is_travel": True}),
        ("TaskType", "tt-call", {"code": "CALL", "name": "Call back", "description": "Call the customer back", "is_default": True}),
        ("TaskStatus", "ts-open", {"reference_back_office": "OPEN", "name": "Created", "description": "New task", "is_default": True}),
        ("TaskStatus", "ts-closed", {"reference_back_office": "CLOSED", "name": "Closed", "description": "Done", "is_closed": True}),
        ("User", "u-anna", {"code": "T01", "username": "anna.peeters@example.com", "firstname": "Anna", "lastname": "Peeters"}),
        ("User", "u-tom", {"code": "T02", "username": "tom.janssens@example.com", "firstname": "Tom", "lastname": "Janssens"}),
        ("User", "u-lisa", {"code": "T03", "username": "lisa.maes@example.com", "firstname": "Lisa", "lastname": "Maes"}),
        ("Article", "a-filter", {"code": "F-100", "name": "Air filter 100", "article_category_id": demo_id("ac-filter"), "entered_price": 12.5}),
        ("Article", "a-pump", {"code": "P-200", "name": "Circulation pump", "article_category_id": demo_id("ac-spare"), "entered_price": 245.0}),
        ("Article", "a-valve", {"code": "V-300", "name": "Safety valve 3 bar", "article_category_id": demo_id("ac-spare"), "entered_price": 38.9}),
        ("DbFileFolder", "f-manuals", {"reference_back_office": "MANUALS", "name": "Manuals", "is_services": True}),
    ]  # fmt: skip
    companies = [
        ("c-acme", "C001", "Acme Bakeries", "Brussels", "1000"),
        ("c-north", "C002", "Northwind Dairy", "Antwerpen", "2000"),
        ("c-sun", "C003", "Sunrise Hotels", "Gent", "9000"),
    ]
    for name, code, title, city, zip_code in companies:
        rows.append(("Company", name, {
            "code": code, "name": title, "is_client": True, "city": city, "zip": zip_code, "db_country_code": "BE",
            "company_type_id": demo_id("ct-customer"), "email": f"service@{code.lower()}.example.com",
        }))  # fmt: skip
        rows.append(
            (
                "Contact",
                f"{name}-contact",
                {
                    "firstname": "Chris",
                    "lastname": f"Facility {code}",
                    "company_id": demo_id(name),
                },
            )
        )
        rows.append(("Project", f"{name}-boiler", {
            "reference_back_office": f"{code}-BOILER", "name": f"Boiler room {city}", "company_id": demo_id(name),
            "serial_number": f"SN-{code}-01",
        }))  # fmt: skip
    for index, (name, _status, company, title, user) in enumerate(_JOBS, start=1):
        rows.append(("Jobs", name, {
            "reference_back_office": f"WO-{index:04d}", "name": title, "project_id": demo_id(f"{company}-boiler"),
            "job_status_id": _STATUS["OPEN"], "user_id": demo_id(user) if user else None,
            "date_planned": f"2026-11-{20 + index:02d}T08:00:00Z" if user else "1980-01-01T00:00:00Z",
            **{key: demo_id(value) if key.endswith("_id") else value for key, value in _JOB_DETAILS.get(name, {}).items()},
        }))  # fmt: skip
    rows += [
        ("JobPartUsage", "jpu-1", {"jobs_id": demo_id("j-done"), "article_id": demo_id("a-pump"), "user_id": demo_id("u-tom"),
                                    "code": "P-200", "name": "Circulation pump", "quantity": 1, "price": 245.0}),
        ("JobPartUsage", "jpu-2", {"jobs_id": demo_id("j-done"), "article_id": demo_id("a-valve"), "user_id": demo_id("u-tom"),
                                    "code": "V-300", "name": "Safety valve 3 bar", "quantity": 2, "price": 38.9}),
        ("JobNonPartUsage", "jnpu-1", {"jobs_id": demo_id("j-done"), "user_id": demo_id("u-tom"), "hour_type_id": demo_id("ht-work"),
                                        "working_date": "2026-11-20T09:00:00Z", "type_code": "WorkingTime", "line_code": "WORK",
                                        "description": "Labour", "quantity": 1.5, "price": 65.0}),
        ("JobApproval", "ja-1", {"jobs_id": demo_id("j-done"), "user_id": demo_id("u-tom"), "contact_name": "Chris Facility",
                                  "customer_remarks": "Works again, thanks.",
                                  "is_signed": True, "job_status_id": _STATUS["COMPLETED"], "rating": 5}),
        ("Task", "t-1", {"subject": "Send quote for a new boiler", "company_id": demo_id("c-sun")}),
    ]  # fmt: skip
    return rows


def ensure_demo(session: Session) -> bool:
    """Create what is missing of the demo tenant. Returns True when anything was created."""
    created = False
    tenant = find_tenant(session, DOMAIN)
    if tenant is None:
        tenant = create_tenant(session, DOMAIN)
        created = True
    has_login = session.execute(
        sa.select(Credential.id).where(
            Credential.tenant_id == tenant.id,
            Credential.username_key == API_USER.lower(),
        )
    ).first()
    if not has_login:
        create_credential(session, DOMAIN, API_USER, API_PASSWORD, api=True)
        created = True
    actor = Actor(tenant_id=tenant.id, domain=tenant.domain, username=API_USER, is_api=True)
    for controller, name, body in _rows():
        spec = registry().lookup(controller)
        assert spec is not None
        key = uuid.UUID(demo_id(name))
        exists = session.execute(
            sa.select(spec.table.c.id).where(spec.table.c.tenant_id == tenant.id, spec.table.c.id == key)
        ).first()
        if not exists:
            create_entity(session, actor, spec, {"id": str(key), **body})
            created = True
            if controller == "Jobs":
                for step in workflow.path_to(_JOB_STATUS[name]) if _JOB_STATUS[name] != "OPEN" else []:
                    workflow.move(session, actor, key, step)
    return created
