"""Typed entity dicts, one per entity set: generated from the entity model; do not edit by hand.

Regenerate with ``uv run python -m odyssee.client.generate > src/odyssee/client/entities.py``.
Every class is a ``TypedDict`` with ``total=False``: a response holds the properties you selected,
a body the ones you send. GUIDs and datetimes (``2026-11-23T13:08:00.000Z``, UTC) are strings,
bytes are base64 strings. Rows also carry ``@odata.etag``, which a TypedDict cannot name.
"""

from __future__ import annotations

from typing import TypedDict


class ArticleDict(TypedDict, total=False):
    """Article: A part or service that can be used on a job."""

    id: str
    code: str
    name: str
    description_short: str
    description: str
    barcode: str
    article_category_id: str
    entered_price: float
    min_article_quantity: float
    archived: bool
    no_stock: bool
    is_dummy: bool
    use_serial: bool
    is_travel_fee: bool
    is_mileage_fee: bool
    length: float
    width: float
    height: float
    mass: float
    volume: float
    modified_dateutc: str


class ArticleCategoryDict(TypedDict, total=False):
    """ArticleCategory: A tree of article categories."""

    id: str
    code: str
    name: str
    parent_id: str
    modified_dateutc: str


class CompanyDict(TypedDict, total=False):
    """Company: A customer or supplier."""

    id: str
    code: str
    name: str
    is_client: bool
    is_supplier: bool
    archived: bool
    notes: str
    create_date: str
    company_type_id: str
    sales_organization_id: str
    parent_id: str
    vat_reg_code: str
    is_working_address: bool
    phone: str
    mobile: str
    fax: str
    url: str
    email: str
    street: str
    street2: str
    street_number: str
    zip: str
    city: str
    db_country_code: str
    latitude_decimal: float
    longitude_decimal: float
    discount: float
    credit_limit: float
    modified_dateutc: str


class CompanyTypeDict(TypedDict, total=False):
    """CompanyType: A classification of companies (customer, prospect, ...)."""

    id: str
    code: str
    name: str
    description: str
    sales_organization_id: str
    modified_dateutc: str


class ContactDict(TypedDict, total=False):
    """Contact: A person at a company."""

    id: str
    reference_back_office: str
    firstname: str
    lastname: str
    company_id: str
    archived: bool
    functions: str
    e_login: str
    phone: str
    mobile: str
    email: str
    skype: str
    private_phone: str
    private_mobile: str
    private_email: str
    notes: str
    birthdate: str
    create_date: str
    modified_dateutc: str


class DbFileDict(TypedDict, total=False):
    """DbFile: A stored file: global, linked to a row, or generated (approval PDF)."""

    id: str
    name: str
    description: str
    file_name: str
    mime_type: str
    file_size: int
    db_table_name: str
    id_in_table: str
    file_type_name: str
    image_width: int
    image_heigth: int
    db_file_folder_id: str
    sales_organization_id: str
    user_notification: bool
    is_archived: bool
    modified_dateutc: str
    file_content: str


class DbFileFolderDict(TypedDict, total=False):
    """DbFileFolder: A folder of the document manager."""

    id: str
    reference_back_office: str
    name: str
    description: str
    parent_id: str
    sequence: int
    is_sales: bool
    is_services: bool
    is_articles: bool
    modified_dateutc: str


class HourTypeDict(TypedDict, total=False):
    """HourType: A kind of working or travel time."""

    id: str
    code: str
    description: str
    commercial_description: str
    archived: bool
    is_travel: bool
    allow_in_job: bool
    convert_as_invoicable: bool
    modified_dateutc: str


class JobApprovalDict(TypedDict, total=False):
    """JobApproval: An approval signed by the customer at the end of a visit."""

    id: str
    jobs_id: str
    user_id: str
    ready_for_multi_approval: bool
    is_daily_approval: bool
    contact_id: str
    contact_name: str
    customer_remarks: str
    date_generated: str
    additional_email: str
    is_signed: bool
    signature: str
    job_status_id: str
    rating: int
    modified_dateutc: str


class JobDispatchLogDict(TypedDict, total=False):
    """JobDispatchLog: One row per user a job was dispatched or sent to the workshop to, and the answer."""

    id: str
    jobs_id: str
    user_id: str
    is_workshop: bool
    is_accepted: bool
    is_rejected: bool
    reject_reason: str
    date_dispatched: str
    date_proceeded: str
    is_active: bool
    modified_dateutc: str


class JobNonPartUsageDict(TypedDict, total=False):
    """JobNonPartUsage: Labour or travel time on a job."""

    id: str
    jobs_id: str
    user_id: str
    hour_type_id: str
    working_date: str
    timesheet_date_from: str
    timesheet_date_to: str
    type_code: str
    line_code: str
    description: str
    quantity: float
    price: float
    discount: float
    line_memo: str
    is_under_warranty: bool
    job_approval_id: str
    signed_by_company: bool
    sys_logical_delete: bool
    modified_dateutc: str


