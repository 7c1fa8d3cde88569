"""The Odyssee XML format (reference.md §2.4, §3.5): what ASP.NET Web API's DataContractSerializer
writes and reads, so that integrations built against the original keep working unchanged.

Shape (docs/formats.md has examples):

* one entity: root element = the **table name** (``<article_category
  xmlns:i="http://www.w3.org/2001/XMLSchema-instance">``), one child element per property in
  **ordinal (alphabetical) order**, as DataContractSerializer orders data members;
* a collection: DataContractSerializer's ``ArrayOf<table>`` root holding one ``<table>`` element
  per row. Odyssee's XML has no next link (clients page with ``$top``/``$skip``); the optional
  ``odata.count`` / ``odata.nextLink`` attributes carry what the JSON envelope carries, and typed
  .NET clients ignore unknown attributes;
* values as in JSON: datetimes ``…fffZ``, decimals with a dot and no exponent, booleans
  ``true``/``false``, lower-case GUIDs, base64 bytes; a null is ``<name i:nil="true"/>``;
* expanded navigation properties nest: to-one ``<company>…</company>``, to-many
  ``<projects><project>…</project></projects>`` (items named by the target table).

Reading turns a request body into exactly the dict a JSON body gives, so one validation path
(``domain/validation.py``) serves both formats. Parsing goes through ``defusedxml``: DTDs, entity
declarations and external references are refused outright (XXE, billion laughs).

This module works on already JSON-encoded rows (what ``odata/serialize.py`` produces), so the
two formats cannot drift apart in how a value is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

import defusedxml
from defusedxml.ElementTree import fromstring

from odyssee.model.errors import ErrorDetail, InvalidInput, NotAcceptable
from odyssee.model.registry import EntitySpec, Kind, registry

XSI = "http://www.w3.org/2001/XMLSchema-instance"
"""The ``i:`` namespace DataContractSerializer declares on every root, for ``i:nil``."""
MEDIA_TYPE = "application/xml; charset=utf-8"
"""The response Content-Type (reference.md §2.4: DataFormats page)."""
MEDIA_TYPES = ("application/xml", "text/xml")
"""Request/response media types that mean this format."""

MAX_DEPTH = 8
"""Nesting deeper than this is refused: embedded entities (issue 4) go one or two levels deep,
and a bound keeps a hostile body from exhausting the stack."""

_NIL = f"{{{XSI}}}nil"
_ROOT_NAMESPACES = f' xmlns:i="{XSI}"'
_TEXT_ESCAPES = {"\r": "&#13;"}
"""A bare CR in text would be normalised to LF by every XML parser; the reference keeps it."""
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot carry at all, not even as a character reference."""
_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


# --- writing ---------------------------------------------------------------------------------


def entity_to_xml(spec: EntitySpec, row: Mapping[str, Any]) -> bytes:
    """One entity as its ``<table xmlns:i=…>`` document (UTF-8, no XML declaration, like Web API)."""
    return "".join(_element(spec.table_name, spec, row, _ROOT_NAMESPACES)).encode("utf-8")


def collection_to_xml(
    spec: EntitySpec,
    rows: Iterable[Mapping[str, Any]],
    *,
    count: int | None = None,
    next_link: str | None = None,
) -> bytes:
    """Rows as DataContractSerializer's ``<ArrayOf<table> xmlns:i=…>`` document.

    ``count`` (``$count=true``) and ``next_link`` become ``odata.count`` / ``odata.nextLink``
    attributes on the root when given; Odyssee itself sends neither in XML.
    """
    attributes = _ROOT_NAMESPACES
    if count is not None:
        attributes += f' odata.count="{count}"'
    if next_link is not None:
        attributes += f" odata.nextLink={quoteattr(_checked_text(next_link, 'odata.nextLink'))}"
    root = f"ArrayOf{spec.table_name}"
    parts = [f"<{root}{attributes}>"]
    for row in rows:
        parts.extend(_element(spec.table_name, spec, row))
    parts.append(f"</{root}>")
    return "".join(parts).encode("utf-8")


def _element(name: str, spec: EntitySpec | None, row: Mapping[str, Any], attributes: str = "") -> Iterator[str]:
    yield f"<{name}{attributes}>"
    for key in sorted(row):
        if "@" in key:  # @odata.context, projects@odata.count …: annotations, not properties
            continue
        yield from _property(key, spec, row[key])
    yield f"</{name}>"


def _property(name: str, spec: EntitySpec | None, value: Any) -> Iterator[str]:
    if value is None:
        yield f'<{name} i:nil="true"/>'
    elif isinstance(value, Mapping):
        yield from _element(name, _target(spec, name), value)
    elif isinstance(value, list | tuple):
        target = _target(spec, name)
        item = target.table_name if target is not None else name
        if not value:
            yield f"<{name}/>"
            return
        yield f"<{name}>"
        for entry in value:
            if isinstance(entry, Mapping):
                yield from _element(item, target, entry)
            else:
                yield from _property(item, None, entry)
        yield f"</{name}>"
    else:
        text = _text(value, name)
        yield f"<{name}>{text}</{name}>" if text else f"<{name}/>"


def _target(spec: EntitySpec | None, name: str) -> EntitySpec | None:
    """The entity a navigation property leads to, to name and type what it nests."""
    navigation = spec.navigation(name) if spec is not None else None
    return registry().by_table(navigation.target) if navigation is not None else None


