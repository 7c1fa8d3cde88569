"""Projects, i.e. installations at a customer, with their types and statuses (reference.md §3.8, §4.11, §4.12)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Mapped

from odyssee.model.base import Entity, EntityOptions, flag, integer, reference, string


class ProjectType(Entity):
    __tablename__ = "project_type"
    odata = EntityOptions(
        erp_key="code",
        description="A kind of project (maintenance contract, installation, ...).",
    )

    code: Mapped[str] = string(50, doc="ERP key.")
    name: Mapped[str] = string(50, required=True)
    description: Mapped[str] = string(255)
    is_default: Mapped[bool] = flag(doc="Used for a new project that names no type.")
    sales_organization_id: Mapped[uuid.UUID] = reference("sales_organization")


class ProjectStatus(Entity):
    __tablename__ = "project_status"
    odata = EntityOptions(erp_key="code", description="The status of a project.")

    code: Mapped[str] = string(255, doc="ERP key.")
    name: Mapped[str] = string(50, required=True)
    is_default: Mapped[bool] = flag(doc="Used for a new project that names no status.")
    is_closed: Mapped[bool] = flag(doc="The installation is archived.")
    sequence: Mapped[int] = integer()
    sales_organization_id: Mapped[uuid.UUID] = reference("sales_organization")


class Project(Entity):
    __tablename__ = "project"
    odata = EntityOptions(
        erp_key="reference_back_office",
        numbered=True,
        description="An installation or location at a company.",
    )

    id2: Mapped[int] = integer(read_only=True, doc="Per-tenant running number.")
    reference_back_office: Mapped[str] = string(50, doc="ERP key.")
    name: Mapped[str] = string(50)
    description: Mapped[str] = string()
    customer_reference: Mapped[str] = string(50)
    _parent_id: Mapped[uuid.UUID] = reference("project", doc="Parent installation.")
    company_id: Mapped[uuid.UUID] = reference("company", required=True)
    project_type_id: Mapped[uuid.UUID] = reference("project_type")
    project_status_id: Mapped[uuid.UUID] = reference("project_status", required=True)
    is_mobile_installation: Mapped[bool] = flag()
    serial_number: Mapped[str] = string(50)
    barcode: Mapped[str] = string(50)
    street: Mapped[str] = string(100)
    street_number: Mapped[str] = string(50)
    zip: Mapped[str] = string(50)
    city: Mapped[str] = string(50)
