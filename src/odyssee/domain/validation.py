"""Turn a client's JSON object into column values, or explain every problem at once.

Rules (docs/conventions.md):
* unknown properties are refused, with a suggestion when a close name exists;
* read-only properties (``modified_dateutc``, ``id2``, ...) and ``@odata.*`` annotations are
  ignored, so a client can send back what it read;
* ``null`` means "the default" (the spec has no NULLs; typed .NET clients send null for unset
  members);
* values must have the property's JSON type; strings respect their max length; numbers their
  range; required properties must be present and not empty.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import math
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from odyssee.model.conventions import EMPTY_GUID
from odyssee.model.errors import ErrorDetail, InvalidInput
from odyssee.model.registry import EntitySpec, Field, Kind
from odyssee.model.values import parse_datetime, parse_guid

INT32_RANGE = (-(2**31), 2**31 - 1)
DECIMAL_LIMIT = 1e18
"""``numeric(28, 10)`` holds 18 integer digits."""


class _InvalidValueError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _string(field: Field, value: Any) -> str:
    if not isinstance(value, str):
        raise _InvalidValueError("InvalidType", f"expected a string, got {_json_type(value)}")
    if field.max_length is not None and len(value) > field.max_length:
        raise _InvalidValueError("TooLong", f"is {len(value)} characters long; the maximum is {field.max_length}")
    if "\x00" in value:
        raise _InvalidValueError("InvalidCharacter", "contains a NUL character, which text cannot hold (PostgreSQL)")
    return value


def _boolean(_field: Field, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _InvalidValueError("InvalidType", f"expected true or false, got {_json_type(value)}")
    return value


def _int32(field: Field, value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _InvalidValueError("InvalidType", f"expected an integer, got {_json_type(value)}")
    low, high = INT32_RANGE
    if not low <= value <= high:
        raise _InvalidValueError("OutOfRange", f"{value} does not fit in a 32-bit integer")
    return int(_in_range(field, value))


def _decimal(field: Field, value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _InvalidValueError("InvalidType", f"'{value}' is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _InvalidValueError("InvalidType", f"expected a number, got {_json_type(value)}")
    if not math.isfinite(value) or abs(value) >= DECIMAL_LIMIT:
        raise _InvalidValueError("OutOfRange", f"{value} is outside ±1E18")
    return float(_in_range(field, float(value)))


def _datetime(_field: Field, value: Any) -> datetime:
    if not isinstance(value, str):
        raise _InvalidValueError("InvalidType", f"expected a datetime string, got {_json_type(value)}")
    try:
        return parse_datetime(value)
    except ValueError as error:
        raise _InvalidValueError("InvalidDateTime", str(error)) from None


def _guid(_field: Field, value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise _InvalidValueError("InvalidType", f"expected a GUID string, got {_json_type(value)}")
    try:
        return parse_guid(value)
    except ValueError as error:
        raise _InvalidValueError("InvalidGuid", str(error)) from None


def _binary(_field: Field, value: Any) -> bytes:
    if not isinstance(value, str):
        raise _InvalidValueError("InvalidType", f"expected a base64 string, got {_json_type(value)}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _InvalidValueError("InvalidBase64", "is not valid base64") from None


_COERCE: dict[Kind, Callable[[Field, Any], Any]] = {
    Kind.STRING: _string,
    Kind.BOOLEAN: _boolean,
    Kind.INT32: _int32,
    Kind.DECIMAL: _decimal,
    Kind.DATETIME: _datetime,
    Kind.GUID: _guid,
    Kind.BINARY: _binary,
}


def _in_range(field: Field, value: float) -> float:
    if field.minimum is not None and value < field.minimum:
        raise _InvalidValueError("OutOfRange", f"{value} is below the minimum {field.minimum}")
    if field.maximum is not None and value > field.maximum:
        raise _InvalidValueError("OutOfRange", f"{value} is above the maximum {field.maximum}")
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def is_empty(field: Field, value: Any) -> bool:
    """Whether a value counts as "not given" for a required property."""
    if field.kind is Kind.STRING:
        return not str(value).strip()
    if field.kind is Kind.GUID:
        return bool(value == EMPTY_GUID)
    return False


def read_payload(spec: EntitySpec, payload: Any) -> tuple[uuid.UUID | None, dict[str, Any]]:
    """Validate a request body. Returns the ``id`` it names (if any) and the writable values it sets."""
    if not isinstance(payload, dict):
        raise InvalidInput(
            f"The request body must be a JSON object describing a {spec.name}, got {_json_type(payload)}.",
            code="InvalidBody",
        )
    details: list[ErrorDetail] = []
    values: dict[str, Any] = {}
    given_id: uuid.UUID | None = None
    for name, raw in payload.items():
        if name.startswith("@") or "@odata." in name:
            continue
        found = spec.field(name)
        if found is None:
            close = difflib.get_close_matches(name, [f.name for f in spec.fields], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            details.append(
                ErrorDetail(
                    "UnknownProperty",
                    f"{spec.name} has no property '{name}'{hint}",
                    name,
                )
            )
            continue
        if found.read_only or (raw is None and found.is_key):
            continue
        try:
            value = found.default if raw is None else _COERCE[found.kind](found, raw)
        except _InvalidValueError as error:
            details.append(
                ErrorDetail(
                    error.code,
                    f"{name} {error}" if error.code != "InvalidType" else f"{name}: {error}",
                    name,
                )
            )
            continue
        if found.is_key:
            given_id = value if value != EMPTY_GUID else None
        else:
            values[name] = value
    if details:
        raise invalid(spec, details)
    return given_id, values


def check_required(spec: EntitySpec, values: dict[str, Any]) -> None:
    """Every required property must have a non-empty value (after defaults were applied)."""
    details = [
        ErrorDetail("Required", f"{f.name} is required", f.name)
        for f in spec.writable
        if f.required and is_empty(f, values.get(f.name, f.default))
    ]
    if details:
        raise invalid(spec, details)


def invalid(spec: EntitySpec, details: list[ErrorDetail]) -> InvalidInput:
    summary = "; ".join(detail.message for detail in details[:3])
    more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
    return InvalidInput(
        f"The {spec.name} is invalid: {summary}{more}.",
        code="ValidationFailed",
        details=details,
    )
