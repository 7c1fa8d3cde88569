"""Every exposed entity. Importing this package registers them all on ``Base.metadata``."""

from odyssee.model.entities.articles import Article, ArticleCategory
from odyssee.model.entities.files import DbFile, DbFileFolder
from odyssee.model.entities.jobs import (
    HourType,
    JobApproval,
    JobNonPartUsage,
    JobPartUsage,
    JobPriority,
    Jobs,
    JobStatus,
    JobType,
)
from odyssee.model.entities.organisation import (
    Company,
    CompanyType,
    Contact,
    SalesOrganization,
)
from odyssee.model.entities.people import User
from odyssee.model.entities.projects import Project, ProjectStatus, ProjectType
from odyssee.model.entities.tasks import Task, TaskPriority, TaskStatus, TaskType
from odyssee.model.entities.webhooks import WebhookDelivery, WebhookSubscription
from odyssee.model.entities.workflow import JobDispatchLog, JobStatusHistory

__all__ = [
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
]
