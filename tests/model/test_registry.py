"""The entity model encodes the spec's conventions for every table, and the registry sees them all."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from odyssee.model.base import Base
from odyssee.model.registry import Kind, registry
from odyssee.model.types import UtcDateTime

SPECS = list(registry())


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_column_is_not_null_with_a_default(spec: object) -> None:
    for column in spec.table.columns:  # type: ignore[attr-defined]
        assert not column.nullable, column
        if not column.primary_key:
            assert column.server_default is not None, f"{column} needs a server default for future migrations"


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_keys_and_server_maintained_columns(spec: object) -> None:
    table = spec.table  # type: ignore[attr-defined]
    assert [c.name for c in table.primary_key.columns] == ["tenant_id", "id"]
    assert "tenant_id" not in spec.by_name, "the tenant is never exposed"  # type: ignore[attr-defined]
    modified = spec.field("modified_dateutc")  # type: ignore[attr-defined]
    assert modified is not None and modified.read_only and isinstance(modified.column.type, UtcDateTime)
    for field in spec.references:  # type: ignore[attr-defined]
        assert field.name.endswith("_id") and field.kind is Kind.GUID
        assert field.column.index, f"{field.name} is filtered on and needs an index"


SECOND_ROLE_KEYS = (
    "parent_id",
    "_parent_id",
    "team_leader_user_id",
    "assigned_to_user_id",
    "from_job_status_id",
    "to_job_status_id",
)


def test_foreign_keys_are_named_after_their_table() -> None:
    for spec in registry():
        for field in spec.references:
            if field.name not in SECOND_ROLE_KEYS:
                assert field.name == f"{field.references}_id", f"{spec.name}.{field.name}"


def test_erp_keys_are_unique_per_tenant_when_not_empty() -> None:
    for spec in registry():
        if spec.options.erp_key:
            index = next(i for i in spec.table.indexes if i.name == f"uq_{spec.table_name}_{spec.options.erp_key}")
            assert index.unique
            assert [c.name for c in index.columns] == ["tenant_id", spec.options.erp_key]


def test_max_lengths_from_the_spec() -> None:
    company = registry().lookup("Company")
    assert company is not None
    assert company.by_name["name"].max_length == 64
    assert company.by_name["email"].max_length == 250
    jobs = registry().lookup("JobNonPartUsage")
    assert jobs is not None and jobs.by_name["line_memo"].max_length == 4000


def test_lookup_is_case_insensitive() -> None:
    assert registry().lookup("jobpartusage") is registry().lookup("JobPartUsage") is not None
    assert registry().lookup("Nope") is None


def test_every_table_is_in_the_metadata() -> None:
    exposed = {spec.table_name for spec in registry()}
    assert exposed | {
        "tenant",
        "credential",
        "counter",
        "task_queue",
        "blob",
        "change_clock",
        "change_event",
        "webhook_cursor",
        "change_horizon",
        "login_epoch",
    } == set(Base.metadata.tables)
    assert all(isinstance(Base.metadata.tables[name], sa.Table) for name in exposed)


def test_navigation_properties_come_in_partner_pairs() -> None:
    jobs = registry().lookup("Jobs")
    company = registry().lookup("Company")
    assert jobs is not None and company is not None
    to_company = jobs.navigation("company")
    assert to_company is not None and not to_company.many and to_company.foreign_key == "company_id"
    back = company.navigation(to_company.partner)
    assert back is not None and back.name == "jobs" and back.many and back.partner == "company"
    assert company.navigation("projects") is not None
    assert company.navigation("children") is not None and company.navigation("parent") is not None
    user = registry().lookup("User")
    assert user is not None and user.navigation("tasks_as_assigned_to_user") is not None
    for spec in registry():
        for navigation in spec.navigations:
            other = registry().by_table(navigation.target)
            partner = other.navigation(navigation.partner)
            assert partner is not None and partner.partner == navigation.name, f"{spec.name}.{navigation.name}"
