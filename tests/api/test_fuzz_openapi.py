"""Schemathesis against our OpenAPI document: every operation, in-process on the ASGI app.

The document is the one ``/openapi.json`` serves (``odyssee.api.openapi.document``, derived from
the entity model). Every generated request — valid ones and deliberately invalid ones (schemathesis'
positive and negative modes) — is sent with a tenant's Basic credentials to the real app over a
real migrated database (SQLite or PostgreSQL, as the suite runs), and each response must:

* not be a 5xx (``not_a_server_error``),
* have a status code the document lists for that operation (``status_code_conformance``),
* match the documented schema for that status, error bodies included (``response_schema_conformance``),
* have the documented content type (``content_type_conformance``).

Half of the generated ``{id}`` path parameters are swapped for rows that exist, so that reads,
replaces and deletes reach real rows and not only 404s. The run is bounded and reproducible: a
fixed seed, derandomized Hypothesis, no example database, ``ODYSSEE_FUZZ_EXAMPLES`` examples per
operation and mode (5 by default). See docs/testing.md for a longer local run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette

from odyssee.api.app import create_app
from odyssee.api.openapi import document
from odyssee.db.engine import Database
from odyssee.settings import Settings
from tests.conftest import Tenant, fresh_database_url, make_tenant
from tests.factories import Factory

EXAMPLES = int(os.environ.get("ODYSSEE_FUZZ_EXAMPLES", "5"))
COVERAGE = os.environ.get("ODYSSEE_FUZZ_COVERAGE", "") not in ("", "0")
"""Also run schemathesis' coverage phase (boundary values of every schema; many more requests)."""
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
SEEDED = ("Company", "CompanyType", "Project", "Jobs", "Article", "JobType", "Contact", "WebhookSubscription")

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260102,
        "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"coverage": {"enabled": COVERAGE}, "stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(document(), config=CONFIG)


class Target(NamedTuple):
    app: Starlette
    tenant: Tenant
    ids: dict[str, list[str]]
    """Existing rows per entity set, for ``{id}``."""


@pytest.fixture(scope="module")
def target(template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One database for the whole run (a fresh one per operation would cost more than the requests)."""
    with fresh_database_url(template, tmp_path_factory.mktemp("fuzz")) as url:
        database = Database(url)
        app = create_app(Settings(database_url=url, max_body_bytes=64 * 1024), database)
        with TestClient(app, base_url="http://testserver") as client:
            tenant = make_tenant(database, client)
            make = Factory(tenant)
            yield Target(app, tenant, {name: [make(name)["id"], make(name)["id"]] for name in SEEDED})
        database.dispose()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: schemathesis.Case, target: Target) -> None:
    entity_set = case.operation.path.removeprefix("/api/").split("(")[0]
    existing = target.ids.get(entity_set)
    generated = str((case.path_parameters or {}).get("id", ""))
    if existing and generated and ord(generated[-1]) % 2 == 0:
        case.path_parameters = {**(case.path_parameters or {}), "id": existing[ord(generated[0]) % len(existing)]}
    case.call_and_validate(app=target.app, headers=target.tenant.headers, checks=CHECKS)
