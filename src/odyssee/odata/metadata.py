"""The service metadata document (``$metadata``): the entity model as CSDL XML and CSDL JSON.

Generic OData clients (Power Query, python-odata, SAP and .NET code generators) learn what they
can ask for only from this document, so it is generated from the registry and from nothing
else: a new entity, field or foreign key appears here without anyone touching this module.

The registry is first turned into a small CSDL model (:class:`Model`) and both representations
are rendered from that one model, so the XML and the JSON can never describe different services.
Both documents depend on nothing but the registry, so they are rendered once per process.

Conventions (docs/metadata.md): one schema ``Odyssee``; an entity type per entity set, named
like its controller (``Odyssee.Company`` behind the set ``Company``); key ``id``; nothing is
nullable except to-one navigation properties, whose empty foreign key (the all-zero GUID)
leads nowhere.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa

from odyssee.model.base import Deletion
from odyssee.model.registry import EntitySpec, Field, Kind, Navigation, Registry, registry
from odyssee.model.values import format_datetime

VERSION = "4.0"
"""The OData version the documents declare; the same as the ``OData-Version`` header we send."""
NAMESPACE = "Odyssee"
CONTAINER = "Container"
EDMX_NS = "http://docs.oasis-open.org/odata/ns/edmx"
EDM_NS = "http://docs.oasis-open.org/odata/ns/edm"
CONCURRENCY_PROPERTY = "modified_dateutc"
"""The property the ``@odata.etag`` of an entity is derived from."""
DATETIME_PRECISION = 3
"""Fraction digits of every ``Edm.DateTimeOffset``: values are stored and compared at milliseconds."""

_VOCABULARY_BASE = "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/"

ET.register_namespace("edmx", EDMX_NS)


@dataclass(frozen=True)
class Vocabulary:
    """An OASIS vocabulary the annotations use, referenced by its standard URI."""

    namespace: str
    alias: str

    def uri(self, extension: str) -> str:
        """The published document, ``.xml`` or ``.json`` (OASIS publishes both)."""
        return f"{_VOCABULARY_BASE}{self.namespace}.{extension}"


VOCABULARIES = (
    Vocabulary("Org.OData.Core.V1", "Core"),
    Vocabulary("Org.OData.Capabilities.V1", "Capabilities"),
)


@dataclass(frozen=True)
class PropertyPaths:
    """An annotation value of type ``Collection(Edm.PropertyPath)``."""

    paths: tuple[str, ...]


@dataclass(frozen=True)
class Strings:
    """An annotation value of type ``Collection(Edm.String)``."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class Record:
    """An annotation value of a structured type whose properties are all booleans (the restrictions)."""

    values: tuple[tuple[str, bool], ...]


AnnotationValue = bool | str | PropertyPaths | Strings | Record


@dataclass(frozen=True)
class Annotation:
    term: str
    """Qualified by the vocabulary alias: ``Core.Description``."""
    value: AnnotationValue


@dataclass(frozen=True)
class Default:
    """A property's constant default, in both representations (absent when there is none)."""

    literal: str
    """The XML ``DefaultValue`` attribute."""
    json: Any
    """The CSDL JSON ``$DefaultValue`` member."""


@dataclass(frozen=True)
class Property:
    name: str
    type: str
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    default: Default | None = None
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class NavigationProperty:
    name: str
    target: str
    """Qualified name of the entity type it leads to."""
    many: bool
    partner: str
    foreign_key: str | None
    """The dependent property of the referential constraint (to-one navigations only)."""


@dataclass(frozen=True)
class EntityType:
    name: str
    key: tuple[str, ...]
    properties: tuple[Property, ...]
    navigations: tuple[NavigationProperty, ...]
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class EntitySet:
    name: str
    entity_type: str
    bindings: tuple[tuple[str, str], ...]
    """(navigation property, target entity set) pairs."""
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class Model:
    """The CSDL model of the service, independent of its representation."""

    entity_types: tuple[EntityType, ...]
    entity_sets: tuple[EntitySet, ...]
    container_annotations: tuple[Annotation, ...]


# --- registry -> model ----------------------------------------------------------------------------


def _qualified(spec: EntitySpec) -> str:
    return f"{NAMESPACE}.{spec.name}"


