"""Build valid entities through the real API, deriving minimal bodies from the entity model.

``make("Jobs")`` creates a job and, first, everything it needs (a project, which needs a
company, a project status ...), each by POST, exactly as an integrator would.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from odyssee.model.registry import EntitySpec, Field, Kind, registry

SAMPLE_VALUES: dict[Kind, Any] = {
    Kind.DECIMAL: 1.5,
    Kind.INT32: 1,
    Kind.DATETIME: "2026-01-02T03:04:05.678Z",
    Kind.BOOLEAN: True,
}

SPECIAL: dict[tuple[str, str], Any] = {("JobNonPartUsage", "type_code"): "WorkingTime"}
"""Values the model constrains beyond type and length."""


class _Caller(Protocol):
    def post(self, url: str, body: Any = None, **kwargs: Any) -> Any: ...


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
        for field in spec.writable:
            if field.name in overrides:
                continue
            if field.references and field.required:
                target = registry().by_table(field.references)
                body[field.name] = self(target.name)["id"]
            elif field.required or field.name == spec.options.erp_key or field.name in spec.options.unique:
                body[field.name] = sample(spec, field)
        return body | overrides

    def __call__(self, controller: str, **overrides: Any) -> dict[str, Any]:
        response = self.caller.post(f"/api/{controller}", self.body(controller, **overrides))
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]
