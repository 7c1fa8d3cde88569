"""Build valid entities through the real API, deriving minimal bodies from the entity model.

``make("Jobs")`` creates a job and, first, everything it needs (a project, which needs a
company, a project status ...), each by POST, exactly as an integrator would.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from odyssee.domain.workflow import STATUS_ID, path_to
from odyssee.model.registry import EntitySpec, Field, Kind, registry

SAMPLE_VALUES: dict[Kind, Any] = {
    Kind.DECIMAL: 1.5,
    Kind.INT32: 1,
    Kind.DATETIME: "2026-01-02T03:04:05.678Z",
    Kind.BOOLEAN: True,
}

AWKWARD = 'a "quote" \\ back/slash\ttab\nline é 日本 \u2028 <&> \x01'
"""A string that JSON must escape every way: quotes, backslash, control characters, U+2028."""

COMPLETED = "6557b9dc-6106-4327-8e26-6f24d0329c33"
SPECIAL: dict[tuple[str, str], Any] = {
    ("JobNonPartUsage", "type_code"): "WorkingTime",
    ("JobStatus", "parent_id"): COMPLETED,
    ("WebhookSubscription", "url"): "http://127.0.0.1:9/hook",
    ("WebhookSubscription", "entities"): "Jobs,Company",
    ("WebhookSubscription", "events"): "created,updated",
}
"""Values the model constrains beyond type and length."""


class _Caller(Protocol):
    def post(self, url: str, body: Any = None, **kwargs: Any) -> Any: ...

    def patch(self, url: str, body: Any = None, **kwargs: Any) -> Any: ...


def sample(spec: EntitySpec, field: Field) -> Any:
    if (spec.name, field.name) in SPECIAL:
        return SPECIAL[(spec.name, field.name)]
    if field.kind is Kind.STRING:
        return f"{field.name[:8]}-{uuid.uuid4().hex[:8]}"[: field.max_length or 40]
    return SAMPLE_VALUES[field.kind]


class Factory:
    def __init__(self, caller: _Caller) -> None:
        self.caller = caller

    def body(self, controller: str, **overrides: Any) -> dict[str, Any]:
        """A minimal valid body: every required property, plus the ERP key, plus ``overrides``."""
        spec = registry().lookup(controller)
        assert spec is not None, controller
        body: dict[str, Any] = {}
        if spec.name == "JobApproval" and "jobs_id" not in overrides:
            overrides = {"jobs_id": self.job("IN_PROGRESS")["id"], **overrides}  # an approval ends a visit
        for field in spec.writable:
            if field.name in overrides:
                continue
            if field.references and field.required:
                target = registry().by_table(field.references)
                body[field.name] = self(target.name)["id"]
            elif (
                field.required
                or field.name == spec.options.erp_key
                or field.name in spec.options.unique
                or (spec.name, field.name) in SPECIAL
            ):
                body[field.name] = sample(spec, field)
        return body | overrides

    def job(self, status: str, **overrides: Any) -> dict[str, Any]:
        """A job walked from Open to ``status`` (a workflow code such as ``COMPLETED``) by PATCHes,
        as a client must: the workflow forbids creating it there directly."""
        job = self("Jobs", **overrides)
        for step in path_to(status) if status != "OPEN" else []:
            response = self.caller.patch(f"/api/Jobs({job['id']})", {"job_status_id": str(STATUS_ID[step])})
            assert response.status_code == 200, response.text
            job = response.json()
        return job

    def __call__(self, controller: str, **overrides: Any) -> dict[str, Any]:
        response = self.caller.post(f"/api/{controller}", self.body(controller, **overrides))
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]
