"""$filter through the real API: every operator, function, literal form, navigation and lambda, and its errors.

Runs on SQLite by default and on PostgreSQL with ODYSSEE_TEST_DATABASE_URL; the expected rows are
the same on both, which is the point.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from odyssee.db.engine import Database
from odyssee.model.entities.jobs import SYSTEM_JOB_STATUSES
from tests.conftest import Tenant, make_tenant
from tests.factories import Factory

COMPLETED = str(SYSTEM_JOB_STATUSES[15].id)


def found(tenant: Tenant, controller: str, expression: str, key: str = "name") -> list[Any]:
    """The ``key`` of every row matching ``expression``, in ``key`` order, across pages."""
    response = tenant.get(f"/api/{controller}", params={"$filter": expression, "$orderby": key, "$top": "1000"})
    assert response.status_code == 200, (expression, response.text)
    body = response.json()
    rows = body["value"]
    link = body.get("@odata.nextLink")
    while link:
        page = tenant.get(link).json()
        rows += page["value"]
        link = page.get("@odata.nextLink")
    return [row[key] for row in rows]


def refused(tenant: Tenant, expression: str, controller: str = "Company") -> dict[str, Any]:
    response = tenant.get(f"/api/{controller}", params={"$filter": expression})
    assert response.status_code == 400, (expression, response.status_code, response.text)
    error: dict[str, Any] = response.json()["error"]
    assert set(error) >= {"code", "message"}
    return error


@pytest.fixture
def companies(tenant: Tenant) -> list[dict[str, Any]]:
    rows = [
        {
            "code": "A",
            "name": "Acme 50% off",
            "city": "Gent",
            "discount": 2.5,
            "credit_limit": 100,
            "latitude_decimal": -2.5,
            "is_client": True,
            "create_date": "2026-01-02T03:04:05.678Z",
            "notes": "  padded  ",
        },
        {
            "code": "B",
            "name": "Bakery_1",
            "city": "Brussels",
            "discount": 12.5,
            "credit_limit": 7.5,
            "latitude_decimal": 1.5,
            "is_supplier": True,
            "create_date": "2026-01-02T23:59:59.999Z",
        },
        {
            "code": "C",
            "name": "Château Élan",
            "city": "Liège",
            "discount": 0,
            "credit_limit": 0,
            "latitude_decimal": -1.25,
            "create_date": "2025-12-31T12:00:00.000Z",
        },
        {
            "code": "D",
            "name": "dairy O'Neil",
            "city": "",
            "discount": 100,
            "credit_limit": 3,
            "latitude_decimal": 0.5,
            "create_date": "1980-01-01T00:00:00Z",
        },
    ]
    return [tenant.post("/api/Company", row).json() for row in rows]


EXPRESSIONS: list[tuple[str, list[str]]] = [
    # comparison, logic, precedence
    ("code eq 'A' or code eq 'B' and is_client", ["A"]),
    ("(code eq 'A' or code eq 'B') and not is_client", ["B"]),
    ("not (discount gt 2) and not is_supplier", ["C"]),
    ("name gt 'Bakery_1'", ["C", "D"]),
    ("name lt 'a'", ["A", "B", "C"]),
    ("name le 'Bakery_1' and name ge 'Acme'", ["A", "B"]),
    ("is_client eq is_supplier", ["C", "D"]),
    ("is_supplier ne false", ["B"]),
    # case-sensitive strings
    ("name eq 'acme 50% off'", []),
    ("contains(name, 'É')", ["C"]),
    ("contains(name, 'é')", []),
    # arithmetic
    ("discount add 1 eq 3.5", ["A"]),
    ("discount sub 2.5 eq 0", ["A"]),
    ("discount mul 2 eq 25", ["B"]),
    ("discount div 2 eq 1.25", ["A"]),
    ("credit_limit mod 2 eq 1.5", ["B"]),
    ("credit_limit mod 2 eq 1 and credit_limit gt 0", ["D"]),
    ("-latitude_decimal gt 2", ["A"]),
    ("-(discount) lt -50", ["D"]),
    ("discount add credit_limit mul 2 eq 27.5", ["B"]),
    ("(discount add credit_limit) mul 2 eq 40", ["B"]),
    ("length(name) div 5 eq 2", ["A", "C", "D"]),
    ("length(name) divby 5 eq 1.6", ["B"]),
    ("length(name) mod 5 eq 3", ["B"]),
    ("credit_limit div (discount sub discount) eq 1 or code eq 'A'", ["A"]),
    ("not (credit_limit div discount gt 1)", ["B", "C", "D"]),
    # in
    ("city in ('Gent', 'Brussels')", ["A", "B"]),
    ("city in ('Gent')", ["A"]),
    ("code in ('C',)", ["C"]),
    ("discount in (0, 100)", ["C", "D"]),
    # string functions
    ("contains(name, '50%')", ["A"]),
    ("contains(name, '0%')", ["A"]),
    ("contains(name, '_')", ["B"]),
    ("contains(name, 'y_')", ["B"]),
    ("contains(name, '%')", ["A"]),
    ("contains(name, '''')", ["D"]),
    ("startswith(name, 'Bakery_')", ["B"]),
    ("startswith(name, 'B%')", []),
    ("endswith(name, '% off')", ["A"]),
    ("endswith(name, 'Élan')", ["C"]),
    ("contains(name, city)", ["D"]),
    ("contains(concat(name, city), 'offGent')", ["A"]),
    ("startswith(name, substring(code, 0, 1))", ["A", "B", "C"]),
    ("endswith(concat(name, code), code)", ["A", "B", "C", "D"]),
    ("length(name) eq 12", ["A", "C", "D"]),
    ("length(city) eq 0", ["D"]),
    ("indexof(name, 'a') eq 1", ["B", "D"]),
    ("indexof(name, 'zzz') eq -1", ["A", "B", "C", "D"]),
    ("indexof(name, '') eq 0", ["A", "B", "C", "D"]),
    ("substring(name, 1) eq 'cme 50% off'", ["A"]),
    ("substring(name, 8, 4) eq 'Élan'", ["C"]),
    ("substring(name, 100) eq ''", ["A", "B", "C", "D"]),
    ("substring(name, -1, 2) eq 'Ac'", ["A"]),
    ("tolower(name) eq 'château élan'", ["C"]),
    ("toupper(city) eq 'LIÈGE'", ["C"]),
    ("toupper(name) eq 'DAIRY O''NEIL'", ["D"]),
    ("trim(notes) eq 'padded'", ["A"]),
    ("length(trim(notes)) eq 6", ["A"]),
    ("concat(concat(code, '-'), city) eq 'B-Brussels'", ["B"]),
    ("tolower(concat(name, 'X')) eq 'bakery_1x'", ["B"]),
    ("concat('x', code) eq 'xD'", ["D"]),
    # date and time functions (UTC)
    ("year(create_date) eq 2026", ["A", "B"]),
    ("month(create_date) eq 12", ["C"]),
    ("day(create_date) eq 2", ["A", "B"]),
    ("hour(create_date) eq 23", ["B"]),
    ("minute(create_date) eq 4 and second(create_date) eq 5", ["A"]),
    ("fractionalseconds(create_date) eq 0.678", ["A"]),
    ("fractionalseconds(create_date) gt 0.9", ["B"]),
    ("date(create_date) eq 2026-01-02", ["A", "B"]),
    ("date(create_date) eq '2026-01-02'", ["A", "B"]),
    ("date(create_date) lt 2026-01-01 and year(create_date) gt 2000", ["C"]),
    ("time(create_date) eq 12:00:00", ["C"]),
    ("time(create_date) gt 23:59:59.998", ["B"]),
    ("time(create_date) lt 04:00", ["A", "D"]),
    ("create_date lt now() and create_date gt mindatetime()", ["A", "B", "C", "D"]),
    ("create_date lt maxdatetime() and totaloffsetminutes(create_date) eq 0", ["A", "B", "C", "D"]),
    ("year(create_date) eq 1980", ["D"]),
    ("create_date eq null", ["D"]),
    # math functions
    ("round(discount) eq 3", ["A"]),
    ("round(latitude_decimal) eq -3", ["A"]),
    ("round(latitude_decimal) eq -1 and round(credit_limit) eq 0", ["C"]),
    ("floor(latitude_decimal) eq -2", ["C"]),
    ("ceiling(latitude_decimal) eq -2", ["A"]),
    ("floor(discount) eq 12 and ceiling(discount) eq 13", ["B"]),
    ("round(length(name)) eq 8", ["B"]),
    # null is the empty value
    ("city eq null", ["D"]),
    ("null ne city", ["A", "B", "C"]),
    ("parent_id eq null", ["A", "B", "C", "D"]),
    # literal forms
    ("create_date eq 2026-01-02T03:04:05.678Z", ["A"]),
    ("create_date eq '2026-01-02T03:04:05.678Z'", ["A"]),
    ("create_date eq datetime'2026-01-02T03:04:05.678'", ["A"]),
    ("create_date eq datetimeoffset'2026-01-02T04:04:05.678+01:00'", ["A"]),
    ("create_date eq 2026-01-02T04:04:05.678+01:00", ["A"]),
    ("create_date ge 2026-01-02 and create_date lt '2026-01-03'", ["A", "B"]),
    ("discount eq 2.5m or credit_limit eq 3L", ["A", "D"]),
    ("discount eq 1.25e1", ["B"]),
    ("1 eq 1 and 'a' lt 'b'", ["A", "B", "C", "D"]),
    ("not(is_client) and not(contains(name, 'y'))", ["C"]),
]
"""(expression, codes of the companies of the ``companies`` fixture it selects)."""


def mismatches(tenant: Tenant, controller: str, cases: list[tuple[str, list[str]]], key: str) -> dict[str, Any]:
    """Every case whose result differs from the expected one: one database for a whole table of cases."""
    wrong = {}
    for expression, expected in cases:
        actual = found(tenant, controller, expression, key=key)
        if actual != expected:
            wrong[expression] = {"expected": expected, "actual": actual}
    return wrong


def test_expressions_select_the_right_rows(tenant: Tenant, companies: list[dict[str, Any]]) -> None:
    assert len(EXPRESSIONS) > 90
    assert mismatches(tenant, "Company", EXPRESSIONS, "code") == {}


def test_guid_literal_forms(tenant: Tenant, companies: list[dict[str, Any]]) -> None:
    key = companies[1]["id"]
    for form in (key, key.upper(), f"'{key}'", f"guid'{key}'", f"guid'{key.upper()}'"):
        assert found(tenant, "Company", f"id eq {form}", key="code") == ["B"], form
    assert found(tenant, "Company", f"id in ({key}, '{companies[2]['id']}')", key="code") == ["B", "C"]


@pytest.fixture
def jobs(tenant: Tenant, make: Factory) -> dict[str, dict[str, Any]]:
    """Three companies: one with two jobs (one completed), one with one open job, one with none."""
    kind = make("CompanyType", code="KEY", name="Key account")
    parent = make("Company", code="P", name="Parent", company_type_id=kind["id"])
    lonely = make("Company", code="L", name="Lonely", parent_id=parent["id"])
    busy = make("Company", code="BUSY", name="Busy", parent_id=parent["id"])
    for index in range(3):
        make("Company", code=f"K{index}", name=f"Kid {index}", parent_id=busy["id"])
    busy_site = make("Project", company_id=busy["id"])["id"]
    first = make.job("COMPLETED", name="Fix boiler", project_id=busy_site)
    make("Jobs", name="Service", project_id=busy_site)
    other = make("Jobs", name="Install", project_id=make("Project", company_id=parent["id"])["id"])
    make("JobPartUsage", jobs_id=first["id"], quantity=5)
    make("JobPartUsage", jobs_id=other["id"], quantity=1)
    return {"parent": parent, "lonely": lonely, "busy": busy, "kind": kind}


NAVIGATIONS: list[tuple[str, list[str]]] = [
    (f"jobs/any(j: j/job_status_id eq {COMPLETED})", ["BUSY"]),
    (f"jobs/any(j: j/job_status_id eq '{COMPLETED.upper()}')", ["BUSY"]),
    ("jobs/any()", ["BUSY", "P"]),
    ("not jobs/any()", ["K0", "K1", "K2", "L"]),
    ("jobs/all(j: j/name ne 'Install')", ["BUSY", "K0", "K1", "K2", "L"]),
    ("jobs/all(j: startswith(j/name, 'F'))", ["K0", "K1", "K2", "L"]),
    ("jobs/any(j: j/company/name eq 'Busy' and contains(j/name, 'boiler'))", ["BUSY"]),
    ("jobs/any(j: j/company/name eq name)", ["BUSY", "P"]),
    ("jobs/any(j: j/job_part_usages/any(p: p/quantity gt 2))", ["BUSY"]),
    ("jobs/any(j: j/job_part_usages/any(p: p/quantity lt 2 and j/name eq 'Install' and code eq 'P'))", ["P"]),
    ("jobs/any(j: j/job_part_usages/all(p: p/quantity gt 2) and j/job_part_usages/$count eq 1)", ["BUSY"]),
    ("children/$count gt 2", ["BUSY"]),
    ("children/$count eq 2 or jobs/$count eq 2", ["BUSY", "P"]),
    ("children/any(c: c/children/$count eq 3)", ["P"]),
    ("parent/children/$count eq 2", ["BUSY", "L"]),
    ("parent/company_type/code eq 'KEY'", ["BUSY", "L"]),
    ("$it/parent/name eq 'Parent'", ["BUSY", "L"]),
    ("company_type/code eq 'KEY'", ["P"]),
    ("startswith(tolower(parent/name), 'par')", ["BUSY", "L"]),
    ("parent/name eq null", ["P"]),
    ("length(parent/parent/name) eq 0", ["BUSY", "L", "P"]),
]
"""(expression, codes of the companies of the ``jobs`` fixture it selects)."""


def test_navigation_and_lambdas(tenant: Tenant, jobs: dict[str, dict[str, Any]]) -> None:
    assert mismatches(tenant, "Company", NAVIGATIONS, "code") == {}
    counted = tenant.get("/api/Company", params={"$filter": "jobs/any()", "$count": "true", "$top": "1"}).json()
    assert counted["@odata.count"] == 2 and len(counted["value"]) == 1


def test_to_one_paths_from_jobs(tenant: Tenant, jobs: dict[str, dict[str, Any]]) -> None:
    assert found(tenant, "Jobs", "company/name eq 'Busy'") == ["Fix boiler", "Service"]
    assert found(tenant, "Jobs", "company/parent/company_type/code eq 'KEY'") == ["Fix boiler", "Service"]
    assert found(tenant, "Jobs", "company/parent/name eq null") == ["Install"]
    assert found(tenant, "Jobs", "company/name ne 'Busy' and company_id ne null") == ["Install"]
    assert found(tenant, "Jobs", "year(company/create_date) ge 2020 and company/code in ('P')") == ["Install"]


def test_lambdas_see_only_the_callers_tenant(
    tenant: Tenant, jobs: dict[str, dict[str, Any]], database: Database, app_client: TestClient
) -> None:
    other = make_tenant(database, app_client)
    lonely = jobs["lonely"]["id"]
    # Another tenant cannot attach rows to our company; even an id-equal foreign row would not count.
    Factory(other)("Jobs", name="Foreign", company_id=Factory(other)("Company", id=lonely, name="Twin")["id"])
    assert found(tenant, "Company", "jobs/any(j: j/name eq 'Foreign')") == []
    assert found(other, "Company", "jobs/any(j: j/name eq 'Foreign')") == ["Twin"]


MALFORMED: list[tuple[str, int]] = [
    ("name eq", 5),
    ("name eq 'a' and", 12),
    ("(name eq 'a'", 12),
    ("name eq 'a')", 11),
    ("name eq 'a' zz", 12),
    ("name €", 5),
    ("name eq 'unterminated", 8),
    ("eq 'a'", 3),
    ("name eq eq 'a'", 11),
    ("name eq 'a' and and code eq 'b'", 20),
    ("contains(name 'a')", 14),
    ("contains(name,", 14),
    ("contains(name)", 0),
    ("is_client and contains(name, 'a', 'b')", 14),
    ("frobnicate(name) eq 1", 0),
    ("name eq 'a' or unknownfn()", 15),
    ("name in 'a'", 8),
    ("name in ()", 9),
    ("code eq 'a' and name in ('a' 'b')", 29),
    ("jobs/any(j j/name eq 'a')", 11),
    ("jobs/any(j: )", 12),
    ("jobs/", 5),
    ("name eq 'a' and (code eq 'b'", 28),
    ("name eq 'a' or not", 15),
    ("discount add", 9),
    ("discount gt 1 mul", 14),
    ("name eq 'a''", 11),
    ("id eq 98461E3A-DCCB-436E", 13),
    ("create_date eq 2026-13-01", 19),
    ("name eq @a", 8),
    ("1 2", 2),
]
"""(malformed expression, the character position its error must name)."""


def test_malformed_filters_are_400s_naming_the_position(tenant: Tenant) -> None:
    assert len(MALFORMED) >= 25
    wrong = {}
    for expression, position in MALFORMED:
        error = refused(tenant, expression)
        if f"position {position}" not in error["message"] or error["target"] != "$filter":
            wrong[expression] = error["message"]
    assert wrong == {}


def test_has_is_refused_because_there_are_no_enumerations(tenant: Tenant) -> None:
    error = refused(tenant, "name has 'x'")
    assert error["code"] == "UnsupportedOperator"
    assert "position 5" in error["message"] and "enumeration" in error["message"]


TYPE_ERRORS: list[tuple[str, list[str]]] = [
    ("name eq 5", ["'name' is Edm.String", "integer"]),
    ("5 eq name", ["'name' is Edm.String", "integer"]),
    ("contains(id,'x')", ["contains()", "Edm.String", "'id' is Edm.Guid"]),
    ("year(name) eq 1", ["year()", "Edm.DateTimeOffset", "'name' is Edm.String"]),
    ("is_client eq 'yes'", ["'is_client' is Edm.Boolean"]),
    ("create_date gt 'yesterday'", ["'yesterday' is not a datetime"]),
    ("id eq 'not-a-guid'", ["is not a GUID"]),
    ("discount add name gt 1", ["add needs numbers", "'name' is Edm.String"]),
    ("name", ["'name' is Edm.String, not a boolean"]),
    ("length(name)", ["Edm.Int32, not a boolean"]),
    ("discount gt null", ["null can only be compared with eq or ne"]),
    ("discount div 0 gt 1", ["div by zero"]),
    ("date(create_date) eq create_date", ["Edm.Date", "Edm.DateTimeOffset"]),
    ("contains(name, 1)", ["argument 2 of contains()", "integer"]),
    ("substring(name, 'a') eq ''", ["argument 2 of substring()"]),
    ("round(name) eq 1", ["round()", "Edm.Decimal or Edm.Int32"]),
    ("nmae eq 'x'", ["'nmae'", "Did you mean 'name'"]),
    ("jobs/any(j: x/name eq 'a')", ["'x'", "lambda variable in scope (j)"]),
    ("jobs/any(j: j/nmae eq 'a')", ["Jobs has no property 'nmae'"]),
    ("jobs/any(j: j/name eq 'a') and j/name eq 'b'", ["'j' is neither"]),
    ("jobz/any(j: j/name eq 'a')", ["'jobz'"]),
    ("parent/any(p: p/name eq 'a')", ["'parent' leads to a single Company row"]),
    ("jobs/name eq 'a'", ["'jobs' is a collection", "any"]),
    ("parent eq null", ["'parent' is a navigation property"]),
    ("jobs/any(j: j eq null)", ["'j' stands for a Jobs entity"]),
    ("jobs/any(j: j/name)", ["not a boolean"]),
    ("name eq 99999999999999999999", ["64-bit"]),
    ("create_date eq duration'P1D'", ["duration literals are not supported"]),
]
"""(wrong expression, words its error message must contain)."""


def test_type_and_name_errors_are_clear_400s(tenant: Tenant) -> None:
    wrong = {}
    for expression, words in TYPE_ERRORS:
        message = refused(tenant, expression)["message"]
        if not all(word in message for word in words):
            wrong[expression] = message
    assert wrong == {}


def test_unsupported_standard_functions_are_501(tenant: Tenant) -> None:
    response = tenant.get("/api/Company", params={"$filter": "matchesPattern(name, '^A')"})
    assert response.status_code == 501
    assert "matchesPattern" in response.json()["error"]["message"]


def test_now_is_the_time_of_each_request_not_of_the_first(tenant: Tenant) -> None:
    """The same ``$filter`` text reuses its parsed form and statement (odata/options.py): ``now()``
    must still be read when the request runs, or a poll of ``… lt now()`` would stop seeing rows."""
    expression = "modified_dateutc lt now()"
    assert tenant.post("/api/Company", {"name": "Before"}).status_code == 201
    time.sleep(0.01)
    assert found(tenant, "Company", expression) == ["Before"]
    assert tenant.post("/api/Company", {"name": "After"}).status_code == 201
    time.sleep(0.01)
    assert found(tenant, "Company", expression) == ["After", "Before"]
    batch = {"requests": [{"id": "1", "method": "GET", "url": f"Company?$filter={expression}&$orderby=name"}]}
    reply = tenant.post("/api/$batch", batch).json()["responses"][0]
    assert [row["name"] for row in reply["body"]["value"]] == ["After", "Before"]