def _default(field: Field) -> Default | None:
    """The constant default the server fills in when a client omits the property, if there is one.

    Left out where the default is not a constant: the key (a new GUID), server-computed
    properties, the server's clock (``default_now``), required properties (the client must give
    a value, or the server picks the target's ``is_default`` row), and foreign keys without a
    declared default row: their empty GUID means "no reference", and the domain may derive a
    value instead (a job without a company gets its installation's company).
    """
    if field.is_key or field.read_only or field.required or field.default_now or field.default is None:
        return None
    if field.references and field.column.info.get("default") is None:
        return None
    value = field.default
    if isinstance(value, bool):
        return Default("true" if value else "false", value)
    if isinstance(value, int | float):
        number = int(value) if float(value).is_integer() else float(value)
        return Default(str(number), number)
    if isinstance(value, datetime):
        text = format_datetime(value)
        return Default(text, text)
    if isinstance(value, bytes):
        if value:
            return None
        return Default("", "")
    return Default(str(value), str(value))


def _decimal_facets(field: Field) -> tuple[int | None, int | None]:
    """Precision and scale of a decimal column, read from the SQL type so they cannot drift."""
    column_type: Any = field.column.type
    numeric = getattr(column_type, "impl", column_type)
    if isinstance(numeric, sa.Numeric):
        return numeric.precision, numeric.scale
    return None, None


def _property(field: Field) -> Property:
    annotations: list[Annotation] = []
    if field.doc:
        annotations.append(Annotation("Core.Description", field.doc))
    if field.read_only:
        annotations.append(Annotation("Core.Computed", True))
    precision, scale = _decimal_facets(field) if field.kind is Kind.DECIMAL else (None, None)
    if field.kind is Kind.DATETIME:
        precision = DATETIME_PRECISION
    return Property(
        name=str(field.name),  # column names are SQLAlchemy ``quoted_name``s; JSON keys must be plain str
        type=field.kind.value,
        max_length=field.max_length if field.kind is Kind.STRING else None,
        precision=precision,
        scale=scale,
        default=_default(field),
        annotations=tuple(annotations),
    )


def _navigation(navigation: Navigation, reg: Registry) -> NavigationProperty:
    return NavigationProperty(
        name=str(navigation.name),
        target=_qualified(reg.by_table(navigation.target)),
        many=navigation.many,
        partner=str(navigation.partner),
        foreign_key=None if navigation.many else str(navigation.foreign_key),
    )


def _entity_type(spec: EntitySpec, reg: Registry) -> EntityType:
    description = (Annotation("Core.Description", spec.options.description),) if spec.options.description else ()
    return EntityType(
        name=spec.name,
        key=tuple(str(f.name) for f in spec.fields if f.is_key),
        properties=tuple(_property(f) for f in spec.fields),
        navigations=tuple(_navigation(n, reg) for n in spec.navigations),
        annotations=description,
    )


def _set_annotations(spec: EntitySpec) -> tuple[Annotation, ...]:
    """What a client may do with the set, as the Capabilities vocabulary says it."""
    annotations: list[Annotation] = []
    if spec.field(CONCURRENCY_PROPERTY) is not None:
        annotations.append(Annotation("Core.OptimisticConcurrency", PropertyPaths((CONCURRENCY_PROPERTY,))))
    annotations += [
        Annotation("Capabilities.TopSupported", True),
        Annotation("Capabilities.SkipSupported", True),
        Annotation("Capabilities.CountRestrictions", Record((("Countable", True),))),
    ]
    if spec.options.read_only:
        annotations += [
            Annotation("Capabilities.InsertRestrictions", Record((("Insertable", False),))),
            Annotation("Capabilities.UpdateRestrictions", Record((("Updatable", False),))),
        ]
    if spec.options.read_only or spec.options.deletion is Deletion.FORBIDDEN:
        annotations.append(Annotation("Capabilities.DeleteRestrictions", Record((("Deletable", False),))))
    return tuple(annotations)


def _entity_set(spec: EntitySpec, reg: Registry) -> EntitySet:
    return EntitySet(
        name=spec.name,
        entity_type=_qualified(spec),
        bindings=tuple((str(n.name), reg.by_table(n.target).name) for n in spec.navigations),
        annotations=_set_annotations(spec),
    )