class JobPartUsageDict(TypedDict, total=False):
    """JobPartUsage: A part used on a job."""

    id: str
    jobs_id: str
    article_id: str
    user_id: str
    working_date: str
    code: str
    name: str
    description: str
    quantity: float
    price: float
    remark: str
    is_under_warranty: bool
    job_approval_id: str
    signed_by_company: bool
    sys_logical_delete: bool
    modified_dateutc: str


class JobPriorityDict(TypedDict, total=False):
    """JobPriority: The priority of a work order."""

    id: str
    code: str
    name: str
    is_default: bool
    sequence: int
    sales_organization_id: str
    modified_dateutc: str


class JobStatusDict(TypedDict, total=False):
    """JobStatus: A status of the job workflow. The 17 system statuses are seeded in every tenant and cannot be
    changed; a tenant may add virtual statuses under Completed (docs/workflow.md).
    """

    id: str
    code: str
    name: str
    description: str
    sequence: int
    is_closed: bool
    parent_id: str
    modified_dateutc: str


class JobStatusHistoryDict(TypedDict, total=False):
    """JobStatusHistory: Every status change of every job: who, when, from, to."""

    id: str
    jobs_id: str
    from_job_status_id: str
    to_job_status_id: str
    user_id: str
    username: str
    date_change: str
    reason: str
    modified_dateutc: str


class JobTypeDict(TypedDict, total=False):
    """JobType: A kind of work order."""

    id: str
    code: str
    name: str
    description: str
    is_default: bool
    archived: bool
    sales_organization_id: str
    modified_dateutc: str


class JobsDict(TypedDict, total=False):
    """Jobs: A work order."""

    id: str
    id2: int
    reference_back_office: str
    name: str
    description: str
    _parent_id: str
    project_id: str
    company_id: str
    contact_id: str
    job_type_id: str
    job_priority_id: str
    job_status_id: str
    user_id: str
    customer_reference: str
    date_create: str
    date_planned: str
    date_closed: str
    estimated_duration: float
    sys_logical_delete: bool
    modified_dateutc: str


class ProjectDict(TypedDict, total=False):
    """Project: An installation or location at a company."""

    id: str
    id2: int
    reference_back_office: str
    name: str
    description: str
    customer_reference: str
    _parent_id: str
    company_id: str
    project_type_id: str
    project_status_id: str
    is_mobile_installation: bool
    serial_number: str
    barcode: str
    street: str
    street_number: str
    zip: str
    city: str
    modified_dateutc: str


class ProjectStatusDict(TypedDict, total=False):
    """ProjectStatus: The status of a project."""

    id: str
    code: str
    name: str
    is_default: bool
    is_closed: bool
    sequence: int
    sales_organization_id: str
    modified_dateutc: str


class ProjectTypeDict(TypedDict, total=False):
    """ProjectType: A kind of project (maintenance contract, installation, ...)."""

    id: str
    code: str
    name: str
    description: str
    is_default: bool
    sales_organization_id: str
    modified_dateutc: str


class SalesOrganizationDict(TypedDict, total=False):
    """SalesOrganization: A sales organisation (legal entity or branch)."""

    id: str
    code: str
    name: str
    description: str
    accountancy_code: str
    archived: bool
    street: str
    street2: str
    street_number: str
    zip: str
    city: str
    email: str
    phone: str
    fax: str
    url: str
    vat_reg_code: str
    modified_dateutc: str


class TaskDict(TypedDict, total=False):
    """Task: A task linked to a company, project or job."""

    id: str
    id2: int
    subject: str
    remark: str
    task_type_id: str
    task_status_id: str
    task_priority_id: str
    company_id: str
    contact_id: str
    assigned_to_user_id: str
    to_db_table_name: str
    to_id_in_table: str
    customer_reference: str
    date_create: str
    date_start: str
    due_date: str
    date_closed: str
    archived: bool
    modified_dateutc: str


class TaskPriorityDict(TypedDict, total=False):
    """TaskPriority: The priority of a task."""

    id: str
    code: str
    name: str
    is_default: bool
    sequence: int
    modified_dateutc: str


class TaskStatusDict(TypedDict, total=False):
    """TaskStatus: A status of a task."""

    id: str
    reference_back_office: str
    name: str
    description: str
    is_default: bool
    is_closed: bool
    only_for_e_service: bool
    sales_organization_id: str
    modified_dateutc: str


class TaskTypeDict(TypedDict, total=False):
    """TaskType: A kind of task."""

    id: str
    code: str
    name: str
    description: str
    is_default: bool
    sequence: int
    only_for_e_service: bool
    email_notification: bool
    sales_organization_id: str
    modified_dateutc: str


