"""Tasks (to-dos for the office or a technician) with types, statuses and priorities (reference.md §4.13–§4.16)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Mapped

from odyssee.model.base import (
    Entity,
    EntityOptions,
    flag,
    guid,
    integer,
    reference,
    string,
    timestamp,
)


class TaskType(Entity):
    __tablename__ = "task_type"
    odata = EntityOptions(erp_key="code", description="A kind of task.")

    code: Mapped[str] = string(255, doc="ERP key.")
    name: Mapped[str] = string(255, required=True)
    description: Mapped[str] = string(255, required=True)
    is_default: Mapped[bool] = flag()
    sequence: Mapped[int] = integer()
    only_for_e_service: Mapped[bool] = flag()
    email_notification: Mapped[bool] = flag(doc="Mail the assignee when created or assigned.")
    sales_organization_id: Mapped[uuid.UUID] = reference("sales_organization")


class TaskStatus(Entity):
    __tablename__ = "task_status"
    odata = EntityOptions(erp_key="reference_back_office", description="A status of a task.")

    reference_back_office: Mapped[str] = string(255, doc="ERP key.")
    name: Mapped[str] = string(255, required=True)
    description: Mapped[str] = string(255, required=True)
    is_default: Mapped[bool] = flag()
    is_closed: Mapped[bool] = flag(doc="A task in a closed status is archived.")
    only_for_e_service: Mapped[bool] = flag()
    sales_organization_id: Mapped[uuid.UUID] = reference("sales_organization")


class TaskPriority(Entity):
    __tablename__ = "task_priority"
    odata = EntityOptions(erp_key="code", description="The priority of a task.")

    code: Mapped[str] = string(50, doc="ERP key.")
    name: Mapped[str] = string(50, required=True)
    is_default: Mapped[bool] = flag()
    sequence: Mapped[int] = integer()


class Task(Entity):
    __tablename__ = "task"
    odata = EntityOptions(numbered=True, description="A task linked to a company, project or job.")

    id2: Mapped[int] = integer(read_only=True, doc="Per-tenant running number.")
    subject: Mapped[str] = string(150, required=True)
    remark: Mapped[str] = string()
    task_type_id: Mapped[uuid.UUID] = reference("task_type", required=True)
    task_status_id: Mapped[uuid.UUID] = reference("task_status", required=True)
    task_priority_id: Mapped[uuid.UUID] = reference("task_priority")
    company_id: Mapped[uuid.UUID] = reference("company", required=True)
    contact_id: Mapped[uuid.UUID] = reference("contact")
    assigned_to_user_id: Mapped[uuid.UUID] = reference("user")
    to_db_table_name: Mapped[str] = string(50, doc="project or jobs.")
    to_id_in_table: Mapped[uuid.UUID] = guid(doc="project.id or jobs.id.")
    customer_reference: Mapped[str] = string(50)
    date_create: Mapped[datetime] = timestamp(default_now=True, doc="Creation time; the server's clock when not given.")
    date_start: Mapped[datetime] = timestamp()
    due_date: Mapped[datetime] = timestamp()
    date_closed: Mapped[datetime] = timestamp()
    archived: Mapped[bool] = flag()