def build_model(reg: Registry) -> Model:
    """The CSDL model of every entity of ``reg``. Raises ``LookupError`` on a name CSDL cannot hold."""
    if reg.lookup(CONTAINER) is not None:
        raise LookupError(f"An entity named {CONTAINER!r} would clash with the entity container.")
    return Model(
        entity_types=tuple(_entity_type(spec, reg) for spec in reg),
        entity_sets=tuple(_entity_set(spec, reg) for spec in reg),
        container_annotations=(
            Annotation("Capabilities.BatchSupported", True),
            Annotation("Capabilities.AsynchronousRequestsSupported", False),
            Annotation("Capabilities.SupportedMetadataFormats", Strings(("application/xml", "application/json"))),
        ),
    )


# --- model -> CSDL XML ----------------------------------------------------------------------------


def _edmx(tag: str) -> str:
    return f"{{{EDMX_NS}}}{tag}"


def _xml_bool(value: bool) -> str:
    return "true" if value else "false"


def _xml_annotations(parent: ET.Element, annotations: Iterable[Annotation]) -> None:
    for annotation in annotations:
        element = ET.SubElement(parent, "Annotation", Term=annotation.term)
        value = annotation.value
        if isinstance(value, bool):
            element.set("Bool", _xml_bool(value))
        elif isinstance(value, str):
            element.set("String", value)
        elif isinstance(value, PropertyPaths):
            collection = ET.SubElement(element, "Collection")
            for path in value.paths:
                ET.SubElement(collection, "PropertyPath").text = path
        elif isinstance(value, Strings):
            collection = ET.SubElement(element, "Collection")
            for text in value.values:
                ET.SubElement(collection, "String").text = text
        else:
            record = ET.SubElement(element, "Record")
            for name, flag in value.values:
                ET.SubElement(record, "PropertyValue", Property=name, Bool=_xml_bool(flag))


def _xml_property(parent: ET.Element, prop: Property) -> None:
    element = ET.SubElement(parent, "Property", Name=prop.name, Type=prop.type, Nullable="false")
    if prop.max_length is not None:
        element.set("MaxLength", str(prop.max_length))
    if prop.precision is not None:
        element.set("Precision", str(prop.precision))
    if prop.scale is not None:
        element.set("Scale", str(prop.scale))
    if prop.default is not None:
        element.set("DefaultValue", prop.default.literal)
    _xml_annotations(element, prop.annotations)


def _xml_navigation(parent: ET.Element, navigation: NavigationProperty) -> None:
    if navigation.many:
        ET.SubElement(
            parent,
            "NavigationProperty",
            Name=navigation.name,
            Type=f"Collection({navigation.target})",
            Partner=navigation.partner,
        )
        return
    element = ET.SubElement(
        parent,
        "NavigationProperty",
        Name=navigation.name,
        Type=navigation.target,
        Nullable="true",
        Partner=navigation.partner,
    )
    if navigation.foreign_key is not None:
        ET.SubElement(element, "ReferentialConstraint", Property=navigation.foreign_key, ReferencedProperty="id")


def render_xml(model: Model) -> bytes:
    """The CSDL XML document (OData CSDL XML 4.0), UTF-8 with an XML declaration."""
    root = ET.Element(_edmx("Edmx"), Version=VERSION)
    for vocabulary in VOCABULARIES:
        reference = ET.SubElement(root, _edmx("Reference"), Uri=vocabulary.uri("xml"))
        ET.SubElement(reference, _edmx("Include"), Namespace=vocabulary.namespace, Alias=vocabulary.alias)
    schema = ET.SubElement(ET.SubElement(root, _edmx("DataServices")), "Schema", xmlns=EDM_NS, Namespace=NAMESPACE)
    for entity_type in model.entity_types:
        element = ET.SubElement(schema, "EntityType", Name=entity_type.name)
        key = ET.SubElement(element, "Key")
        for name in entity_type.key:
            ET.SubElement(key, "PropertyRef", Name=name)
        for prop in entity_type.properties:
            _xml_property(element, prop)
        for navigation in entity_type.navigations:
            _xml_navigation(element, navigation)
        _xml_annotations(element, entity_type.annotations)
    container = ET.SubElement(schema, "EntityContainer", Name=CONTAINER)
    for entity_set in model.entity_sets:
        element = ET.SubElement(container, "EntitySet", Name=entity_set.name, EntityType=entity_set.entity_type)
        for path, target in entity_set.bindings:
            ET.SubElement(element, "NavigationPropertyBinding", Path=path, Target=target)
        _xml_annotations(element, entity_set.annotations)
    _xml_annotations(container, model.container_annotations)
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