class UserDict(TypedDict, total=False):
    """User: A technician or office user."""

    id: str
    code: str
    username: str
    firstname: str
    lastname: str
    email: str
    phone: str
    mobile: str
    archived: bool
    disabled: bool
    functions: str
    notes: str
    birthdate: str
    sales_organization_id: str
    is_team_leader: bool
    team_leader_user_id: str
    emergency_contact: str
    skype: str
    nationality: str
    place_of_birth: str
    bankaccount: str
    social_security: str
    modified_dateutc: str


class WebhookDeliveryDict(TypedDict, total=False):
    """WebhookDelivery: One POST to a subscriber: which events, the answer, how long it took."""

    id: str
    webhook_subscription_id: str
    entity: str
    event_count: int
    first_stamp: str
    last_stamp: str
    attempt: int
    is_success: bool
    status_code: int
    error: str
    duration_ms: int
    date_sent: str
    modified_dateutc: str


class WebhookSubscriptionDict(TypedDict, total=False):
    """WebhookSubscription: Where to POST the changes of which entities, and the key to sign them with."""

    id: str
    name: str
    url: str
    entities: str
    events: str
    is_active: bool
    consecutive_failures: int
    disabled_reason: str
    next_attempt_dateutc: str
    last_delivery_dateutc: str
    modified_dateutc: str


ENTITY_SETS: tuple[str, ...] = (
    "Article",
    "ArticleCategory",
    "Company",
    "CompanyType",
    "Contact",
    "DbFile",
    "DbFileFolder",
    "HourType",
    "JobApproval",
    "JobDispatchLog",
    "JobNonPartUsage",
    "JobPartUsage",
    "JobPriority",
    "JobStatus",
    "JobStatusHistory",
    "JobType",
    "Jobs",
    "Project",
    "ProjectStatus",
    "ProjectType",
    "SalesOrganization",
    "Task",
    "TaskPriority",
    "TaskStatus",
    "TaskType",
    "User",
    "WebhookDelivery",
    "WebhookSubscription",
)
"""Every entity set (controller) name."""

ERP_KEYS: dict[str, str] = {
    "Article": "code",
    "ArticleCategory": "code",
    "Company": "code",
    "CompanyType": "code",
    "Contact": "reference_back_office",
    "DbFileFolder": "reference_back_office",
    "HourType": "code",
    "JobPriority": "code",
    "JobStatus": "code",
    "JobType": "code",
    "Jobs": "reference_back_office",
    "Project": "reference_back_office",
    "ProjectStatus": "code",
    "ProjectType": "code",
    "SalesOrganization": "code",
    "TaskPriority": "code",
    "TaskStatus": "reference_back_office",
    "TaskType": "code",
    "User": "code",
}
"""The ERP key column of each entity set that has one: ``Company(code='C001')``."""

ENTITY_TYPES: dict[str, type] = {
    "Article": ArticleDict,
    "ArticleCategory": ArticleCategoryDict,
    "Company": CompanyDict,
    "CompanyType": CompanyTypeDict,
    "Contact": ContactDict,
    "DbFile": DbFileDict,
    "DbFileFolder": DbFileFolderDict,
    "HourType": HourTypeDict,
    "JobApproval": JobApprovalDict,
    "JobDispatchLog": JobDispatchLogDict,
    "JobNonPartUsage": JobNonPartUsageDict,
    "JobPartUsage": JobPartUsageDict,
    "JobPriority": JobPriorityDict,
    "JobStatus": JobStatusDict,
    "JobStatusHistory": JobStatusHistoryDict,
    "JobType": JobTypeDict,
    "Jobs": JobsDict,
    "Project": ProjectDict,
    "ProjectStatus": ProjectStatusDict,
    "ProjectType": ProjectTypeDict,
    "SalesOrganization": SalesOrganizationDict,
    "Task": TaskDict,
    "TaskPriority": TaskPriorityDict,
    "TaskStatus": TaskStatusDict,
    "TaskType": TaskTypeDict,
    "User": UserDict,
    "WebhookDelivery": WebhookDeliveryDict,
    "WebhookSubscription": WebhookSubscriptionDict,
}

__all__ = [
    "ENTITY_SETS",
    "ENTITY_TYPES",
    "ERP_KEYS",
    "ArticleCategoryDict",
    "ArticleDict",
    "CompanyDict",
    "CompanyTypeDict",
    "ContactDict",
    "DbFileDict",
    "DbFileFolderDict",
    "HourTypeDict",
    "JobApprovalDict",
    "JobDispatchLogDict",
    "JobNonPartUsageDict",
    "JobPartUsageDict",
    "JobPriorityDict",
    "JobStatusDict",
    "JobStatusHistoryDict",
    "JobTypeDict",
    "JobsDict",
    "ProjectDict",
    "ProjectStatusDict",
    "ProjectTypeDict",
    "SalesOrganizationDict",
    "TaskDict",
    "TaskPriorityDict",
    "TaskStatusDict",
    "TaskTypeDict",
    "UserDict",
    "WebhookDeliveryDict",
    "WebhookSubscriptionDict",
]