def _text(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _decimal_text(value, name)
    return escape(_checked_text(str(value), name), _TEXT_ESCAPES)


def _decimal_text(value: float, name: str) -> str:
    """``123456.78``: dot, no exponent, no trailing ``.0`` (as .NET writes a decimal).

    The shortest repr that reads back as the same float, so XML round-trips exactly like JSON.
    """
    if not math.isfinite(value):
        raise NotAcceptable(f"{name} is {value}, which an XML decimal cannot express.", code="NotRepresentable")
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _checked_text(text: str, name: str) -> str:
    bad = _NOT_XML.search(text)
    if bad is not None:
        raise NotAcceptable(
            f"{name} contains the character U+{ord(bad.group()):04X}, which XML 1.0 cannot carry; "
            "ask for JSON (Accept: application/json) to read this data.",
            code="NotRepresentable",
            target=name,
        )
    return text


# --- reading ---------------------------------------------------------------------------------


def xml_to_payload(spec: EntitySpec, data: bytes) -> dict[str, Any]:
    """A request body → the dict the same entity sent as JSON would give.

    The root must be the table name or the controller name (any letter case; namespaces such
    as DataContractSerializer's ``xmlns="http://schemas.datacontract.org/…"`` are ignored).
    Each child element is a property, its text converted by the property's kind; ``i:nil`` or an
    empty non-string element is ``None`` (the property's default). Unknown elements stay in the
    dict as text, so that validation refuses them with its "did you mean" message. A child with
    element children is an embedded entity (reference.md §3.5) → a nested dict, typed by the
    target entity when it is a navigation property (a to-many one gives a list of dicts).
    """
    root = _parse(data)
    name = _local(root.tag)
    if name.lower() not in (spec.table_name.lower(), spec.name.lower()):
        raise InvalidInput(
            f"The XML root element is <{name}>; a {spec.name} body must be <{spec.table_name}> (or <{spec.name}>).",
            code="InvalidBody",
            target=name,
        )
    details: list[ErrorDetail] = []
    payload = _object(spec, root, details, depth=1)
    if details:
        summary = "; ".join(detail.message for detail in details[:3])
        more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
        raise InvalidInput(f"The {spec.name} is invalid: {summary}{more}.", code="ValidationFailed", details=details)
    return payload


def _parse(data: bytes) -> Element:
    if not data.strip():
        raise InvalidInput("The request body is empty; send an XML element.", code="InvalidBody")
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as error:
        raise InvalidInput(
            f"The XML body contains a DTD, entity declaration or external reference ({type(error).__name__}); "
            "these are refused for security. Send the entity without a <!DOCTYPE>.",
            code="ForbiddenXml",
        ) from None
    except ParseError as error:
        line, column = error.position
        reason = str(error).split(":")[0]
        raise InvalidInput(
            f"The request body is not well-formed XML: {reason} at line {line}, column {column + 1}.",
            code="MalformedXml",
        ) from None


def _local(tag: str) -> str:
    """The element name without its namespace: ``{ns}task`` → ``task``."""
    return tag.rpartition("}")[2]


def _object(spec: EntitySpec | None, element: Element, details: list[ErrorDetail], depth: int) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise InvalidInput(f"The XML body nests elements more than {MAX_DEPTH} levels deep.", code="InvalidBody")
    payload: dict[str, Any] = {}
    for child in element:
        name = _local(child.tag)
        if name in payload:
            details.append(ErrorDetail("DuplicateProperty", f"{name} appears more than once", name))
            continue
        payload[name] = _value(spec, name, child, details, depth)
    return payload


def _value(spec: EntitySpec | None, name: str, element: Element, details: list[ErrorDetail], depth: int) -> Any:
    if element.get(_NIL, "").strip() in ("true", "1"):
        return None
    navigation = spec.navigation(name) if spec is not None else None
    target = registry().by_table(navigation.target) if navigation is not None else None
    if navigation is not None and navigation.many:
        return [_object(target, item, details, depth + 2) for item in element]
    if len(element):
        return _object(target, element, details, depth + 1)
    text = element.text or ""
    found = spec.field(name) if spec is not None else None
    if found is None:
        return text
    try:
        return _CONVERT[found.kind](text)
    except ValueError as error:
        details.append(ErrorDetail("InvalidValue", f"{name}: {error}", name))
        return None


def _string(text: str) -> str:
    return text


def _boolean(text: str) -> bool | None:
    if not text.strip():
        return None
    value = _BOOLEANS.get(text.strip().lower())
    if value is None:
        raise ValueError(f"'{text}' is not a boolean (expected true or false)")
    return value


def _integer(text: str) -> int | None:
    if not text.strip():
        return None
    if not _INTEGER.match(text.strip()):
        raise ValueError(f"'{text}' is not an integer")
    return int(text.strip())


def _decimal(text: str) -> float | None:
    if not text.strip():
        return None
    if not _DECIMAL.match(text.strip()):
        raise ValueError(f"'{text}' is not a decimal number (expected e.g. 123456.78, with a dot)")
    return float(text.strip())


def _trimmed(text: str) -> str | None:
    """GUIDs and datetimes: the surrounding whitespace of indented XML is not part of the value."""
    return text.strip() or None


def _base64(text: str) -> str:
    """Base64 may be wrapped over lines by XML writers; the line breaks are not data."""
    return "".join(text.split())


_CONVERT: dict[Kind, Callable[[str], Any]] = {
    Kind.STRING: _string,
    Kind.BOOLEAN: _boolean,
    Kind.INT32: _integer,
    Kind.DECIMAL: _decimal,
    Kind.GUID: _trimmed,
    Kind.DATETIME: _trimmed,
    Kind.BINARY: _base64,
}


__all__ = ["MEDIA_TYPE", "MEDIA_TYPES", "collection_to_xml", "entity_to_xml", "xml_to_payload"]