# --- model -> CSDL JSON ---------------------------------------------------------------------------


def _json_value(value: AnnotationValue) -> Any:
    if isinstance(value, PropertyPaths):
        return list(value.paths)
    if isinstance(value, Strings):
        return list(value.values)
    if isinstance(value, Record):
        return dict(value.values)
    return value


def _json_annotations(annotations: Iterable[Annotation]) -> dict[str, Any]:
    return {f"@{a.term}": _json_value(a.value) for a in annotations}


def _json_property(prop: Property) -> dict[str, Any]:
    """A property object; ``$Nullable`` is left out because CSDL JSON's default is already false."""
    member: dict[str, Any] = {"$Type": prop.type}
    if prop.max_length is not None:
        member["$MaxLength"] = prop.max_length
    if prop.precision is not None:
        member["$Precision"] = prop.precision
    if prop.scale is not None:
        member["$Scale"] = prop.scale
    if prop.default is not None:
        member["$DefaultValue"] = prop.default.json
    return member | _json_annotations(prop.annotations)


def _json_navigation(navigation: NavigationProperty) -> dict[str, Any]:
    member: dict[str, Any] = {"$Kind": "NavigationProperty", "$Type": navigation.target}
    if navigation.many:
        member["$Collection"] = True
    else:
        member["$Nullable"] = True
    member["$Partner"] = navigation.partner
    if navigation.foreign_key is not None:
        member["$ReferentialConstraint"] = {navigation.foreign_key: "id"}
    return member


def _json_entity_type(entity_type: EntityType) -> dict[str, Any]:
    member: dict[str, Any] = {"$Kind": "EntityType", "$Key": list(entity_type.key)}
    member |= _json_annotations(entity_type.annotations)
    for prop in entity_type.properties:
        member[prop.name] = _json_property(prop)
    for navigation in entity_type.navigations:
        member[navigation.name] = _json_navigation(navigation)
    return member


def _json_entity_set(entity_set: EntitySet) -> dict[str, Any]:
    member: dict[str, Any] = {"$Collection": True, "$Type": entity_set.entity_type}
    if entity_set.bindings:
        member["$NavigationPropertyBinding"] = dict(entity_set.bindings)
    return member | _json_annotations(entity_set.annotations)


def render_json(model: Model) -> dict[str, Any]:
    """The CSDL JSON document (OData CSDL JSON 4.01 format, declaring OData version 4.0)."""
    container: dict[str, Any] = {"$Kind": "EntityContainer"} | _json_annotations(model.container_annotations)
    for entity_set in model.entity_sets:
        container[entity_set.name] = _json_entity_set(entity_set)
    schema: dict[str, Any] = {entity_type.name: _json_entity_type(entity_type) for entity_type in model.entity_types}
    schema[CONTAINER] = container
    return {
        "$Version": VERSION,
        "$EntityContainer": f"{NAMESPACE}.{CONTAINER}",
        "$Reference": {
            v.uri("json"): {"$Include": [{"$Namespace": v.namespace, "$Alias": v.alias}]} for v in VOCABULARIES
        },
        NAMESPACE: schema,
    }


# --- the documents the API serves -----------------------------------------------------------------


@cache
def service_model() -> Model:
    """The model of this service's registry, built once per process."""
    return build_model(registry())


@cache
def metadata_xml() -> bytes:
    """``$metadata`` as CSDL XML, rendered once per process (it depends only on the registry)."""
    return render_xml(service_model())


@cache
def metadata_json() -> bytes:
    """``$metadata?$format=json`` as CSDL JSON bytes, rendered once per process."""
    return orjson.dumps(render_json(service_model()))


__all__ = [
    "CONTAINER",
    "NAMESPACE",
    "VERSION",
    "VOCABULARIES",
    "Annotation",
    "EntitySet",
    "EntityType",
    "Model",
    "NavigationProperty",
    "Property",
    "build_model",
    "metadata_json",
    "metadata_xml",
    "render_json",
    "render_xml",
    "service_model",
]
