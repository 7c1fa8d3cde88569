"""Jobs (work orders), their types, priorities and statuses, usage lines and approvals
(reference.md §3.9, §3.10, §4.2–§4.9, §4.24)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Mapped

from odyssee.model.base import (
    Deletion,
    Entity,
    EntityOptions,
    binary,
    decimal,
    flag,
    integer,
    reference,
    string,
    timestamp,
)


class JobType(Entity):
    __tablename__ = "job_type"
    odata = EntityOptions(erp_key="code", description="A kind of work order.")

    code: Mapped[str] = string(50, doc="ERP key.")
    name: Mapped[str] = string(50, required=True)
    description: Mapped[str] = string(4000)
    is_default: Mapped[bool] = flag(doc="Used for a new job that names no type.")
    archived: Mapped[bool] = flag()
    sales_organization_id: Mapped[uuid.UUID] = reference("sales_organization", doc="Empty GUID = global.")


class JobPriority(Entity):
    __tablename__ = "job_priority"
    odata = EntityOptions(erp_key="code", description="The priority of a work order.")

    code: Mapped[str] = string(255, doc="ERP key.")
    name: Mapped[str] = string(50, required=True)
    is_default: Mapped[bool] = flag(doc="Used for a new job that names no priority.")
    sequence: Mapped[int] = integer(doc="Sort order, 0 first.")
    sales_organization_id: Mapped[uuid.UUID] = reference("sales_organization")


class JobStatus(Entity):
    __tablename__ = "job_status"
    odata = EntityOptions(
        erp_key="code",
        deletion=Deletion.FORBIDDEN,
        deletion_hint="Job statuses are part of the workflow and of job history.",
        description="A status of the job workflow. The 17 system statuses are seeded in every tenant and cannot "
        "be changed; a tenant may add virtual statuses under Completed (docs/workflow.md).",
    )

    code: Mapped[str] = string(50)
    name: Mapped[str] = string(50, required=True)
    description: Mapped[str] = string(255)
    sequence: Mapped[int] = integer()
    is_closed: Mapped[bool] = flag(doc="The job is finished (Completed, Canceled, Workshop - Completed).")
    parent_id: Mapped[uuid.UUID] = reference("job_status", doc="For a virtual status: Completed, its parent.")


@dataclass(frozen=True)
class SystemJobStatus:
    id: uuid.UUID
    code: str
    name: str
    description: str
    is_closed: bool = False


def _status(guid: str, code: str, name: str, description: str, *, is_closed: bool = False) -> SystemJobStatus:
    return SystemJobStatus(uuid.UUID(guid), code, name, description, is_closed)


SYSTEM_JOB_STATUSES: tuple[SystemJobStatus, ...] = (
    _status("69268600-D3E0-4222-859F-06E47CF4041E", "WAITING", "Waiting", "Waiting"),
    _status("8BA9DA71-EF32-423A-BB50-AE767315F55C", "OPEN", "Open", "Job is just created and show on grid"),
    _status("497ACFF2-9FF6-4C94-85DD-DAA0689553E2", "TO_BE_PLANNED", "To be Planned",
            "Jobs show on grid and can be assigned to any user."),
    _status("8ADBC894-D612-DE11-BD84-0030488C6C36", "POOLING", "Pooling", "Jobs show on job pool."),
    _status("143CF9CD-C3C1-406A-A19A-58D766D9DDA9", "SUGGESTED", "Suggested", "Job suggested to any user"),
    _status("A60BC691-AB2F-42F5-8A5B-998A29A27537", "DISPATCHED", "Dispatched", "Job is dispatched to any user"),
    _status("EB014DA9-5850-4E16-B1E9-527162F1A9E0", "DISPATCH_REJECTED", "Dispatch - Rejected",
            "Dispatched job is rejected by the user"),
    _status("E2BC66AF-BD10-4035-8AA1-7AD88CB35723", "WORKSHOP", "Workshop",
            "Indicate a job has been assigned to a workshop location, but no work has started"),
    _status("41A3718F-EAA1-4EF4-9A82-2CCF3FA92BCC", "WORKSHOP_IN_QUEUE", "Workshop in queue",
            "Indicate workshop technicians have been assigned to the job, but the work has not been accepted yet"),
    _status("10F456D2-000E-48EA-93D7-E016107B7A98", "PLANNED", "Planned", "Job is assigned to user timeline."),
    _status("F79E58EE-EE04-4590-BCB1-49E8BD551659", "IN_PROGRESS", "In Progress", "Technicians are working on it."),
    _status("FC28469F-C276-4FF5-ABB7-B99F5AEE4C7D", "IN_PROGRESS_W", "In progress (W)",
            "Indicate a workshop technician has accepted the job and starting the work"),
    _status("136E1585-DFF6-4990-BFC6-DBA958B71F30", "WAITING_FURTHER_ACTIONS", "Waiting Further Actions",
            "Waiting further actions"),
    _status("1C6F7A61-3723-450B-8158-19A90D60CBD9", "WORKSHOP_WAITING_FURTHER_ACTION",
            "Workshop - Waiting further action",
            "Indicate that for example some material is required to complete the work"),
    _status("06EA451C-5863-4C97-9592-CC928DFDF869", "CANCELED", "Canceled", "Job cancel or closed.", is_closed=True),
    _status("6557B9DC-6106-4327-8E26-6F24D0329C33", "COMPLETED", "Completed",
            "Job completed and customer signature available.", is_closed=True),
    _status("CE5F26ED-5FE0-47A3-94A7-1BF4402E32D0", "WORKSHOP_COMPLETED", "Workshop - Completed",
            "Indicate the work has been completed and all the relevant documents have been generated", is_closed=True),
)  # fmt: skip
"""The system statuses with the GUIDs every Odyssee integration hard-codes (seeds/job-status-workflow.txt)."""

OPEN_STATUS_ID = SYSTEM_JOB_STATUSES[1].id


class Jobs(Entity):
    __tablename__ = "jobs"
    odata = EntityOptions(
        erp_key="reference_back_office",
        numbered=True,
        deletion=Deletion.LOGICAL,
        description="A work order.",
    )

    id2: Mapped[int] = integer(read_only=True, doc='Per-tenant running number ("Job #41").')
    reference_back_office: Mapped[str] = string(50, doc="ERP key.")
    name: Mapped[str] = string(255)
    description: Mapped[str] = string()
    _parent_id: Mapped[uuid.UUID] = reference("jobs", doc="Parent job (multi-job).")
    project_id: Mapped[uuid.UUID] = reference("project", required=True, doc="The installation worked on.")
    company_id: Mapped[uuid.UUID] = reference("company", doc="The customer.")
    contact_id: Mapped[uuid.UUID] = reference("contact")
    job_type_id: Mapped[uuid.UUID] = reference("job_type", required=True)
    job_priority_id: Mapped[uuid.UUID] = reference("job_priority")
    job_status_id: Mapped[uuid.UUID] = reference("job_status", default=OPEN_STATUS_ID, doc="Open when not given.")
    user_id: Mapped[uuid.UUID] = reference("user", doc="The assigned technician.")
    customer_reference: Mapped[str] = string(50)
    date_create: Mapped[datetime] = timestamp(default_now=True, doc="Creation time; the server's clock when not given.")
    date_planned: Mapped[datetime] = timestamp()
    date_closed: Mapped[datetime] = timestamp()
    estimated_duration: Mapped[float] = decimal(minimum=0, doc="Hours.")
    sys_logical_delete: Mapped[bool] = flag(read_only=True, doc="Set by DELETE; the row is purged later.")


class JobPartUsage(Entity):
    __tablename__ = "job_part_usage"
    odata = EntityOptions(deletion=Deletion.LOGICAL, description="A part used on a job.")

    jobs_id: Mapped[uuid.UUID] = reference("jobs", required=True)
    article_id: Mapped[uuid.UUID] = reference("article", doc="Empty when typed in manually.")
    user_id: Mapped[uuid.UUID] = reference("user", required=True, doc="The user who used the part.")
    working_date: Mapped[datetime] = timestamp()
    code: Mapped[str] = string(255)
    name: Mapped[str] = string(255)
    description: Mapped[str] = string(255)
    quantity: Mapped[float] = decimal(required=True, minimum=0.1)
    price: Mapped[float] = decimal(minimum=0, doc="Unit price.")
    remark: Mapped[str] = string(255)
    is_under_warranty: Mapped[bool] = flag(doc="Price forced to 0.")
    job_approval_id: Mapped[uuid.UUID] = reference("job_approval")
    signed_by_company: Mapped[bool] = flag(read_only=True, doc="Included in a signed approval.")
    sys_logical_delete: Mapped[bool] = flag(read_only=True)


class JobNonPartUsage(Entity):
    __tablename__ = "job_non_part_usage"
    odata = EntityOptions(deletion=Deletion.LOGICAL, description="Labour or travel time on a job.")

    jobs_id: Mapped[uuid.UUID] = reference("jobs", required=True)
    user_id: Mapped[uuid.UUID] = reference("user")
    hour_type_id: Mapped[uuid.UUID] = reference("hour_type")
    working_date: Mapped[datetime] = timestamp(required=True)
    timesheet_date_from: Mapped[datetime] = timestamp()
    timesheet_date_to: Mapped[datetime] = timestamp()
    type_code: Mapped[str] = string(50, required=True, doc="WorkingTime or TravelTime.")
    line_code: Mapped[str] = string(50)
    description: Mapped[str] = string(255)
    quantity: Mapped[float] = decimal(required=True, minimum=0.1, doc="Hours in decimal (45 min = 0.75).")
    price: Mapped[float] = decimal(minimum=0)
    discount: Mapped[float] = decimal(minimum=0, maximum=100)
    line_memo: Mapped[str] = string(4000)
    is_under_warranty: Mapped[bool] = flag()
    job_approval_id: Mapped[uuid.UUID] = reference("job_approval")
    signed_by_company: Mapped[bool] = flag(read_only=True)
    sys_logical_delete: Mapped[bool] = flag(read_only=True)


class JobApproval(Entity):
    __tablename__ = "job_approval"
    odata = EntityOptions(
        deletion=Deletion.FORBIDDEN,
        deletion_hint="A job approval is a signed document and cannot be deleted.",
        description="An approval signed by the customer at the end of a visit.",
    )

    jobs_id: Mapped[uuid.UUID] = reference("jobs", required=True)
    user_id: Mapped[uuid.UUID] = reference("user", required=True, doc="Technician making the approval.")
    ready_for_multi_approval: Mapped[bool] = flag()
    is_daily_approval: Mapped[bool] = flag(doc="An intermediate approval; the job stays open.")
    contact_id: Mapped[uuid.UUID] = reference("contact")
    contact_name: Mapped[str] = string(255)
    customer_remarks: Mapped[str] = string(4000)
    date_generated: Mapped[datetime] = timestamp(read_only=True, doc="When the approval was made; set by the server.")
    additional_email: Mapped[str] = string(4000)
    is_signed: Mapped[bool] = flag()
    signature: Mapped[bytes] = binary(doc="The customer's signature: a PNG, base64 in JSON.")
    job_status_id: Mapped[uuid.UUID] = reference("job_status", doc="Status applied to the job.")
    rating: Mapped[int] = integer(minimum=0, maximum=5)


class HourType(Entity):
    __tablename__ = "hour_type"
    odata = EntityOptions(erp_key="code", description="A kind of working or travel time.")

    code: Mapped[str] = string(50, doc="ERP key; becomes job_non_part_usage.line_code.")
    description: Mapped[str] = string(255, required=True)
    commercial_description: Mapped[str] = string(255)
    archived: Mapped[bool] = flag()
    is_travel: Mapped[bool] = flag()
    allow_in_job: Mapped[bool] = flag(True)
    convert_as_invoicable: Mapped[bool] = flag(True)
