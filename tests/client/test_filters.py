"""F builds $filter text with exact quoting; the real server reads it as meant."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from odyssee.client import Client, F, literal


def test_literals_follow_the_odata_forms() -> None:
    assert literal("O'Brien") == "'O''Brien'"
    assert literal("'; drop table company; --") == "'''; drop table company; --'"
    assert literal(True) == "true" and literal(False) == "false"
    assert literal(None) == "null"
    assert literal(3) == "3" and literal(1.5) == "1.5" and literal(Decimal("2.50")) == "2.50"
    guid = uuid.UUID("DBED4BF9-F928-47F1-947F-D6B070443033")
    assert literal(guid) == "dbed4bf9-f928-47f1-947f-d6b070443033"
    assert literal(datetime(2026, 11, 23, 13, 8, 0, 123456, tzinfo=UTC)) == "2026-11-23T13:08:00.123Z"
    assert literal(datetime(2026, 11, 23, 13, 8)) == "2026-11-23T13:08:00.000Z"  # naive = UTC, as the server
    plus_two = timezone(timedelta(hours=2))
    assert literal(datetime(2026, 11, 23, 15, 8, tzinfo=plus_two)) == "2026-11-23T13:08:00.000Z"
    assert literal(date(2026, 1, 2)) == "2026-01-02"
    with pytest.raises(ValueError):
        literal(float("nan"))
    with pytest.raises(TypeError):
        literal(object())


def test_operators_and_functions() -> None:
    assert str(F("name") == "O'Brien") == "name eq 'O''Brien'"
    assert str(F("x") > 3) == "x gt 3"
    assert str(F("x") >= 3) == "x ge 3"
    assert str(F("x") < 3) == "x lt 3"
    assert str(F("x") <= 3) == "x le 3"
    assert str(F("x") != None) == "x ne null"  # noqa: E711 — the point of the test
    assert str(F("company/name") == F("name")) == "company/name eq name"
    assert str(F("a").contains("x'y")) == "contains(a,'x''y')"
    assert str(F("a").startswith("x")) == "startswith(a,'x')"
    assert str(F("a").endswith("x")) == "endswith(a,'x')"
    assert str(F("code").in_(["A", "B'"])) == "code in ('A','B''')"
    assert str(F("name").tolower() == "acme") == "tolower(name) eq 'acme'"
    with pytest.raises(ValueError):
        F("code").in_([])
    with pytest.raises(ValueError):
        F("name eq 'x'")


def test_combinations_keep_precedence() -> None:
    a, b, c = F("a") == 1, F("b") == 2, F("c") == 3
    assert str(a & b) == "a eq 1 and b eq 2"
    assert str(a | b & c) == "a eq 1 or b eq 2 and c eq 3"
    assert str((a | b) & c) == "(a eq 1 or b eq 2) and c eq 3"
    assert str(~a) == "not (a eq 1)"
    assert str(~(a | b)) == "not (a eq 1 or b eq 2)"
    assert str(a & "x eq 1 or y eq 2") == "a eq 1 and (x eq 1 or y eq 2)"
    assert str("x eq 1" | a) == "(x eq 1) or a eq 1"
    with pytest.raises(TypeError):
        bool(a)
    with pytest.raises(TypeError):
        _ = 1 < F("x") < 3  # a chained comparison would silently drop half


def test_entity_sets_are_immutable(client: Client) -> None:
    companies = client.set("Company")
    narrowed = companies.filter(F("code") == "A").select("name").order_by("name").top(5).page_size(2)
    assert companies.query.params() == {}
    assert narrowed.query.params() == {"$filter": "code eq 'A'", "$select": "name", "$orderby": "name", "$top": "5"}
    both = narrowed.filter("city eq 'x' or city eq 'y'")
    assert both.query.filter_text() == "code eq 'A' and (city eq 'x' or city eq 'y')"
    assert narrowed.query.filter_text() == "code eq 'A'"


@pytest.mark.parametrize(
    "name",
    ["O'Brien", "'; drop table company; --", "x' or '1' eq '1", "50% _off_/", "''", 'Zoë & Co ("quoted")'],
)
def test_hostile_values_match_exactly_themselves(client: Client, name: str) -> None:
    companies = client.set("Company")
    target = companies.create({"name": name, "code": "T"})
    companies.create({"name": "other", "code": "O"})
    assert [row["id"] for row in companies.filter(F("name") == name).list()] == [target["id"]]
    assert companies.filter(F("name").contains(name)).count() == 1
    assert companies.filter(F("name").in_([name, "nobody"])).count() == 1
    assert companies.filter(~(F("name") == name)).count() == 1
    assert companies.count() == 2  # the table is still there


def test_datetimes_uuids_and_booleans_against_the_server(client: Client) -> None:
    companies = client.set("Company")
    first = companies.create({"name": "first", "code": "F", "is_client": True})
    second = companies.create({"name": "second", "code": "S"})
    watermark = datetime.fromisoformat(first["modified_dateutc"].replace("Z", "+00:00"))
    changed = companies.filter(F("modified_dateutc") > watermark).list()
    assert [row["id"] for row in changed] == [second["id"]]
    assert companies.filter(F("modified_dateutc") >= watermark).count() == 2
    assert companies.filter(F("id") == uuid.UUID(first["id"].upper())).first()["name"] == "first"  # type: ignore[index]
    assert [r["name"] for r in companies.filter(F("is_client") == True).list()] == ["first"]  # noqa: E712
    assert companies.filter(F("parent_id") == None).count() == 2  # noqa: E711
    assert companies.filter((F("code") == "F") | (F("code") == "S")).filter(F("is_client") == False).count() == 1  # noqa: E712
