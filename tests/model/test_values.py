from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from odyssee.model.values import format_datetime, parse_datetime, parse_guid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-07-14T13:08:00.000Z", "2015-07-14T13:08:00.000Z"),
        ("2015-07-14T13:08:00Z", "2015-07-14T13:08:00.000Z"),
        ("2015-07-14T13:08:00", "2015-07-14T13:08:00.000Z"),
        ("2015-07-14", "2015-07-14T00:00:00.000Z"),
        ("2025-10-15T06:52:45.9584778+00:00", "2025-10-15T06:52:45.958Z"),
        ("2015-07-14T13:08:00.5+02:00", "2015-07-14T11:08:00.500Z"),
        ("2015-07-14 13:08", "2015-07-14T13:08:00.000Z"),
    ],
)
def test_datetime_forms_integrators_send(text: str, expected: str) -> None:
    assert format_datetime(parse_datetime(text)) == expected


@pytest.mark.parametrize("text", ["", "2015-13-01", "2015-02-30", "14/07/2015", "2015-07-14T25:00:00Z", "now"])
def test_invalid_datetimes(text: str) -> None:
    with pytest.raises(ValueError):
        parse_datetime(text)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2999, 1, 1), timezones=st.just(UTC)))
def test_datetime_round_trip_at_millisecond_precision(value: datetime) -> None:
    value = value.replace(microsecond=value.microsecond // 1000 * 1000)
    assert parse_datetime(format_datetime(value)) == value


def test_guids_in_either_case_and_nothing_else() -> None:
    value = uuid.uuid4()
    assert parse_guid(str(value).upper()) == value
    for bad in (value.hex, "{" + str(value) + "}", "xyz", str(value)[:-1]):
        with pytest.raises(ValueError):
            parse_guid(bad)
