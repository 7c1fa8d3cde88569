"""``<navigation>@odata.bind``: how standard OData clients set a reference.

A generic client does not write ``company_id``; it binds the navigation property to the
entity's URL: ``{"company@odata.bind": "Company(98461e3a-…)"}`` (relative to the service root,
an absolute path, or a full URL). We turn that into the foreign key the model has, so every
later step — validation, reference checks — is the same as for an Odyssee client.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from odyssee.model.errors import ErrorDetail, InvalidInput, NotImplementedFeature
from odyssee.model.registry import EntitySpec
from odyssee.model.values import parse_guid
from odyssee.odata.paths import navigation_of, target

_SUFFIX = "@odata.bind"
_ENTITY_ID = re.compile(r"^(?:.*/)?(?P<set>[A-Za-z_]\w*)\((?:guid)?'?(?P<key>[0-9A-Fa-f-]{36})'?\)$", re.IGNORECASE)


def _invalid(name: str, message: str) -> InvalidInput:
    return InvalidInput(
        message,
        code="ValidationFailed",
        target=name,
        details=[ErrorDetail("InvalidBind", message, name)],
    )


def apply_binds(spec: EntitySpec, payload: Any) -> Any:
    """``payload`` with every ``nav@odata.bind`` replaced by the foreign key it stands for."""
    if not isinstance(payload, dict) or not any(isinstance(k, str) and k.endswith(_SUFFIX) for k in payload):
        return payload
    result = {}
    for name, value in payload.items():
        if not name.endswith(_SUFFIX) or name.startswith("@"):
            result[name] = value
            continue
        navigation = navigation_of(spec, name.removesuffix(_SUFFIX).lstrip("/"), name)
        if navigation.many:
            raise NotImplementedFeature(
                f"Binding the collection '{navigation.name}' is not supported; set the reference on each "
                f"{target(navigation).name} instead.",
                code="NotImplemented",
                target=name,
            )
        match = _ENTITY_ID.match(urlsplit(value).path if isinstance(value, str) else "")
        if match is None:
            raise _invalid(name, f"{name} must be an entity URL such as {target(navigation).name}(<guid>).")
        if match.group("set").lower() != target(navigation).name.lower():
            raise _invalid(name, f"{name} must point to a {target(navigation).name}, not a {match.group('set')}.")
        fk = navigation.foreign_key
        key = str(parse_guid(match.group("key")))
        if fk in payload and str(payload[fk]).lower() != key:
            raise _invalid(name, f"{name} and {fk} name different rows.")
        result[fk] = key
    return result
